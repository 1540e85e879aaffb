// The Redis store (ioredis): shared by every gateway instance on the same Redis; each command bounded in time.
//
// Key layout (every key carries REDIS_PREFIX; `{N}` is a hash tag, so one user's keys share a Cluster slot):
//   users:next-id               INCR counter of UserIds
//   users:all                   SET of UserIds (user list)
//   user-name:<lower-case name> → UserId   (unique index)
//   user-email:<lower-case>     → UserId   (unique index)
//   user:{N}                    HASH userName, email, emailVerified, passwordHash, locked, accountId, omsId, createdAt,
//                               language ('' or absent: none)
//   user:{N}:permissions        SET
//   user:{N}:accounts           SET
//   user:{N}:sessions           SET of session ids (SHA-256 of the SessionToken); pruned when a session is created
//   user:{N}:apikey:<APIKey>    HASH secret, lastNonce
//   user:{N}:apikeys            SET of the user's APIKeys (listing); kept with the hashes by one script
//   session:<sha256 hex>        → UserId[:ends at ms], with the idle TTL (PX), refreshed on every call but never
//                                 past the absolute lifetime (`ends at`, on Redis's clock)
//   limit:{<key>}               rate-limit counters
//   api-token:<sha256 hex>      HASH name, entries (JSON array), createdAt: authreset API tokens, never the token
//   api-tokens                  SET of those hashes (listing, revoking by name); kept with the hashes by scripts
// Revocations are PUBLISHed on the channel `<prefix>session-revoked` by the script that deletes the sessions.
// The unique indexes and session keys live in other slots than the user's, so user creation and session
// scripts assume one Redis node (or a Cluster with all keys under one tag): documented in the README (Known limits).
import { Redis } from 'ioredis';
import type { RedisOptions as ConnectionOptions } from 'ioredis';
import type { RedisTls } from '../../config';
import type { Logger } from '../../logger';
import { DuplicateUserError, sortTokens, StoreUnavailableError } from '../../../core/ports/store';
import type {
  LimitHit,
  ApiKeyRecord,
  ApiKeyStore,
  ApiTokenRecord,
  ApiTokenStore,
  NewApiToken,
  NewSession,
  NewUser,
  RateDecision,
  RateLimiter,
  SessionRevocation,
  SessionStart,
  SessionStore,
  Store,
  UserRecord,
  UserStore,
} from '../../../core/ports/store';
import { isLanguage } from '../../../core/languages';
import type { Language } from '../../../core/languages';

export interface RedisOptions {
  /** redis:// or rediss://, with an ACL user and password if any (never logged) */
  readonly url: string;
  /** prefix of every key, default "oms:" */
  readonly prefix: string;
  /** bound on one command, so an outage answers instead of hanging */
  readonly commandTimeoutMs: number;
  /** the CA, client certificate and key for rediss:// (PEM text); absent or null: none, or the system's CAs */
  readonly tls?: RedisTls | null;
}

/** What every connection to the same Redis shares (commands, subscriber): TLS, and the handshake's commands. */
export function sharedConnectionOptions(
  options: RedisOptions,
): Pick<ConnectionOptions, 'tls' | 'disableClientInfo'> {
  return {
    // a copy: node:tls may write to the object it is given, and the config is frozen
    ...(options.tls && { tls: { ...options.tls } }),
    // no CLIENT SETINFO (Redis 7.2+): the minimal ACL then works on 7.0 too; CLIENT SETNAME names the connection
    disableClientInfo: true,
  };
}

/** A connection that fails commands quickly while Redis is away and reconnects by itself. */
export function connectRedis(options: RedisOptions, name: string): Redis {
  return new Redis(options.url, {
    ...sharedConnectionOptions(options),
    keyPrefix: options.prefix,
    connectionName: name,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.commandTimeoutMs,
    // a command waits for one reconnect at most, then fails: callers get a 102 instead of a hang
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    lazyConnect: false,
    // commands issued in one event-loop turn (one call's independent reads, many connections' calls) leave
    // in one write: one round trip instead of one each
    enableAutoPipelining: true,
  });
}

/**
 * Runs a store operation; a connection failure (timeout, closed, retries exhausted) becomes
 * StoreUnavailableError (102 with a clear detail). A Redis reply error is a bug and passes through as is.
 */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof Error && error.name === 'ReplyError') throw error;
    if (error instanceof DuplicateUserError) throw error;
    throw new StoreUnavailableError(error);
  }
}

