// Reset-flow fixtures: a gateway with known users, logins, and the mail the dev outbox or the SendGrid sink got.
import { startGateway, testRedisUrl, uniquePrefix } from './gateway';
import type { TestGateway } from './gateway';
import { openedForEach } from './lifecycle';
import type { Current } from './lifecycle';
import { openClient } from './ws-client';
import type { TestClient } from './ws-client';
import { seedUsers } from '../../gateway/stores/seed-users';
import type { SeedUser } from '../../gateway/stores/seed-users';
import type { Env } from '../../gateway/config';
import type { GatewayDeps } from '../../gateway/create-gateway';
import type { AuditEvent, ResetStore } from '../../core/ports/reset-store';
import type { HandlerHarness } from './handler-harness';

/** Cheap argon2id for tests that are not about hashing (the parameters are still passed explicitly). */
export const ARGON2_TEST_ENV = { ARGON2_MEMORY_KIB: '1024', ARGON2_ITERATIONS: '1' } as const;

/** Operator; two Trading users of account 1; one Trading user of account 2; a read-only user of account 1; a locked user. */
export const RESET_USERS: readonly SeedUser[] = [
  { UserName: 'op', Email: 'op@test.invalid', Password: 'op-password-1', Permissions: ['Operator'] },
  {
    UserName: 'alice',
    Email: 'alice@test.invalid',
    Password: 'alice-password-1',
    Permissions: ['Trading'],
    AccountIds: [1],
  },
  {
    UserName: 'bob',
    Email: 'bob@test.invalid',
    Password: 'bob-password-1',
    Permissions: ['Trading'],
    AccountIds: [1],
  },
  {
    UserName: 'carol',
    Email: 'carol@test.invalid',
    Password: 'carol-password-1',
    Permissions: ['Trading'],
    AccountIds: [2],
  },
  {
    UserName: 'viewer',
    Email: 'viewer@test.invalid',
    Password: 'viewer-password-1',
    Permissions: ['AccountReadOnly'],
    AccountIds: [1],
  },
  {
    UserName: 'locked',
    Email: 'locked@test.invalid',
    Password: 'locked-password-1',
    Permissions: ['Trading'],
    AccountIds: [1],
    Locked: true,
  },
];

export function passwordOf(userName: string): string {
  const user = RESET_USERS.find((candidate) => candidate.UserName === userName);
  if (!user?.Password) throw new Error(`no test user ${userName}`);
  return user.Password;
}

/** A gateway with RESET_USERS loaded; on Redis (a fresh key prefix) unless `redis: false`. */
export async function startResetGateway(
  env: Env = {},
  deps: GatewayDeps = {},
  options: { redis?: boolean } = {},
): Promise<TestGateway> {
  const redisEnv = options.redis === false ? {} : { REDIS_URL: testRedisUrl(), REDIS_PREFIX: uniquePrefix() };
  const gw = await startGateway({ ...ARGON2_TEST_ENV, ...redisEnv, ...env }, deps);
  await seedUsers(gw.gateway.services.store, gw.gateway.services.hasher, RESET_USERS, gw.logs.logger);
  return gw;
}

/** A reset gateway (startResetGateway) for each test of the enclosing describe, closed after it. */
export function useResetGateway(
  env: Env = {},
  deps: GatewayDeps = {},
  options: { redis?: boolean } = {},
): Current<TestGateway> {
  return openedForEach(() => startResetGateway(env, deps, options), 'the reset gateway');
}

/** A socket logged in as `userName` (AuthenticateUser); throws if the login fails. */
export async function clientAs(gw: TestGateway, userName: string): Promise<TestClient> {
  const client = await openClient(gw.wsUrl);
  const reply = (await client.call('AuthenticateUser', {
    UserName: userName,
    Password: passwordOf(userName),
  })) as {
    Authenticated: boolean;
  };
  if (!reply.Authenticated) throw new Error(`login as ${userName} failed`);
  return client;
}

export interface ResetLink {
  readonly link: string;
  readonly userId: string;
  readonly pendingCode: string;
}

