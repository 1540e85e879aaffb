// What AuthenticateUser and WebAuthenticateUser share: failed-login limits, password and API-key checks, sessions.
import { createHmac } from 'node:crypto';
import type { CallContext } from './services';
import { sameHash, sha256Hex } from './digest';
import { startSession } from './sessions';
import type { LimitHit, UserRecord } from './ports/store';
import { OmsError } from '../protocol/codes';

export const INVALID_LOGIN = 'Invalid username or password';
export const INVALID_API_LOGIN = 'Invalid API key, signature or nonce';
export const LOCKED_LOGIN = 'User is locked';

export type LoginResult =
  | { readonly ok: true; readonly user: UserRecord; readonly sessionToken: string }
  | { readonly ok: false; readonly locked: boolean; readonly errormsg: string };

/**
 * The limits one login attempt counts against (issue 11, finding 4; OWASP's authentication cheat sheet):
 * - the pair of what it names (a user name, or an API key) and the client address: LOGIN_LIMIT_ATTEMPTS
 *   failures lock that pair for the window, so a guesser is stopped without locking the user out elsewhere;
 * - the client address across names: LOGIN_ADDRESS_LIMIT_ATTEMPTS failures in the same window;
 * - what it names, from every address: a throttle, not a lockout. LOGIN_NAME_THROTTLE_ATTEMPTS attempts per
 *   short window (default 30 per minute) slow a guesser spread over many addresses to that pace, while the
 *   real user waits at most that window, never the 15 minutes of a lockout.
 * The subject is hashed into the key: neither a password typed into the name field nor an API key lands in
 * the store's key names.
 */
function limitsFor(context: CallContext, subject: string): LimitHit[] {
  const { loginLimit } = context.services.config;
  const address = context.connection.clientAddress;
  const id = sha256Hex(subject);
  const window = loginLimit.windowSeconds;
  return [
    { key: `login-failures:pair:${id}:${address}`, limit: loginLimit.attempts, windowSeconds: window },
    { key: `login-failures:address:${address}`, limit: loginLimit.addressAttempts, windowSeconds: window },
    {
      key: `login-throttle:${id}`,
      limit: loginLimit.nameAttempts,
      windowSeconds: loginLimit.nameWindowSeconds,
    },
  ];
}

/**
 * Takes one attempt from every limit before anything is checked, in one store step, or refuses with 101 and
 * the wait in `detail`: attempts in flight are already counted, so a burst in parallel gets no more checks
 * than the limit allows (issue 11, finding 2). An attempt that turns out right is given back.
 */
async function reserveAttempt(context: CallContext, hits: readonly LimitHit[]): Promise<void> {
  const decision = await context.services.store.limits.reserve(hits);
  if (decision.allowed) return;
  throw new OmsError(
    'OperationFailed',
    `Too many failed login attempts; retry after ${decision.retryAfterSeconds} seconds`,
  );
}

/** Gives the attempt back; best effort (a store outage here must not turn a reply into a 102). */
async function refundAttempt(context: CallContext, hits: readonly LimitHit[]): Promise<void> {
  await context.services.store.limits.refund(hits.map((hit) => hit.key)).catch((error: unknown) => {
    context.services.logger.warn(
      { err: error, conn: context.connection.id },
      'could not refund a login attempt',
    );
  });
}

/** Runs the checks of a reserved attempt; one that never got to check anything (an error) is given back. */
async function checked<T>(
  context: CallContext,
  hits: readonly LimitHit[],
  check: () => Promise<T>,
): Promise<T> {
  try {
    return await check();
  } catch (error) {
    await refundAttempt(context, hits);
    throw error;
  }
}

function logFailure(context: CallContext, userId?: number): void {
  // neither the name tried nor the password: a password typed into the name field would land in the log
  context.services.logger.warn(
    { conn: context.connection.id, address: context.connection.clientAddress, userId },
    'login failed',
  );
}

/**
 * Starts a session (bound to the password hash verified, when there was one), binds it to this connection,
 * gives the attempt back and clears the pair's failures (the user's own typos from this address).
 * null: the password changed while this login was checking it.
 */