/**
 * Lua: counts one hit on a rate-limit key and returns its count and the ms left in its window (the window
 * starts with the first hit). Shared by the limiter's script and the reset request's (redis-reset-flow.ts).
 */
export const HIT_LIMIT_LUA = `
local function hitLimit(key, window)
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, window) end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, window); ttl = window end
  return count, ttl
end
`;

// For each key in turn: INCR, and the window's expiry on the first hit. Stops at the first count over its
// limit, so later limits are not charged for a hit that is refused. Returns {index, count, ms left} of
// the last key counted (index 1-based). ARGV: per key, its limit and window ms.
const HIT_ALL_SCRIPT = `
${HIT_LIMIT_LUA}
local last = {0, 0, 0}
for i = 1, #KEYS do
  local count, ttl = hitLimit(KEYS[i], tonumber(ARGV[2 * i]))
  last = {i, count, ttl}
  if count > tonumber(ARGV[2 * i - 1]) then return last end
end
return last
`;

// All or nothing: when every key has room for one more hit (ARGV per key: its limit and window ms), counts one
// on each and answers {1, count of the first key, 0}; otherwise counts none and answers {0, count of the first
// full key, the longest ms left of the full keys}.
const RESERVE_SCRIPT = `
local full, waitMs, fullCount = false, 0, 0
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count + 1 > tonumber(ARGV[2 * i - 1]) then
    if not full then fullCount = count end
    full = true
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl > waitMs then waitMs = ttl end
  end
end
if full then return {0, fullCount, waitMs} end
local first = 0
for i = 1, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  if i == 1 then first = count end
  if count == 1 or redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
end
return {1, first, 0}
`;

// One hit back on each key; a count that reaches zero (or a key already gone) leaves no key behind.
const REFUND_SCRIPT = `
for i = 1, #KEYS do
  if redis.call('DECR', KEYS[i]) <= 0 then redis.call('DEL', KEYS[i]) end
end
return 1
`;

const PEEK_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
return {count, redis.call('PTTL', KEYS[1])}
`;

export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Registers a Lua script once per connection (EVALSHA: the script text is not sent with every call).
 * 'dynamic': the call passes the number of keys first. Keys get the connection's prefix either way.
 */
export function defineScript(
  redis: Redis,
  name: string,
  numberOfKeys: number | 'dynamic',
  lua: string,
): ScriptCall {
  if (!(name in redis)) {
    redis.defineCommand(name, numberOfKeys === 'dynamic' ? { lua } : { numberOfKeys, lua });
  }
  const call = (redis as unknown as Record<string, ScriptCall | undefined>)[name];
  if (call === undefined) throw new Error(`ioredis did not define ${name}`);
  return call.bind(redis);
}

class RedisRateLimiter implements RateLimiter {
  private readonly hitScript: ScriptCall;
  private readonly reserveScript: ScriptCall;
  private readonly refundScript: ScriptCall;

  constructor(private readonly redis: Redis) {
    this.hitScript = defineScript(redis, 'omsLimitHitAll', 'dynamic', HIT_ALL_SCRIPT);
    this.reserveScript = defineScript(redis, 'omsLimitReserve', 'dynamic', RESERVE_SCRIPT);
    this.refundScript = defineScript(redis, 'omsLimitRefund', 'dynamic', REFUND_SCRIPT);
  }

  reserve(hits: readonly LimitHit[]): Promise<RateDecision> {
    if (hits.length === 0) return Promise.resolve({ allowed: true, count: 0, retryAfterSeconds: 0 });
    return guarded(async () => {
      const [allowed, count, waitMs] = (await this.reserveScript(
        hits.length,
        ...hits.map((hit) => limitKey(hit.key)),
        ...hits.flatMap((hit) => [hit.limit, hit.windowSeconds * 1000]),
      )) as [number, number, number];
      return allowed === 1
        ? { allowed: true, count, retryAfterSeconds: 0 }
        : { allowed: false, count, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    });
  }

  refund(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    return guarded(async () => {
      await this.refundScript(keys.length, ...keys.map(limitKey));
    });
  }

  hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    return this.hitAll([{ key, limit, windowSeconds }]);
  }

  hitAll(hits: readonly LimitHit[]): Promise<RateDecision> {
    if (hits.length === 0) return Promise.resolve({ allowed: true, count: 0, retryAfterSeconds: 0 });
    return guarded(async () => {
      const [index, count, ttlMs] = (await this.hitScript(
        hits.length,
        ...hits.map((hit) => limitKey(hit.key)),
        ...hits.flatMap((hit) => [hit.limit, hit.windowSeconds * 1000]),
      )) as [number, number, number];
      const allowed = count <= hits[index - 1]!.limit;
      return { allowed, count, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(ttlMs / 1000)) };
    });
  }

  reset(key: string): Promise<void> {
    return guarded(async () => {
      await this.redis.del(limitKey(key));
    });
  }

  peek(key: string, limit: number): Promise<RateDecision> {
    return guarded(async () => {
      const [count, ttlMs] = (await this.redis.eval(PEEK_SCRIPT, 1, limitKey(key))) as [number, number];
      const allowed = count < limit;
      return { allowed, count, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(ttlMs / 1000)) };
    });
  }
}

/** The key of a rate-limit counter (its own hash tag). */
export const limitKey = (key: string): string => `limit:{${key}}`;

/** A user's hash; its sets are this key with `:permissions`, `:accounts`, `:sessions`. */
export const userKey = (userId: number): string => `user:{${userId}}`;

/** The unique indexes: a lower-cased user name or e-mail → UserId. */
export const userIndexKey = (by: 'name' | 'email', value: string): string =>
  `${by === 'name' ? 'user-name' : 'user-email'}:${value.toLowerCase()}`;

// Checks both unique indexes, takes the next UserId and writes the user, its sets and the indexes at once.
// ARGV: prefix, userName, email, emailVerified, passwordHash, locked, accountId, createdAt, language, n,
// n permissions, accounts…
const CREATE_USER_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if redis.call('EXISTS', KEYS[3]) == 1 then return -2 end
local id = redis.call('INCR', KEYS[1])
local user = ARGV[1] .. 'user:{' .. id .. '}'
redis.call('HSET', user, 'userName', ARGV[2], 'email', ARGV[3], 'emailVerified', ARGV[4], 'passwordHash', ARGV[5],
  'locked', ARGV[6], 'accountId', ARGV[7], 'omsId', '1', 'createdAt', ARGV[8], 'language', ARGV[9])
local n = tonumber(ARGV[10])
for i = 1, n do redis.call('SADD', user .. ':permissions', ARGV[10 + i]) end
for i = 11 + n, #ARGV do redis.call('SADD', user .. ':accounts', ARGV[i]) end
redis.call('SET', KEYS[2], id)
redis.call('SET', KEYS[3], id)
redis.call('SADD', KEYS[4], id)
return id
`;

