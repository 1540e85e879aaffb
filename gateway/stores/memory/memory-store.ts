// The embedded store: everything in this process's memory, same behaviour (TTLs included) as Redis, nothing kept.
import type { Clock } from '../../../core/ports/clock';
import { ExpiringMap } from './expiring-map';
import { DuplicateUserError, sortTokens } from '../../../core/ports/store';
import type { Language } from '../../../core/languages';
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

class MemoryRateLimiter implements RateLimiter {
  private readonly counters: ExpiringMap<string, number>;

  constructor(clock: Clock) {
    this.counters = new ExpiringMap(clock);
  }

  hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    return this.hitAll([{ key, limit, windowSeconds }]);
  }

  hitAll(hits: readonly LimitHit[]): Promise<RateDecision> {
    let decision: RateDecision = { allowed: true, count: 0, retryAfterSeconds: 0 };
    for (const { key, limit, windowSeconds } of hits) {
      const count = (this.counters.get(key) ?? 0) + 1;
      if (!this.counters.update(key, count)) this.counters.set(key, count, windowSeconds * 1000);
      const ttlMs = this.counters.ttl(key) ?? 0;
      const allowed = count <= limit;
      decision = { allowed, count, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(ttlMs / 1000)) };
      if (!allowed) break;
    }
    return Promise.resolve(decision);
  }

  reset(key: string): Promise<void> {
    this.counters.delete(key);
    return Promise.resolve();
  }

  reserve(hits: readonly LimitHit[]): Promise<RateDecision> {
    const full = hits.filter(({ key, limit }) => (this.counters.get(key) ?? 0) + 1 > limit);
    if (full.length > 0) {
      const waitMs = Math.max(...full.map(({ key }) => this.counters.ttl(key) ?? 0));
      const count = this.counters.get(full[0]!.key) ?? 0;
      return Promise.resolve({
        allowed: false,
        count,
        retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
      });
    }
    let count = 0;
    for (const [index, { key, windowSeconds }] of hits.entries()) {
      const next = (this.counters.get(key) ?? 0) + 1;
      if (!this.counters.update(key, next)) this.counters.set(key, next, windowSeconds * 1000);
      if (index === 0) count = next;
    }
    return Promise.resolve({ allowed: true, count, retryAfterSeconds: 0 });
  }

  refund(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const count = (this.counters.get(key) ?? 0) - 1;
      if (count <= 0) this.counters.delete(key);
      else this.counters.update(key, count);
    }
    return Promise.resolve();
  }

  peek(key: string, limit: number): Promise<RateDecision> {
    const count = this.counters.get(key) ?? 0;
    const allowed = count < limit;
    const ttlMs = this.counters.ttl(key) ?? 0;
    return Promise.resolve({
      allowed,
      count,
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(ttlMs / 1000)),
    });
  }
}

/** The mutable form kept in memory; callers only ever see frozen copies. */
interface MutableUser {
  userId: number;
  userName: string;
  email: string;
  emailVerified: boolean;
  passwordHash: string | null;
  locked: boolean;
  permissions: Set<string>;
  accountIds: Set<number>;
  accountId: number;
  omsId: number;
  createdAt: string;
  language: Language | null;
}

function snapshot(user: MutableUser): UserRecord {
  return Object.freeze({
    ...user,
    permissions: Object.freeze([...user.permissions].sort()),
    accountIds: Object.freeze([...user.accountIds].sort((a, b) => a - b)),
  });
}

class MemoryUserStore implements UserStore {
  private readonly byId = new Map<number, MutableUser>();
  /** The stored hash, read in the same (synchronous) step as a session is started. */
  passwordHashOf(userId: number): string | null | undefined {
    return this.byId.get(userId)?.passwordHash;
  }

  private readonly idByName = new Map<string, number>();
  private readonly idByEmail = new Map<string, number>();
  private lastId = 0;

  constructor(private readonly clock: Clock) {}

  create(user: NewUser): Promise<UserRecord> {
    const nameKey = user.userName.toLowerCase();
    const emailKey = user.email.toLowerCase();
    if (this.idByName.has(nameKey)) return Promise.reject(new DuplicateUserError('UserName'));
    if (this.idByEmail.has(emailKey)) return Promise.reject(new DuplicateUserError('Email'));
    const accountIds = user.accountIds ?? [];
    const created: MutableUser = {
      userId: ++this.lastId,
      userName: user.userName,
      email: user.email,
      emailVerified: user.emailVerified ?? false,
      passwordHash: user.passwordHash ?? null,
      locked: user.locked ?? false,
      permissions: new Set(user.permissions ?? []),
      accountIds: new Set(accountIds),
      accountId: user.accountId ?? accountIds[0] ?? 0,
      omsId: 1,
      createdAt: new Date(this.clock.now()).toISOString(),
      language: user.language ?? null,
    };
    this.byId.set(created.userId, created);
    this.idByName.set(nameKey, created.userId);
    this.idByEmail.set(emailKey, created.userId);
    return Promise.resolve(snapshot(created));
  }

