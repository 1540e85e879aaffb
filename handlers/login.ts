// What AuthenticateUser and WebAuthenticateUser share: failed-login limits, password and API-key checks, sessions.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CallContext } from './context';
import { startSession } from '../gateway/sessions';
import type { UserRecord } from '../gateway/store/store';
import { OmsError } from '../protocol/codes';

export const INVALID_LOGIN = 'Invalid username or password';
export const INVALID_API_LOGIN = 'Invalid API key, signature or nonce';
export const LOCKED_LOGIN = 'User is locked';

export type LoginResult =
  | { readonly ok: true; readonly user: UserRecord; readonly sessionToken: string }
  | { readonly ok: false; readonly locked: boolean; readonly errormsg: string };

/** The limiter keys of one login attempt: the name tried (lower-cased) and the client's address. */
function limitKeys(context: CallContext, subject: string): string[] {
  return [
    `login-failures:name:${subject.toLowerCase()}`,
    `login-failures:address:${context.connection.clientAddress}`,
  ];
}

/** Refuses with 101 and the wait in `detail` while either key has used up its failures; unknown names alike. */
async function assertWithinLimits(context: CallContext, keys: readonly string[]): Promise<void> {
  const { store, config } = context.services;
  const decisions = await Promise.all(keys.map((key) => store.limits.peek(key, config.loginLimit.attempts)));
  const blocked = decisions.filter((decision) => !decision.allowed);
  if (blocked.length === 0) return;
  const retryAfter = Math.max(...blocked.map((decision) => decision.retryAfterSeconds));
  throw new OmsError('OperationFailed', `Too many failed login attempts; retry after ${retryAfter} seconds`);
}

async function recordFailure(context: CallContext, keys: readonly string[], userId?: number): Promise<void> {
  const { store, config, logger } = context.services;
  await Promise.all(
    keys.map((key) => store.limits.hit(key, config.loginLimit.attempts, config.loginLimit.windowSeconds)),
  );
  // neither the name tried nor the password: a password typed into the name field would land in the log
  logger.warn(
    { conn: context.connection.id, address: context.connection.clientAddress, userId },
    'login failed',
  );
}

/** Starts a session, binds it to this connection and clears the name's failures (not the address's). */
async function succeed(
  context: CallContext,
  user: UserRecord,
  nameKey: string | undefined,
): Promise<LoginResult> {
  const { store, config, logger } = context.services;
  if (nameKey !== undefined) await store.limits.reset(nameKey);
  const sessionToken = await startSession(
    store,
    user.userId,
    config.sessionTtlSeconds,
    config.maxSessionsPerUser,
  );
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
  const keys = limitKeys(context, userName);
  await assertWithinLimits(context, keys);
  const user = await store.users.findByName(userName);
  const valid = user?.passwordHash
    ? await hasher.verify(user.passwordHash, password)
    : await hasher.verifyNothing(password);
  if (!user || !valid) {
    await recordFailure(context, keys, user?.userId);
    return { ok: false, locked: false, errormsg: INVALID_LOGIN };
  }
  if (user.locked) return { ok: false, locked: true, errormsg: LOCKED_LOGIN };
  return succeed(context, user, keys[0]);
}

/** The hex HMAC-SHA256, keyed with the API secret, over `Nonce + UserId + APIKey` (the OMS's API-key login). */
export function signApiLogin(secret: string, nonce: string, userId: number, apiKey: string): string {
  return createHmac('sha256', secret).update(`${nonce}${userId}${apiKey}`, 'utf8').digest('hex');
}

function sameHex(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
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
 */
export async function loginWithApiKey(context: CallContext, login: ApiLogin): Promise<LoginResult> {
  const { store } = context.services;
  const keys = limitKeys(context, `api:${login.userId}`);
  await assertWithinLimits(context, keys);
  const key = await store.apiKeys.get(login.userId, login.apiKey);
  // an unknown key is checked against a throwaway secret, so both refusals cost the same
  const expected = signApiLogin(key?.secret ?? 'no such key', login.nonce, login.userId, login.apiKey);
  const valid =
    key !== null &&
    sameHex(expected, login.signature) &&
    (await store.apiKeys.useNonce(login.userId, login.apiKey, Number(login.nonce)));
  const user = valid ? await store.users.get(login.userId) : null;
  if (!user) {
    await recordFailure(context, keys, key ? login.userId : undefined);
    return { ok: false, locked: false, errormsg: INVALID_API_LOGIN };
  }
  if (user.locked) return { ok: false, locked: true, errormsg: LOCKED_LOGIN };
  return succeed(context, user, keys[0]);
}