const SET_FIELD_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

// ARGV[1] is SADD or SREM
const SET_MEMBER_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call(ARGV[1], KEYS[2], ARGV[2])
return 1
`;

const ADD_ACCOUNT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'accountId') == '0' then redis.call('HSET', KEYS[1], 'accountId', ARGV[1]) end
return 1
`;

function toUserRecord(
  userId: number,
  hash: Record<string, string>,
  permissions: string[],
  accounts: string[],
): UserRecord {
  return Object.freeze({
    userId,
    userName: hash.userName ?? '',
    email: hash.email ?? '',
    emailVerified: hash.emailVerified === '1',
    passwordHash: hash.passwordHash ? hash.passwordHash : null,
    locked: hash.locked === '1',
    permissions: Object.freeze([...permissions].sort()),
    accountIds: Object.freeze(accounts.map(Number).sort((a, b) => a - b)),
    accountId: Number(hash.accountId ?? 0),
    omsId: Number(hash.omsId ?? 1),
    createdAt: hash.createdAt ?? '',
    language: storedLanguage(hash.language),
  });
}

/** A stored language, or null for none ('' or absent, as users created before the field have it). */
function storedLanguage(value: string | undefined): Language | null {
  return value !== undefined && isLanguage(value) ? value : null;
}

const flag = (value: boolean): string => (value ? '1' : '0');

// One user with its sets, found by an index key (KEYS[1]) or by id (ARGV[2]); ARGV[1] is the key prefix
// (the user's keys are derived here, so this script, like CREATE_USER_SCRIPT, needs a single Redis node).
// Shared with the session resume (RESUME_SESSION_SCRIPT): {id, hash, permissions, accounts}, or false.
const READ_USER_LUA = `
local function readUser(prefix, id)
  local user = prefix .. 'user:{' .. id .. '}'
  local hash = redis.call('HGETALL', user)
  if #hash == 0 then return false end
  return { id, hash, redis.call('SMEMBERS', user .. ':permissions'), redis.call('SMEMBERS', user .. ':accounts') }
end
`;

const READ_USER_SCRIPT = `
${READ_USER_LUA}
local id = ARGV[2]
if #KEYS == 1 then
  id = redis.call('GET', KEYS[1])
  if not id then return false end
end
return readUser(ARGV[1], id)
`;