  get(userId: number): Promise<UserRecord | null> {
    const user = this.byId.get(userId);
    return Promise.resolve(user ? snapshot(user) : null);
  }

  findByName(userName: string): Promise<UserRecord | null> {
    return this.get(this.idByName.get(userName.toLowerCase()) ?? 0);
  }

  findByEmail(email: string): Promise<UserRecord | null> {
    return this.get(this.idByEmail.get(email.toLowerCase()) ?? 0);
  }

  list(): Promise<UserRecord[]> {
    return Promise.resolve([...this.byId.values()].sort((a, b) => a.userId - b.userId).map(snapshot));
  }

  private change(userId: number, apply: (user: MutableUser) => void): Promise<UserRecord | null> {
    const user = this.byId.get(userId);
    if (!user) return Promise.resolve(null);
    apply(user);
    return Promise.resolve(snapshot(user));
  }

  setPasswordHash(userId: number, passwordHash: string): Promise<UserRecord | null> {
    return this.change(userId, (user) => (user.passwordHash = passwordHash));
  }

  setLocked(userId: number, locked: boolean): Promise<UserRecord | null> {
    return this.change(userId, (user) => (user.locked = locked));
  }

  setEmailVerified(userId: number, verified: boolean): Promise<UserRecord | null> {
    return this.change(userId, (user) => (user.emailVerified = verified));
  }

  grant(userId: number, permission: string): Promise<UserRecord | null> {
    return this.change(userId, (user) => user.permissions.add(permission));
  }

  revoke(userId: number, permission: string): Promise<UserRecord | null> {
    return this.change(userId, (user) => user.permissions.delete(permission));
  }

  addAccount(userId: number, accountId: number): Promise<UserRecord | null> {
    return this.change(userId, (user) => {
      user.accountIds.add(accountId);
      if (user.accountId === 0) user.accountId = accountId;
    });
  }

  setLanguage(userId: number, language: Language | null): Promise<UserRecord | null> {
    return this.change(userId, (user) => (user.language = language));
  }
}

/** ExpiringMap.ttl as a sort key: no expiry (-1) sorts last, as Redis's script does. */
function ttlLeft(ttl: number | undefined): number {
  return ttl === undefined || ttl < 0 ? Infinity : ttl;
}

interface MemorySession {
  readonly userId: number;
  /** ms since the epoch when the session ends however it is used; Infinity: no absolute lifetime */
  readonly endsAt: number;
}

class MemorySessionStore implements SessionStore {
  private readonly sessions: ExpiringMap<string, MemorySession>;
  private readonly byUser = new Map<number, Set<string>>();
  private readonly listeners = new Set<(revocation: SessionRevocation) => void>();

  constructor(
    private readonly clock: Clock,
    private readonly users: MemoryUserStore,
  ) {
    this.sessions = new ExpiringMap(clock);
  }

  async create(sessionId: string, userId: number, ttlMs: number, maxPerUser = 0): Promise<number> {
    return (await this.start({ sessionId, userId, ttlMs, maxPerUser })).ended;
  }

  start(session: NewSession): Promise<SessionStart> {
    const { sessionId, userId, ttlMs, maxPerUser = 0, maxLifetimeMs, passwordHash } = session;
    // one synchronous step with the check: no password change can fall between them
    if (passwordHash !== undefined && this.users.passwordHashOf(userId) !== passwordHash) {
      return Promise.resolve({ started: false, ended: 0 });
    }
    const index = this.byUser.get(userId) ?? new Set<string>();
    // forget ended sessions as Redis does when it prunes the index
    for (const id of index) if (this.sessions.get(id) === undefined) index.delete(id);
    const cap = Number.isFinite(maxPerUser) ? Math.max(0, Math.floor(maxPerUser)) : 0;
    const ended: string[] = [];
    if (cap > 0 && index.size >= cap) {
      const byIdleLeft = [...index].sort(
        (a, b) => ttlLeft(this.sessions.ttl(a)) - ttlLeft(this.sessions.ttl(b)),
      );
      for (const id of byIdleLeft.slice(0, index.size - cap + 1)) {
        this.sessions.delete(id);
        index.delete(id);
        ended.push(id);
      }
      this.publish({ userId, sessionIds: ended });
    }
    index.add(sessionId);
    this.byUser.set(userId, index);
    const lifetime = maxLifetimeMs !== undefined && maxLifetimeMs > 0 ? maxLifetimeMs : Infinity;
    this.sessions.set(sessionId, { userId, endsAt: this.clock.now() + lifetime }, Math.min(ttlMs, lifetime));
    return Promise.resolve({ started: true, ended: ended.length });
  }