async function succeed(
  context: CallContext,
  user: UserRecord,
  hits: readonly LimitHit[],
  passwordHash?: string,
): Promise<LoginResult | null> {
  const { store, config, logger } = context.services;
  const sessionToken = await startSession(store, user.userId, {
    ttlSeconds: config.sessionTtlSeconds,
    maxPerUser: config.maxSessionsPerUser,
    maxLifetimeSeconds: config.sessionMaxLifetimeSeconds,
    passwordHash,
  });
  if (sessionToken === null) return null;
  const [pair, ...others] = hits;
  await Promise.all([
    pair ? store.limits.reset(pair.key).catch(() => undefined) : undefined,
    refundAttempt(context, others),
  ]);
  context.connection.bindSession(sessionToken);
  logger.info({ conn: context.connection.id, userId: user.userId }, 'user authenticated');
  return { ok: true, user, sessionToken };
}

/**
 * UserName + Password. An unknown name costs the same argon2 work as a wrong password and gets the same
 * reply, so neither the answer nor its timing says whether the name exists.
 */
export async function loginWithPassword(
  context: CallContext,
  userName: string,
  password: string,
): Promise<LoginResult> {
  const { store, hasher } = context.services;
  const hits = limitsFor(context, `name:${userName.toLowerCase()}`);
  await reserveAttempt(context, hits);
  const caller = { address: context.connection.clientAddress };
  const { user, valid } = await checked(context, hits, async () => {
    const found = await store.users.findByName(userName);
    const matches = found?.passwordHash
      ? await hasher.verify(found.passwordHash, password, caller)
      : await hasher.verifyNothing(password, caller);
    return { user: found, valid: matches };
  });
  if (user && valid && user.locked) {
    // the password was right: not a guess to count
    await refundAttempt(context, hits);
    return { ok: false, locked: true, errormsg: LOCKED_LOGIN };
  }
  const result =
    user && valid
      ? await checked(context, hits, () => succeed(context, user, hits, user.passwordHash!))
      : null;
  if (result !== null) return result;
  // a wrong password, an unknown name, or a password changed meanwhile: the attempt stays counted
  logFailure(context, user?.userId);
  return { ok: false, locked: false, errormsg: INVALID_LOGIN };
}

/** The hex HMAC-SHA256, keyed with the API secret, over `Nonce + UserId + APIKey` (the OMS's API-key login). */
export function signApiLogin(secret: string, nonce: string, userId: number, apiKey: string): string {
  return createHmac('sha256', secret).update(`${nonce}${userId}${apiKey}`, 'utf8').digest('hex');
}

function sameHex(expected: string, given: string): boolean {
  return sameHash(expected, given.toLowerCase());
}

export interface ApiLogin {
  readonly apiKey: string;
  readonly signature: string;
  readonly userId: number;
  /** As sent: the signature covers its text. */
  readonly nonce: string;
}

/**
 * APIKey + Signature + UserId + Nonce. The nonce is recorded only after the signature checks out, so a
 * forged request cannot burn nonces; a nonce not above the last one used with the key is a replay.
 * Failures count against the key tried (hashed), not the UserId: wrong keys for a bot's UserId do not stop
 * its real key.
 */
export async function loginWithApiKey(context: CallContext, login: ApiLogin): Promise<LoginResult> {
  const { store } = context.services;
  const hits = limitsFor(context, `api:${login.userId}:${login.apiKey}`);
  await reserveAttempt(context, hits);
  const { key, user } = await checked(context, hits, async () => {
    const found = await store.apiKeys.get(login.userId, login.apiKey);
    // an unknown key is checked against a throwaway secret, so both refusals cost the same
    const expected = signApiLogin(found?.secret ?? 'no such key', login.nonce, login.userId, login.apiKey);
    const valid =
      found !== null &&
      sameHex(expected, login.signature) &&
      (await store.apiKeys.useNonce(login.userId, login.apiKey, Number(login.nonce)));
    return { key: found, user: valid ? await store.users.get(login.userId) : null };
  });
  if (user?.locked) {
    await refundAttempt(context, hits);
    return { ok: false, locked: true, errormsg: LOCKED_LOGIN };
  }
  const result = user ? await checked(context, hits, () => succeed(context, user, hits)) : null;
  if (result !== null) return result;
  logFailure(context, key ? login.userId : undefined);
  return { ok: false, locked: false, errormsg: INVALID_API_LOGIN };
}