type UserReply = [string, string[], string[], string[]] | null;

/** A READ_USER_LUA reply as a record. */
function userFromReply(reply: UserReply): UserRecord | null {
  if (reply === null) return null;
  const [id, flat, permissions, accounts] = reply;
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return toUserRecord(Number(id), hash, permissions, accounts);
}

class RedisUserStore implements UserStore {
  private readonly readScript: ScriptCall;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.readScript = defineScript(redis, 'omsUserRead', 'dynamic', READ_USER_SCRIPT);
  }

  create(user: NewUser): Promise<UserRecord> {
    return guarded(async () => {
      const permissions = [...new Set(user.permissions ?? [])];
      const accountIds = [...new Set(user.accountIds ?? [])];
      const result = (await this.redis.eval(
        CREATE_USER_SCRIPT,
        4,
        'users:next-id',
        userIndexKey('name', user.userName),
        userIndexKey('email', user.email),
        'users:all',
        this.prefix,
        user.userName,
        user.email,
        flag(user.emailVerified ?? false),
        user.passwordHash ?? '',
        flag(user.locked ?? false),
        String(user.accountId ?? accountIds[0] ?? 0),
        new Date().toISOString(),
        user.language ?? '',
        String(permissions.length),
        ...permissions,
        ...accountIds.map(String),
      )) as number;
      if (result === -1) throw new DuplicateUserError('UserName');
      if (result === -2) throw new DuplicateUserError('Email');
      const created = await this.read({ userId: result });
      if (!created) throw new Error(`user ${result} vanished right after creation`);
      return created;
    });
  }

  /** The hash and both sets in one MULTI (one slot), so a reader never sees half an update. */
  /** One user in one round trip: by an index key (name or e-mail), or by id. */
  private async read(
    by: { readonly index: string } | { readonly userId: number },
  ): Promise<UserRecord | null> {
    if ('userId' in by && (!Number.isSafeInteger(by.userId) || by.userId <= 0)) return null;
    const reply = (await ('index' in by
      ? this.readScript(1, by.index, this.prefix, '')
      : this.readScript(0, this.prefix, by.userId))) as UserReply;
    return userFromReply(reply);
  }

  get(userId: number): Promise<UserRecord | null> {
    return guarded(() => this.read({ userId }));
  }

  private findByIndex(index: string): Promise<UserRecord | null> {
    return guarded(() => this.read({ index }));
  }

  findByName(userName: string): Promise<UserRecord | null> {
    return this.findByIndex(userIndexKey('name', userName));
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.findByIndex(userIndexKey('email', email));
  }

  list(): Promise<UserRecord[]> {
    return guarded(async () => {
      const ids = (await this.redis.smembers('users:all')).map(Number).sort((a, b) => a - b);
      const users = await Promise.all(ids.map((id) => this.read({ userId: id })));
      return users.filter((user): user is UserRecord => user !== null);
    });
  }

  /** Runs a one-user script; reads the user back when it existed. */
  private change(userId: number, script: string, keys: string[], args: string[]): Promise<UserRecord | null> {
    return guarded(async () => {
      const changed = (await this.redis.eval(script, keys.length, ...keys, ...args)) as number;
      return changed === 1 ? this.read({ userId }) : null;
    });
  }

  setPasswordHash(userId: number, passwordHash: string): Promise<UserRecord | null> {
    return this.change(userId, SET_FIELD_SCRIPT, [userKey(userId)], ['passwordHash', passwordHash]);
  }

  setLocked(userId: number, locked: boolean): Promise<UserRecord | null> {
    return this.change(userId, SET_FIELD_SCRIPT, [userKey(userId)], ['locked', flag(locked)]);
  }

  setEmailVerified(userId: number, verified: boolean): Promise<UserRecord | null> {
    return this.change(userId, SET_FIELD_SCRIPT, [userKey(userId)], ['emailVerified', flag(verified)]);
  }

  grant(userId: number, permission: string): Promise<UserRecord | null> {
    const key = userKey(userId);
    return this.change(userId, SET_MEMBER_SCRIPT, [key, `${key}:permissions`], ['SADD', permission]);
  }

  revoke(userId: number, permission: string): Promise<UserRecord | null> {
    const key = userKey(userId);
    return this.change(userId, SET_MEMBER_SCRIPT, [key, `${key}:permissions`], ['SREM', permission]);
  }

  addAccount(userId: number, accountId: number): Promise<UserRecord | null> {
    const key = userKey(userId);
    return this.change(userId, ADD_ACCOUNT_SCRIPT, [key, `${key}:accounts`], [String(accountId)]);
  }

  setLanguage(userId: number, language: Language | null): Promise<UserRecord | null> {
    return this.change(userId, SET_FIELD_SCRIPT, [userKey(userId)], ['language', language ?? '']);
  }
}

