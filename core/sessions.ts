// SessionTokens: a v4 UUID for the client, only its SHA-256 in the store; resolving one refreshes its idle TTL.
import { v4 as uuidv4 } from 'uuid';
import type { Caller } from '../protocol/handler';
import { sha256Hex } from './digest';
import type { Store } from './ports/store';

/** The store's id for a SessionToken: SHA-256 hex, so a copy of the store cannot be replayed as tokens. */
export function sessionIdOf(sessionToken: string): string {
  return sha256Hex(sessionToken);
}

export interface SessionTerms {
  /** idle lifetime (SESSION_TTL_SECONDS) */
  readonly ttlSeconds: number;
  /** live sessions per user (MAX_SESSIONS_PER_USER) */
  readonly maxPerUser: number;
  /** absolute lifetime (SESSION_MAX_LIFETIME_SECONDS) */
  readonly maxLifetimeSeconds: number;
  /** the password hash the login verified: no session unless it is still the user's (issue 11, finding 3) */
  readonly passwordHash?: string;
}

/**
 * Starts a session for a user and returns its SessionToken (shown to the client once, never stored); null when
 * the user's password hash is no longer the one given. A user at `maxPerUser` live sessions loses the least
 * recently used one to the new one.
 */
export async function startSession(
  store: Store,
  userId: number,
  terms: SessionTerms,
): Promise<string | null> {
  const sessionToken = uuidv4();
  const { started } = await store.sessions.start({
    sessionId: sessionIdOf(sessionToken),
    userId,
    ttlMs: terms.ttlSeconds * 1000,
    maxPerUser: terms.maxPerUser,
    maxLifetimeMs: terms.maxLifetimeSeconds * 1000,
    passwordHash: terms.passwordHash,
  });
  return started ? sessionToken : null;
}

/**
 * The caller behind a SessionToken, touching its idle TTL (as the OMS does on activity);
 * null when the session expired or was revoked, or its user is gone or locked.
 */
export async function resolveSession(
  store: Store,
  sessionToken: string,
  ttlSeconds: number,
): Promise<Caller | null> {
  const sessionId = sessionIdOf(sessionToken);
  // one round trip: the touch and the user's read together (a resume storm costs one each)
  const user = await store.sessions.resume(sessionId, ttlSeconds * 1000);
  if (!user || user.locked) return null;
  return {
    userId: user.userId,
    userName: user.userName,
    permissions: user.permissions,
    accountIds: user.accountIds,
    sessionId,
  };
}
