// The store the handlers see. Two implementations (Redis, embedded memory), one contract suite in tests/gateway/store.
import { OmsError } from '../../protocol/codes';
import type { Language } from '../languages';

export interface RateDecision {
  readonly allowed: boolean;
  /** Hits counted in the current window, this one included. */
  readonly count: number;
  /** Seconds until the window ends (0 when allowed and no wait applies). */
  readonly retryAfterSeconds: number;
}

/** Fixed-window counters, shared by every gateway on the same Redis. */
/** One limit to count a hit against. */
export interface LimitHit {
  readonly key: string;
  readonly limit: number;
  readonly windowSeconds: number;
}

export interface RateLimiter {
  /** Counts one hit against `key` and says whether it is within `limit` per `windowSeconds`. */
  hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision>;
  /**
   * Counts a hit against each limit in order, in one step, and stops at the first that says no (the
   * limits after it are not counted): the decision of that one, or of the last when all allow.
   */
  hitAll(hits: readonly LimitHit[]): Promise<RateDecision>;
  /** Forgets the key (a successful login clears its failures). */
  reset(key: string): Promise<void>;
  /** Says whether one more hit would still be within `limit`, without counting one. */
  peek(key: string, limit: number): Promise<RateDecision>;
  /**
   * All or nothing, in one step: when every limit has room for one more hit, counts one on each and allows;
   * otherwise counts none and refuses with the longest wait of those that are full. Failed-login limits
   * reserve an attempt this way before the password is checked, so attempts in flight cannot overrun them.
   */
  reserve(hits: readonly LimitHit[]): Promise<RateDecision>;
  /** Gives back one hit on each key (a reserved attempt that turned out right); never below zero, window kept. */
  refund(keys: readonly string[]): Promise<void>;
}