/** Lua: `now`, Redis's own clock in ms (every gateway on the Redis shares it). */
const NOW_LUA = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// A session key holds `<UserId>:<ends at, Redis ms>` (the absolute lifetime), or `<UserId>` for none (and for
// sessions created before the lifetime existed).
const SESSION_VALUE_LUA = `
local function sessionUser(value)
  local userId, endsAt = string.match(value, '^(%d+):(%d+)$')
  if userId then return userId, tonumber(endsAt) end
  return value, nil
end
`;

// KEYS: the session, the user's sessions, the user. ARGV: [1] UserId, [2] idle TTL ms, [3] key prefix,
// [4] session id, [5] cap (0: none), [6] revocation channel, [7] the password hash the login verified ('' for no
// check), [8] absolute lifetime ms (0: none).
// With [7], refuses (-1, nothing changed) unless the user's stored hash is still exactly that one: the check and
// the creation are one step, so a password change either comes before (refused) or after (it ends this session).
// Then prunes the user's index of ended sessions; past the cap ends the least recently used (shortest idle TTL
// left) and publishes them; then adds the new session. Returns how many it ended.
const CREATE_SESSION_SCRIPT = `
${NOW_LUA}
if ARGV[7] ~= '' and redis.call('HGET', KEYS[3], 'passwordHash') ~= ARGV[7] then return -1 end
local live = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local ttl = redis.call('PTTL', ARGV[3] .. 'session:' .. id)
  if ttl == -2 then
    redis.call('SREM', KEYS[2], id)
  else
    if ttl == -1 then ttl = math.huge end
    table.insert(live, { id, ttl })
  end
end
local cap = tonumber(ARGV[5])
local ended = {}
if cap > 0 and #live >= cap then
  table.sort(live, function(a, b) return a[2] < b[2] end)
  for i = 1, #live - cap + 1 do
    local id = live[i][1]
    redis.call('DEL', ARGV[3] .. 'session:' .. id)
    redis.call('SREM', KEYS[2], id)
    table.insert(ended, id)
  end
  redis.call('PUBLISH', ARGV[6], '{"userId":' .. ARGV[1] .. ',"sessionIds":["' .. table.concat(ended, '","') .. '"]}')
end
local lifetime = tonumber(ARGV[8])
if lifetime > 0 then
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. string.format('%.0f', now + lifetime), 'PX', math.min(tonumber(ARGV[2]), lifetime))
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
redis.call('SADD', KEYS[2], ARGV[4])
return #ended
`;

// Refreshes a session's idle TTL (ms), never past the absolute lifetime; a session past it is deleted.
// Returns the UserId, or false.
const TOUCH_SESSION_LUA = `
${NOW_LUA}
${SESSION_VALUE_LUA}
local function touchSession(key, ttl)
  local value = redis.call('GET', key)
  if not value then return false end
  local userId, endsAt = sessionUser(value)
  if endsAt then
    if endsAt <= now then
      redis.call('DEL', key)
      return false
    end
    ttl = math.min(ttl, endsAt - now)
  end
  redis.call('PEXPIRE', key, ttl)
  return userId
end
`;

// KEYS[1] the session; ARGV[1] idle TTL ms.
const TOUCH_SESSION_SCRIPT = `
${TOUCH_SESSION_LUA}
return touchSession(KEYS[1], tonumber(ARGV[1]))
`;

// The touch and the user's read in one script, so a resume is one round trip instead of two in a row. KEYS[1]
// the session; ARGV[1] idle TTL ms, [2] key prefix (the user's keys are derived here, as READ_USER_SCRIPT does).
// Returns READ_USER_LUA's reply, or false.
const RESUME_SESSION_SCRIPT = `
${TOUCH_SESSION_LUA}
${READ_USER_LUA}
local userId = touchSession(KEYS[1], tonumber(ARGV[1]))
if not userId then return false end
return readUser(ARGV[2], userId)
`;