  touch(sessionId: string, ttlMs: number): Promise<number | null> {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return Promise.resolve(null);
    const lifetimeLeft = session.endsAt - this.clock.now();
    if (lifetimeLeft <= 0) {
      this.sessions.delete(sessionId);
      return Promise.resolve(null);
    }
    this.sessions.expire(sessionId, Math.min(ttlMs, lifetimeLeft));
    return Promise.resolve(session.userId);
  }

  async resume(sessionId: string, ttlMs: number): Promise<UserRecord | null> {
    const userId = await this.touch(sessionId, ttlMs);
    return userId === null ? null : this.users.get(userId);
  }

  revoke(sessionId: string): Promise<boolean> {
    const userId = this.sessions.get(sessionId)?.userId;
    if (userId === undefined) return Promise.resolve(false);
    this.sessions.delete(sessionId);
    this.byUser.get(userId)?.delete(sessionId);
    this.publish({ userId, sessionIds: [sessionId] });
    return Promise.resolve(true);
  }

  revokeAllForUser(userId: number): Promise<number> {
    const sessionIds = [...(this.byUser.get(userId) ?? [])].filter((id) => this.sessions.delete(id));
    this.byUser.delete(userId);
    this.publish({ userId, sessionIds });
    return Promise.resolve(sessionIds.length);
  }

  onRevoked(listener: (revocation: SessionRevocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  whenListening(): Promise<void> {
    return Promise.resolve();
  }

  /** Delivered after the caller's current step, as a Redis message would be. */
  private publish(revocation: SessionRevocation): void {
    const frozen = Object.freeze({ ...revocation, sessionIds: Object.freeze([...revocation.sessionIds]) });
    for (const listener of [...this.listeners]) queueMicrotask(() => listener(frozen));
  }
}

class MemoryApiKeyStore implements ApiKeyStore {
  /** By user, then by key id. */
  private readonly keys = new Map<number, Map<string, { secret: string; lastNonce: number }>>();

  create(userId: number, apiKey: string, secret: string): Promise<void> {
    const ofUser = this.keys.get(userId) ?? new Map<string, { secret: string; lastNonce: number }>();
    ofUser.set(apiKey, { secret, lastNonce: 0 });
    this.keys.set(userId, ofUser);
    return Promise.resolve();
  }

  get(userId: number, apiKey: string): Promise<ApiKeyRecord | null> {
    const entry = this.keys.get(userId)?.get(apiKey);
    return Promise.resolve(entry ? Object.freeze({ userId, apiKey, ...entry }) : null);
  }

  useNonce(userId: number, apiKey: string, nonce: number): Promise<boolean> {
    const entry = this.keys.get(userId)?.get(apiKey);
    if (!entry || nonce <= entry.lastNonce) return Promise.resolve(false);
    entry.lastNonce = nonce;
    return Promise.resolve(true);
  }

  list(userId: number): Promise<string[]> {
    return Promise.resolve([...(this.keys.get(userId)?.keys() ?? [])].sort());
  }

  revoke(userId: number, apiKey: string): Promise<boolean> {
    return Promise.resolve(this.keys.get(userId)?.delete(apiKey) ?? false);
  }
}

class MemoryApiTokenStore implements ApiTokenStore {
  private readonly tokens = new Map<string, ApiTokenRecord>();

  constructor(private readonly clock: Clock) {}

  create(tokenHash: string, token: NewApiToken): Promise<ApiTokenRecord> {
    const record = Object.freeze({
      tokenHash,
      name: token.name,
      entries: Object.freeze([...new Set(token.entries ?? [])].sort()),
      createdAt: new Date(this.clock.now()).toISOString(),
    });
    this.tokens.set(tokenHash, record);
    return Promise.resolve(record);
  }

  findByHash(tokenHash: string): Promise<ApiTokenRecord | null> {
    return Promise.resolve(this.tokens.get(tokenHash) ?? null);
  }

  list(): Promise<ApiTokenRecord[]> {
    return Promise.resolve(sortTokens([...this.tokens.values()]));
  }

  revokeByName(name: string): Promise<number> {
    const named = [...this.tokens.values()].filter((record) => record.name === name);
    for (const record of named) this.tokens.delete(record.tokenHash);
    return Promise.resolve(named.length);
  }
}

export function createMemoryStore(clock: Clock): Store {
  const users = new MemoryUserStore(clock);
  return {
    kind: 'memory',
    limits: new MemoryRateLimiter(clock),
    users,
    sessions: new MemorySessionStore(clock, users),
    apiKeys: new MemoryApiKeyStore(),
    apiTokens: new MemoryApiTokenStore(clock),
    ping: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