/** Reads UserId and PendingCode from a link's fragment, as the page does. */
export function parseResetLink(link: string): ResetLink {
  const fragment = new URLSearchParams(new URL(link).hash.slice(1));
  const userId = fragment.get('UserId');
  const pendingCode = fragment.get('PendingCode');
  if (!userId || !pendingCode) throw new Error('link without UserId and PendingCode');
  return { link, userId, pendingCode };
}

const returnedLinks = new WeakMap<TestGateway, Map<string, number>>();

/**
 * The next reset mail the dev outbox logs for `to` (event-driven: waits for the log line), with its link.
 * Mails already returned for this gateway and address are skipped.
 */
export async function nextOutboxLink(gw: TestGateway, to: string): Promise<ResetLink> {
  const returned = returnedLinks.get(gw) ?? new Map<string, number>();
  returnedLinks.set(gw, returned);
  const skip = returned.get(to) ?? 0;
  let seen = 0;
  // waitFor offers each line once, in order (past lines first), so counting here is safe
  const entry = await gw.logs.waitFor(
    (line) => line.mail === 'reset' && line.to === to && typeof line.link === 'string' && seen++ === skip,
  );
  returned.set(to, skip + 1);
  return parseResetLink(entry.link as string);
}

/**
 * The link of the last reset mail to `to` among those the harness delivers now (each mail is delivered once);
 * throws when there is none.
 */
export async function deliveredLink(harness: HandlerHarness, to: string): Promise<ResetLink> {
  const mail = (await harness.deliverMails()).filter((m) => m.kind === 'reset' && m.to === to).at(-1);
  if (!mail?.link) throw new Error(`no reset mail to ${to}`);
  return parseResetLink(mail.link);
}

/** Calls ResetPassword2 with a link's UserId and its code (or another code), as the reset page does. */
export function submitLink(
  socket: Pick<TestClient, 'call'>,
  link: Pick<ResetLink, 'userId' | 'pendingCode'>,
  password: string,
  code: string = link.pendingCode,
): Promise<unknown> {
  return socket.call('ResetPassword2', { UserId: link.userId, Password: password, PendingCode: code });
}

/**
 * `count` ResetPassword2 calls with one link's code, all in flight at once: sent round robin over `sockets`
 * before any reply is read (a new password each), and their standard responses once all have answered.
 */
export async function raceOneCode(
  sockets: readonly TestClient[],
  link: ResetLink,
  password: string,
  count: number,
): Promise<{ result: boolean; errorcode: number }[]> {
  const sentTo = sockets.map(() => 0);
  for (let n = 0; n < count; n++) {
    const payload = { UserId: link.userId, Password: `${password} ${n}`, PendingCode: link.pendingCode };
    sockets[n % sockets.length]!.send({ m: 0, i: 1000 + n, n: 'ResetPassword2', o: JSON.stringify(payload) });
    sentTo[n % sockets.length]! += 1;
  }
  const replies = await Promise.all(
    sockets.map((socket, i) => Promise.all(Array.from({ length: sentTo[i]! }, () => socket.next()))),
  );
  return replies.flat().map((frame) => JSON.parse(frame.o) as { result: boolean; errorcode: number });
}

/** Whether AuthenticateUser accepts `password` for `userName`, asked on a socket of its own (closed after). */
export async function loginWorks(gw: TestGateway, userName: string, password: string): Promise<boolean> {
  const socket = await openClient(gw.wsUrl);
  try {
    const reply = (await socket.call('AuthenticateUser', { UserName: userName, Password: password })) as {
      Authenticated: boolean;
    };
    return reply.Authenticated;
  } finally {
    await socket.close();
  }
}

/**
 * What a gateway's reset store audited, newest first: its successes and the first refusal of each caller
 * and window (the store aggregates the rest of a window's refusals into a count).
 */
export async function auditTrail(
  from: TestGateway | { readonly services: { readonly resets: ResetStore } },
  count: number,
): Promise<AuditEvent[]> {
  const { resets } = 'gateway' in from ? from.gateway.services : from.services;
  const [ok, refused] = await Promise.all([resets.recentAudit(count), resets.recentRefusals(count)]);
  return [...ok, ...refused.map((record) => record.first)].sort((a, b) => b.at - a.at).slice(0, count);
}