// Session ids are SHA-256 hex, so the message can be built by concatenation.
const REVOKE_SESSION_SCRIPT = `
${SESSION_VALUE_LUA}
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local userId = sessionUser(value)
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[1] .. 'user:{' .. userId .. '}:sessions', ARGV[2])
redis.call('PUBLISH', ARGV[3], '{"userId":' .. userId .. ',"sessionIds":["' .. ARGV[2] .. '"]}')
return 1
`;

/**
 * Lua: ends every session of a user (its `:sessions` set at `sessionsKey`) and publishes the revocation on
 * `channel`; returns how many sessions were live. Shared with the password change (redis-reset-flow.ts).
 */
export const REVOKE_ALL_LUA = `
local function revokeAllSessions(prefix, sessionsKey, userId, channel)
  local live = {}
  for _, id in ipairs(redis.call('SMEMBERS', sessionsKey)) do
    if redis.call('DEL', prefix .. 'session:' .. id) == 1 then table.insert(live, id) end
  end
  redis.call('DEL', sessionsKey)
  local ids = ''
  if #live > 0 then ids = '"' .. table.concat(live, '","') .. '"' end
  redis.call('PUBLISH', channel, '{"userId":' .. userId .. ',"sessionIds":[' .. ids .. ']}')
  return #live
end
`;

const REVOKE_ALL_SCRIPT = `
${REVOKE_ALL_LUA}
return revokeAllSessions(ARGV[1], KEYS[1], ARGV[2], ARGV[3])
`;

/** The pub/sub channel of session revocations. */
export const revocationChannel = (prefix: string): string => `${prefix}session-revoked`;

/** Parses a revocation message; anything malformed is dropped (it did not come from this code). */
export function parseRevocation(text: string): SessionRevocation | null {
  try {
    const value = JSON.parse(text) as { userId?: unknown; sessionIds?: unknown };
    if (!Number.isSafeInteger(value.userId) || !Array.isArray(value.sessionIds)) return null;
    const sessionIds = value.sessionIds.filter((id): id is string => typeof id === 'string');
    return Object.freeze({ userId: value.userId as number, sessionIds: Object.freeze(sessionIds) });
  } catch {
    return null;
  }
}

class RedisSessionStore implements SessionStore {
  private readonly listeners = new Set<(revocation: SessionRevocation) => void>();
  /** The subscriber connection, opened with the first listener (a subscribed connection can do nothing else). */
  private subscriber: Redis | undefined;
  private subscribed: Promise<void> | undefined;
  private closed = false;

