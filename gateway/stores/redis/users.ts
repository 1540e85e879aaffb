// Users on Redis: a record and two sets under the user's tag, and two unique indexes (name, e-mail) of their own.
import { guarded } from './connection';
import { USER_IDS_KEY, USER_LIST_KEY, userIndexKey, userKeys } from './keys';
import { script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import type { Clock } from '../../../core/ports/clock';
import { DuplicateUserError } from '../../../core/ports/store';
import type { NewUser, UserRecord, UserStore } from '../../../core/ports/store';
import { isLanguage } from '../../../core/languages';
import type { Language } from '../../../core/languages';

/** How long a creation holds the index entries it claimed before they are made permanent (or lapse). */
const INDEX_LEASE_MS = 60_000;

const flag = (value: boolean): string => (value ? '1' : '0');

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
export function storedLanguage(value: string | undefined | null): Language | null {
  return value !== undefined && value !== null && isLanguage(value) ? value : null;
}

type ScriptName = 'write' | 'read' | 'setField' | 'setMember' | 'addAccount' | 'settle' | 'release';

export class RedisUserStore implements UserStore {
  private readonly scripts: Record<ScriptName, ScriptCall>;

  constructor(
    private readonly redis: RedisClient,
    private readonly clock: Clock,
  ) {
    this.scripts = {
      write: script(redis, 'users-write-3keys.lua'),
      read: script(redis, 'users-read-3keys.lua'),
      setField: script(redis, 'users-set-field-1keys.lua'),
      setMember: script(redis, 'users-set-member-2keys.lua'),
      addAccount: script(redis, 'users-add-account-2keys.lua'),
      settle: script(redis, 'users-index-settle-1keys.lua'),
      release: script(redis, 'users-index-release-1keys.lua'),
    };
  }

  /**
   * The name, the e-mail and the record live in three slots, so a creation takes steps, each safe to stop after:
   *   1. take a UserId (INCR), unless an index already names the user or the e-mail (no id spent on the usual
   *      duplicate);
   *   2. claim both index entries with SET NX and a lease: of racing creations of one name, one wins;
   *   3. write the record and its sets under the user's tag;
   *   4. make both entries permanent and list the user. This step makes the creation final.
   * A crash before 4 leaves claims that lapse with their lease (the name is free again) and at most a record that
   * no index names and no list shows.
   */
  create(user: NewUser): Promise<UserRecord> {
    return guarded(async () => {
      const nameKey = userIndexKey('name', user.userName);
      const emailKey = userIndexKey('email', user.email);
      const [nameTaken, emailTaken] = await Promise.all([
        this.redis.exists(nameKey),
        this.redis.exists(emailKey),
      ]);
      if (nameTaken === 1) throw new DuplicateUserError('UserName');
      if (emailTaken === 1) throw new DuplicateUserError('Email');
      const userId = await this.redis.incr(USER_IDS_KEY);
      const id = String(userId);
      const [name, email] = await Promise.all([
        this.redis.set(nameKey, id, 'PX', INDEX_LEASE_MS, 'NX'),
        this.redis.set(emailKey, id, 'PX', INDEX_LEASE_MS, 'NX'),
      ]);
      if (name === null || email === null) {
        await Promise.all([
          name === null ? null : this.scripts.release(nameKey, id),
          email === null ? null : this.scripts.release(emailKey, id),
        ]);
        throw new DuplicateUserError(name === null ? 'UserName' : 'Email');
      }
      const permissions = [...new Set(user.permissions ?? [])];
      const accountIds = [...new Set(user.accountIds ?? [])];
      const keys = userKeys(userId);
      const record = {
        userName: user.userName,
        email: user.email,
        emailVerified: flag(user.emailVerified ?? false),
        passwordHash: user.passwordHash ?? '',
        locked: flag(user.locked ?? false),
        accountId: String(user.accountId ?? accountIds[0] ?? 0),
        createdAt: new Date(this.clock.now()).toISOString(),
        language: user.language ?? '',
        permissions,
        accounts: accountIds.map(String),
      };
      const written = (await this.scripts.write(
        keys.record,
        keys.permissions,
        keys.accounts,
        JSON.stringify(record),
      )) as number;
      if (written !== 1)
        throw new Error(`user ${userId} exists already: ${USER_IDS_KEY} is behind the records`);
      const settled = await Promise.all([
        this.scripts.settle(nameKey, id),
        this.scripts.settle(emailKey, id),
        this.redis.sadd(USER_LIST_KEY, id),
      ]);
      if (settled[0] !== 1 || settled[1] !== 1) throw new Error(`user ${userId}: an index claim lapsed`);
      const created = await this.read(userId);
      if (!created) throw new Error(`user ${userId} vanished right after creation`);
      return created;
    });
  }

  /** One user and its sets in one step. */
  private async read(userId: number): Promise<UserRecord | null> {
    if (!Number.isSafeInteger(userId) || userId <= 0) return null;
    const keys = userKeys(userId);
    const reply = (await this.scripts.read(keys.record, keys.permissions, keys.accounts)) as
      [string[], string[], string[]] | null;
    if (reply === null) return null;
    const [flat, permissions, accounts] = reply;
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
    return toUserRecord(userId, hash, permissions, accounts);
  }

  get(userId: number): Promise<UserRecord | null> {
    return guarded(() => this.read(userId));
  }

  /** The index entry's slot, then the user's: two round trips (a cluster keeps them on different nodes). */
  private findByIndex(index: string): Promise<UserRecord | null> {
    return guarded(async () => {
      const id = await this.redis.get(index);
      return id === null ? null : this.read(Number(id));
    });
  }

  findByName(userName: string): Promise<UserRecord | null> {
    return this.findByIndex(userIndexKey('name', userName));
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.findByIndex(userIndexKey('email', email));
  }

  list(): Promise<UserRecord[]> {
    return guarded(async () => {
      const ids = (await this.redis.smembers(USER_LIST_KEY)).map(Number).sort((a, b) => a - b);
      const users = await Promise.all(ids.map((id) => this.read(id)));
      return users.filter((user): user is UserRecord => user !== null);
    });
  }

  /** Runs a one-user script; reads the user back when it existed. */
  private change(userId: number, run: (keys: ReturnType<typeof userKeys>) => Promise<unknown>) {
    return guarded(async () => ((await run(userKeys(userId))) === 1 ? this.read(userId) : null));
  }

  setPasswordHash(userId: number, passwordHash: string): Promise<UserRecord | null> {
    return this.change(userId, (keys) => this.scripts.setField(keys.record, 'passwordHash', passwordHash));
  }

  setLocked(userId: number, locked: boolean): Promise<UserRecord | null> {
    return this.change(userId, (keys) => this.scripts.setField(keys.record, 'locked', flag(locked)));
  }

  setEmailVerified(userId: number, verified: boolean): Promise<UserRecord | null> {
    return this.change(userId, (keys) => this.scripts.setField(keys.record, 'emailVerified', flag(verified)));
  }

  grant(userId: number, permission: string): Promise<UserRecord | null> {
    return this.change(userId, (keys) =>
      this.scripts.setMember(keys.record, keys.permissions, 'SADD', permission),
    );
  }

  revoke(userId: number, permission: string): Promise<UserRecord | null> {
    return this.change(userId, (keys) =>
      this.scripts.setMember(keys.record, keys.permissions, 'SREM', permission),
    );
  }

  setLanguage(userId: number, language: Language | null): Promise<UserRecord | null> {
    return this.change(userId, (keys) => this.scripts.setField(keys.record, 'language', language ?? ''));
  }

  addAccount(userId: number, accountId: number): Promise<UserRecord | null> {
    return this.change(userId, (keys) =>
      this.scripts.addAccount(keys.record, keys.accounts, String(accountId)),
    );
  }
}