/** Thrown by a store that cannot reach its backend; callers answer 102 with a clear detail and retry later. */
export class StoreUnavailableError extends OmsError {
  constructor(cause: unknown) {
    super('ServerError', 'Store unavailable; try again shortly', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** A user as the store keeps it. Wire names (UserId, …) are made at the wire edge, not here. */
export interface UserRecord {
  /** Assigned by the store, from 1. */
  readonly userId: number;
  readonly userName: string;
  readonly email: string;
  readonly emailVerified: boolean;
  /** argon2id PHC string; null for a user created without a password (can log in only after a reset). */
  readonly passwordHash: string | null;
  readonly locked: boolean;
  /** Sorted; `Operator`, `Trading`, `AccountReadOnly` or a function name. */
  readonly permissions: readonly string[];
  /** Sorted ascending. */
  readonly accountIds: readonly number[];
  /** The default account; 0 when the user belongs to none. */
  readonly accountId: number;
  readonly omsId: number;
  /** ISO 8601. */
  readonly createdAt: string;
  /** The language of the user's mails and reset page; null: the request's (Accept-Language) or English. */
  readonly language: Language | null;
}

export interface NewUser {
  readonly userName: string;
  readonly email: string;
  /** default false */
  readonly emailVerified?: boolean;
  /** default null */
  readonly passwordHash?: string | null;
  /** default false */
  readonly locked?: boolean;
  /** default none */
  readonly permissions?: readonly string[];
  /** default none */
  readonly accountIds?: readonly number[];
  /** default the first of accountIds, or 0 */
  readonly accountId?: number;
  /** default null: none of its own */
  readonly language?: Language | null;
}

/** A user name or e-mail already taken (compared case-insensitively). */
export class DuplicateUserError extends Error {
  constructor(readonly field: 'UserName' | 'Email') {
    super(`${field === 'UserName' ? 'User name' : 'E-mail address'} is already in use`);
    this.name = 'DuplicateUserError';
  }
}

export interface UserStore {
  /** Atomically checks both unique names and creates the user; throws DuplicateUserError. */
  create(user: NewUser): Promise<UserRecord>;
  get(userId: number): Promise<UserRecord | null>;
  /** Case-insensitive. */
  findByName(userName: string): Promise<UserRecord | null>;
  /** Case-insensitive. */
  findByEmail(email: string): Promise<UserRecord | null>;
  /** Every user, by UserId. */
  list(): Promise<UserRecord[]>;
  /** Each mutation returns the updated user, or null when there is no such user. */
  setPasswordHash(userId: number, passwordHash: string): Promise<UserRecord | null>;
  setLocked(userId: number, locked: boolean): Promise<UserRecord | null>;
  setEmailVerified(userId: number, verified: boolean): Promise<UserRecord | null>;
  grant(userId: number, permission: string): Promise<UserRecord | null>;
  revoke(userId: number, permission: string): Promise<UserRecord | null>;
  /** Adds the user to an account; it becomes the default when the user had none. */
  addAccount(userId: number, accountId: number): Promise<UserRecord | null>;
  /** Sets the user's language, or clears it with null. */
  setLanguage(userId: number, language: Language | null): Promise<UserRecord | null>;
}

/** Sessions ended at once; every gateway sharing the store hears of it and de-authenticates its sockets. */
export interface SessionRevocation {
  readonly userId: number;
  /** SHA-256 hex of each ended SessionToken. */
  readonly sessionIds: readonly string[];
}

/** A session to start (SessionStore.start). */
export interface NewSession {
  /** SHA-256 hex of the SessionToken. */
  readonly sessionId: string;
  readonly userId: number;
  /** idle lifetime, refreshed by every touch */
  readonly ttlMs: number;
  /** default 0: no cap (see SessionStore.create) */
  readonly maxPerUser?: number;
  /** absolute lifetime from creation: the session ends at this age however much it is used; default none */
  readonly maxLifetimeMs?: number;
  /**
   * The password hash the login verified. When given, the session is started only if the user's stored hash
   * is still exactly this one, checked in the same step that starts it: a login racing a password change
   * cannot come out with a session the change did not end.
   */
  readonly passwordHash?: string;
}

export interface SessionStart {
  /** false: the user's password hash is no longer the one given (or the user is gone); nothing was started */
  readonly started: boolean;
  /** sessions ended to make room under `maxPerUser` */
  readonly ended: number;
}

/**
 * Sessions keyed by the SHA-256 hex of their SessionToken (the token itself is never stored),
 * each with an idle TTL, and indexed per user so all of a user's sessions can end at once.
 */
export interface SessionStore {
  /**
   * Starts a session. With `maxPerUser`, a user who already has that many live sessions loses the least
   * recently used ones (the shortest idle TTL left) to make room; they are revoked and published like a
   * LogOut. Resolves with how many were ended.
   */
  create(sessionId: string, userId: number, ttlMs: number, maxPerUser?: number): Promise<number>;
  /** Starts a session like `create`, with an absolute lifetime and bound to a password hash when given. */
  start(session: NewSession): Promise<SessionStart>;
  /**
   * The session's user, refreshing its idle TTL (never past its absolute lifetime); null when expired,
   * past its lifetime, revoked or unknown.
   */
  touch(sessionId: string, ttlMs: number): Promise<number | null>;
  /**
   * Touches the session as `touch` does and returns its user, in one store round trip: a reconnect storm is
   * thousands of resumes at once (issue 15). Null when the session is not live or its user is gone.
   */
  resume(sessionId: string, ttlMs: number): Promise<UserRecord | null>;
  /** Ends one session (LogOut) and publishes the revocation; false when it was not live. */
  revoke(sessionId: string): Promise<boolean>;
  /** Ends every session of a user, publishes the revocation, and returns how many were live. */
  revokeAllForUser(userId: number): Promise<number>;
  /** Listens to revocations from every gateway on the store (this one included); returns the unsubscribe. */
  onRevoked(listener: (revocation: SessionRevocation) => void): () => void;
  /** Resolves once revocations published from now on reach the listeners (Redis: the subscription is active). */
  whenListening(): Promise<void>;
}

export interface ApiKeyRecord {
  readonly userId: number;
  readonly apiKey: string;
  /** Kept as is: the HMAC check needs it. */
  readonly secret: string;
  /** The greatest nonce used so far; 0 before the first. */
  readonly lastNonce: number;
}

export interface ApiKeyStore {
  create(userId: number, apiKey: string, secret: string): Promise<void>;
  get(userId: number, apiKey: string): Promise<ApiKeyRecord | null>;
  /** Atomically records `nonce` when it is greater than the last one used with the key; false otherwise (replay). */
  useNonce(userId: number, apiKey: string, nonce: number): Promise<boolean>;
  /** The user's key ids, sorted (never the secrets). */
  list(userId: number): Promise<string[]>;
  /** Deletes the key and its secret; false when the user has no such key. */
  revoke(userId: number, apiKey: string): Promise<boolean>;
}

/** An API token of POST /api/User/authreset (Payabli's `requestToken`), as stored: never the token itself. */
export interface ApiTokenRecord {
  /** SHA-256 hex of the token: its id in the store, in limits and logs. */
  readonly tokenHash: string;
  /** Who it was issued to, for audit and logs. */
  readonly name: string;
  /** The entry points it may name; empty means any (and requests without an entry). */
  readonly entries: readonly string[];
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface NewApiToken {
  readonly name: string;
  /** default none: any entry */
  readonly entries?: readonly string[];
}

/** The order `ApiTokenStore.list` returns: by name, then creation time, then hash (ties stay stable). */
export function sortTokens(records: ApiTokenRecord[]): ApiTokenRecord[] {
  // code-unit order, not the locale's: the same list on every machine
  const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return records.sort(
    (a, b) =>
      compare(a.name, b.name) || compare(a.createdAt, b.createdAt) || compare(a.tokenHash, b.tokenHash),
  );
}

/** API tokens kept by the SHA-256 of the token (created by `oms-gateway token create`). */
export interface ApiTokenStore {
  create(tokenHash: string, token: NewApiToken): Promise<ApiTokenRecord>;
  /** null for a hash no token has. */
  findByHash(tokenHash: string): Promise<ApiTokenRecord | null>;
  /** Every token, by name then creation time. */
  list(): Promise<ApiTokenRecord[]>;
  /** Deletes every token with exactly this name (a leaked token is found by who it was issued to); returns how many. */
  revokeByName(name: string): Promise<number>;
}

export interface Store {
  /** 'memory' keeps nothing and serves one process only. */
  readonly kind: 'redis' | 'memory';
  readonly limits: RateLimiter;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly apiKeys: ApiKeyStore;
  readonly apiTokens: ApiTokenStore;
  /** Resolves when the store answers; rejects otherwise (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