  private readonly createScript: ScriptCall;
  private readonly touchScript: ScriptCall;
  private readonly resumeScript: ScriptCall;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisOptions,
    private readonly logger: Logger,
  ) {
    this.createScript = defineScript(redis, 'omsSessionCreate', 3, CREATE_SESSION_SCRIPT);
    this.touchScript = defineScript(redis, 'omsSessionTouch', 1, TOUCH_SESSION_SCRIPT);
    this.resumeScript = defineScript(redis, 'omsSessionResume', 1, RESUME_SESSION_SCRIPT);
  }

  get channel(): string {
    return revocationChannel(this.options.prefix);
  }

  async create(sessionId: string, userId: number, ttlMs: number, maxPerUser = 0): Promise<number> {
    return (await this.start({ sessionId, userId, ttlMs, maxPerUser })).ended;
  }

  start(session: NewSession): Promise<SessionStart> {
    const { sessionId, userId, ttlMs, maxPerUser = 0, maxLifetimeMs = 0, passwordHash } = session;
    return guarded(async () => {
      const ended = (await this.createScript(
        `session:${sessionId}`,
        `${userKey(userId)}:sessions`,
        userKey(userId),
        String(userId),
        String(ttlMs),
        this.options.prefix,
        sessionId,
        Number.isFinite(maxPerUser) ? Math.max(0, Math.floor(maxPerUser)) : 0,
        this.channel,
        passwordHash ?? '',
        Number.isFinite(maxLifetimeMs) ? Math.max(0, Math.floor(maxLifetimeMs)) : 0,
      )) as number;
      return ended < 0 ? { started: false, ended: 0 } : { started: true, ended };
    });
  }

  touch(sessionId: string, ttlMs: number): Promise<number | null> {
    return guarded(async () => {
      const userId = (await this.touchScript(`session:${sessionId}`, String(ttlMs))) as string | null;
      return userId === null ? null : Number(userId);
    });
  }

  resume(sessionId: string, ttlMs: number): Promise<UserRecord | null> {
    return guarded(async () => {
      const reply = await this.resumeScript(`session:${sessionId}`, String(ttlMs), this.options.prefix);
      return userFromReply(reply as UserReply);
    });
  }

  revoke(sessionId: string): Promise<boolean> {
    return guarded(async () => {
      const revoked = (await this.redis.eval(
        REVOKE_SESSION_SCRIPT,
        1,
        `session:${sessionId}`,
        this.options.prefix,
        sessionId,
        this.channel,
      )) as number;
      return revoked === 1;
    });
  }

  revokeAllForUser(userId: number): Promise<number> {
    return guarded(async () => {
      return (await this.redis.eval(
        REVOKE_ALL_SCRIPT,
        1,
        `${userKey(userId)}:sessions`,
        this.options.prefix,
        String(userId),
        this.channel,
      )) as number;
    });
  }

  onRevoked(listener: (revocation: SessionRevocation) => void): () => void {
    this.listeners.add(listener);
    this.subscribe();
    return () => this.listeners.delete(listener);
  }

  private subscribe(): void {
    if (this.subscriber || this.closed) return;
    // ioredis re-subscribes by itself after a reconnect; revocations published during an outage are lost,
    // but the sessions are already deleted, so the next call on those sockets answers errorcode 20 anyway
    // unlike the command connection, the SUBSCRIBE waits for Redis however long it is away: nobody waits on it
    // but whenListening(), and a subscription lost at start-up would never be retried
    const subscriber = new Redis(this.options.url, {
      ...sharedConnectionOptions(this.options),
      connectionName: 'oms-gateway-revocations',
      connectTimeout: this.options.commandTimeoutMs,
      maxRetriesPerRequest: null,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    });
    watchRedis(subscriber, this.logger, 'revocations');
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const revocation = parseRevocation(message);
      if (revocation === null) return this.logger.warn({ channel }, 'ignored a malformed revocation message');
      for (const each of [...this.listeners]) each(revocation);
    });
    this.subscribed = subscriber.subscribe(this.channel).then(
      () => undefined,
      (error: unknown) => {
        if (this.closed) return; // closed before Redis answered: nothing to report
        this.logger.error({ err: error }, 'could not subscribe to session revocations');
      },
    );
    this.subscriber = subscriber;
  }

  whenListening(): Promise<void> {
    this.subscribe();
    return this.subscribed ?? Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    // no QUIT: it would wait for a Redis that may never come back (this connection retries forever)
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    return Promise.resolve();
  }
}

const USE_NONCE_SCRIPT = `
local last = redis.call('HGET', KEYS[1], 'lastNonce')
if not last then return 0 end
if tonumber(ARGV[1]) <= tonumber(last) then return 0 end
redis.call('HSET', KEYS[1], 'lastNonce', ARGV[1])
return 1
`;

// The key and its index entry together (one slot: both carry the user's hash tag).
const CREATE_API_KEY_SCRIPT = `
redis.call('HSET', KEYS[1], 'secret', ARGV[1], 'lastNonce', '0')
redis.call('SADD', KEYS[2], ARGV[2])
return 1
`;

const REVOKE_API_KEY_SCRIPT = `
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
`;

class RedisApiKeyStore implements ApiKeyStore {
  constructor(private readonly redis: Redis) {}

  private static keyOf(userId: number, apiKey: string): string {
    return `${userKey(userId)}:apikey:${apiKey}`;
  }

  private static indexOf(userId: number): string {
    return `${userKey(userId)}:apikeys`;
  }

  create(userId: number, apiKey: string, secret: string): Promise<void> {
    return guarded(async () => {
      await this.redis.eval(
        CREATE_API_KEY_SCRIPT,
        2,
        RedisApiKeyStore.keyOf(userId, apiKey),
        RedisApiKeyStore.indexOf(userId),
        secret,
        apiKey,
      );
    });
  }

  get(userId: number, apiKey: string): Promise<ApiKeyRecord | null> {
    return guarded(async () => {
      const hash = await this.redis.hgetall(RedisApiKeyStore.keyOf(userId, apiKey));
      if (hash.secret === undefined) return null;
      return Object.freeze({ userId, apiKey, secret: hash.secret, lastNonce: Number(hash.lastNonce ?? 0) });
    });
  }

  useNonce(userId: number, apiKey: string, nonce: number): Promise<boolean> {
    return guarded(async () => {
      const used = (await this.redis.eval(
        USE_NONCE_SCRIPT,
        1,
        RedisApiKeyStore.keyOf(userId, apiKey),
        String(nonce),
      )) as number;
      return used === 1;
    });
  }

  list(userId: number): Promise<string[]> {
    return guarded(async () => (await this.redis.smembers(RedisApiKeyStore.indexOf(userId))).sort());
  }

