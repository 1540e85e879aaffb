// API keys (a user's, under the user's tag) and the authreset API tokens (each under its own tag, listed in one set).
import { guarded } from './connection';
import { API_TOKEN_LIST_KEY, apiKeyKey, apiTokenKey, userKeys } from './keys';
import { script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import type { Clock } from '../../../core/ports/clock';
import { sortTokens } from '../../../core/ports/store';
import type {
  ApiKeyRecord,
  ApiKeyStore,
  ApiTokenRecord,
  ApiTokenStore,
  NewApiToken,
} from '../../../core/ports/store';

export class RedisApiKeyStore implements ApiKeyStore {
  private readonly scripts: Record<'create' | 'useNonce' | 'revoke', ScriptCall>;

  constructor(private readonly redis: RedisClient) {
    this.scripts = {
      create: script(redis, 'apikeys-create-2keys.lua'),
      useNonce: script(redis, 'apikeys-use-nonce-1keys.lua'),
      revoke: script(redis, 'apikeys-revoke-2keys.lua'),
    };
  }

  create(userId: number, apiKey: string, secret: string): Promise<void> {
    return guarded(async () => {
      await this.scripts.create(apiKeyKey(userId, apiKey), userKeys(userId).apiKeys, secret, apiKey);
    });
  }

  get(userId: number, apiKey: string): Promise<ApiKeyRecord | null> {
    return guarded(async () => {
      const hash = await this.redis.hgetall(apiKeyKey(userId, apiKey));
      if (hash.secret === undefined) return null;
      return Object.freeze({ userId, apiKey, secret: hash.secret, lastNonce: Number(hash.lastNonce ?? 0) });
    });
  }

  useNonce(userId: number, apiKey: string, nonce: number): Promise<boolean> {
    return guarded(async () => (await this.scripts.useNonce(apiKeyKey(userId, apiKey), String(nonce))) === 1);
  }

  list(userId: number): Promise<string[]> {
    return guarded(async () => (await this.redis.smembers(userKeys(userId).apiKeys)).sort());
  }

  revoke(userId: number, apiKey: string): Promise<boolean> {
    return guarded(
      async () =>
        (await this.scripts.revoke(apiKeyKey(userId, apiKey), userKeys(userId).apiKeys, apiKey)) === 1,
    );
  }
}

function toTokenRecord(tokenHash: string, name: string, entries: string, createdAt: string): ApiTokenRecord {
  return Object.freeze({
    tokenHash,
    name,
    entries: Object.freeze(JSON.parse(entries) as string[]),
    createdAt,
  });
}

/**
 * A token and the list live in two slots. The list entry is written first and removed last, so a crash in
 * between leaves at most an entry without a token (skipped, and dropped by the next revocation), never a token
 * that listing and revoking by name cannot see.
 */
export class RedisApiTokenStore implements ApiTokenStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly clock: Clock,
  ) {}

  create(tokenHash: string, token: NewApiToken): Promise<ApiTokenRecord> {
    return guarded(async () => {
      const record = Object.freeze({
        tokenHash,
        name: token.name,
        entries: Object.freeze([...new Set(token.entries ?? [])].sort()),
        createdAt: new Date(this.clock.now()).toISOString(),
      });
      await this.redis.sadd(API_TOKEN_LIST_KEY, tokenHash);
      await this.redis.hset(apiTokenKey(tokenHash), {
        name: record.name,
        entries: JSON.stringify(record.entries),
        createdAt: record.createdAt,
      });
      return record;
    });
  }

  findByHash(tokenHash: string): Promise<ApiTokenRecord | null> {
    return guarded(async () => {
      const hash = await this.redis.hgetall(apiTokenKey(tokenHash));
      if (hash.name === undefined) return null;
      return toTokenRecord(tokenHash, hash.name, hash.entries ?? '[]', hash.createdAt ?? '');
    });
  }

  /** Every listed token's fields: one round trip for the list, one for all the tokens. */
  private async listed(): Promise<{ hash: string; fields: (string | null)[] }[]> {
    const hashes = await this.redis.smembers(API_TOKEN_LIST_KEY);
    const fields = await Promise.all(
      hashes.map((hash) => this.redis.hmget(apiTokenKey(hash), 'name', 'entries', 'createdAt')),
    );
    return hashes.map((hash, i) => ({ hash, fields: fields[i]! }));
  }

  list(): Promise<ApiTokenRecord[]> {
    return guarded(async () => {
      const tokens = (await this.listed()).filter(({ fields }) => fields[0] !== null);
      return sortTokens(
        tokens.map(({ hash, fields: [name, entries, createdAt] }) =>
          toTokenRecord(hash, name!, entries ?? '[]', createdAt ?? ''),
        ),
      );
    });
  }

  /** Deletes the tokens named `name`, and drops list entries whose token is already gone. */
  revokeByName(name: string): Promise<number> {
    return guarded(async () => {
      const listed = await this.listed();
      const named = listed.filter(({ fields }) => fields[0] === name).map(({ hash }) => hash);
      const deleted = await Promise.all(named.map((hash) => this.redis.del(apiTokenKey(hash))));
      const dangling = listed.filter(({ fields }) => fields[0] === null).map(({ hash }) => hash);
      const drop = [...named, ...dangling];
      if (drop.length > 0) await this.redis.srem(API_TOKEN_LIST_KEY, ...drop);
      return deleted.filter((count) => count === 1).length;
    });
  }
}