  revoke(userId: number, apiKey: string): Promise<boolean> {
    return guarded(async () => {
      const deleted = (await this.redis.eval(
        REVOKE_API_KEY_SCRIPT,
        2,
        RedisApiKeyStore.keyOf(userId, apiKey),
        RedisApiKeyStore.indexOf(userId),
        apiKey,
      )) as number;
      return deleted === 1;
    });
  }
}

const CREATE_TOKEN_SCRIPT = `
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'entries', ARGV[2], 'createdAt', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return 1
`;

// The tokens' keys are derived from the index (ARGV[1] is the key prefix): one Redis node, like the user scripts.
const LIST_TOKENS_SCRIPT = `
local tokens = {}
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local fields = redis.call('HMGET', ARGV[1] .. 'api-token:' .. hash, 'name', 'entries', 'createdAt')
  if fields[1] then table.insert(tokens, {hash, fields[1], fields[2] or '[]', fields[3] or ''}) end
end
return tokens
`;

// Deletes the tokens named ARGV[2], and drops index entries whose token is already gone.
const REVOKE_TOKENS_SCRIPT = `
local count = 0
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'api-token:' .. hash
  local name = redis.call('HGET', key, 'name')
  if not name then
    redis.call('SREM', KEYS[1], hash)
  elseif name == ARGV[2] then
    redis.call('DEL', key)
    redis.call('SREM', KEYS[1], hash)
    count = count + 1
  end
end
return count
`;

function toTokenRecord(tokenHash: string, name: string, entries: string, createdAt: string): ApiTokenRecord {
  return Object.freeze({
    tokenHash,
    name,
    entries: Object.freeze(JSON.parse(entries) as string[]),
    createdAt,
  });
}

class RedisApiTokenStore implements ApiTokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  create(tokenHash: string, token: NewApiToken): Promise<ApiTokenRecord> {
    return guarded(async () => {
      const record = Object.freeze({
        tokenHash,
        name: token.name,
        entries: Object.freeze([...new Set(token.entries ?? [])].sort()),
        createdAt: new Date().toISOString(),
      });
      await this.redis.eval(
        CREATE_TOKEN_SCRIPT,
        2,
        `api-token:${tokenHash}`,
        'api-tokens',
        record.name,
        JSON.stringify(record.entries),
        record.createdAt,
        tokenHash,
      );
      return record;
    });
  }

  findByHash(tokenHash: string): Promise<ApiTokenRecord | null> {
    return guarded(async () => {
      const hash = await this.redis.hgetall(`api-token:${tokenHash}`);
      if (hash.name === undefined) return null;
      return toTokenRecord(tokenHash, hash.name, hash.entries ?? '[]', hash.createdAt ?? '');
    });
  }

  list(): Promise<ApiTokenRecord[]> {
    return guarded(async () => {
      const rows = (await this.redis.eval(LIST_TOKENS_SCRIPT, 1, 'api-tokens', this.prefix)) as [
        string,
        string,
        string,
        string,
      ][];
      return sortTokens(rows.map((row) => toTokenRecord(...row)));
    });
  }

  revokeByName(name: string): Promise<number> {
    return guarded(
      async () => (await this.redis.eval(REVOKE_TOKENS_SCRIPT, 1, 'api-tokens', this.prefix, name)) as number,
    );
  }
}

/** Logs a connection's errors once per outage (ioredis repeats them on every reconnect attempt). */
export function watchRedis(redis: Redis, logger: Logger, name: string): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.error({ redis: name, err: error }, 'redis connection lost; commands fail until it returns');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ redis: name }, 'redis connection restored');
  });
}

/**
 * The store on its own connection, or on `redis` (made by connectRedis with the same options) when given:
 * the gateway shares one connection with its reset store, so one call's commands to both leave in one write.
 * Either way close() closes the connection.
 */
export function createRedisStore(
  options: RedisOptions,
  logger: Logger,
  redis: Redis = connectRedis(options, 'oms-gateway'),
): Store {
  watchRedis(redis, logger, 'store');
  const sessions = new RedisSessionStore(redis, options, logger);
  return {
    kind: 'redis',
    limits: new RedisRateLimiter(redis),
    users: new RedisUserStore(redis, options.prefix),
    sessions,
    apiKeys: new RedisApiKeyStore(redis),
    apiTokens: new RedisApiTokenStore(redis, options.prefix),
    ping: () =>
      guarded(async () => {
        await redis.ping();
      }),
    close: async () => {
      await sessions.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
