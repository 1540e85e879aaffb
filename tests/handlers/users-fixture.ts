// A gateway with a known set of users (fast argon2 parameters), and logins over real sockets, for the user calls' tests.
import { seedUsers } from '../../gateway/stores/seed-users';
import type { SeedUser } from '../../gateway/stores/seed-users';
import type { Env } from '../../gateway/config';
import type { GatewayDeps } from '../../gateway/create-gateway';
import type { UserRecord } from '../../core/ports/store';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { openedForEach } from '../support/lifecycle';
import type { Current } from '../support/lifecycle';
import { openClient } from '../support/ws-client';
import type { TestClient } from '../support/ws-client';

/** argon2id at its cheapest: the tests are about the calls, not the hash (the hasher's own test uses the defaults). */
export const FAST_ARGON2: Env = { ARGON2_MEMORY_KIB: '64', ARGON2_ITERATIONS: '1' };

/** Operator; Trading and AccountReadOnly users of account 1; a Trading user of account 2; no-permission; locked. */
export const TEST_USERS: readonly SeedUser[] = [
  {
    UserName: 'operator',
    Email: 'operator@example.com',
    Password: 'pw-operator',
    Permissions: ['Operator'],
    AccountIds: [9],
  },
  {
    UserName: 'trader1',
    Email: 'trader1@example.com',
    Password: 'pw-trader1',
    Permissions: ['Trading'],
    AccountIds: [1],
  },
  {
    UserName: 'trader2',
    Email: 'trader2@example.com',
    Password: 'pw-trader2',
    Permissions: ['Trading'],
    AccountIds: [1, 3],
  },
  {
    UserName: 'trader3',
    Email: 'trader3@example.com',
    Password: 'pw-trader3',
    Permissions: ['Trading'],
    AccountIds: [2],
  },
  {
    UserName: 'viewer1',
    Email: 'viewer1@example.com',
    Password: 'pw-viewer1',
    Permissions: ['AccountReadOnly'],
    AccountIds: [1],
  },
  { UserName: 'plain', Email: 'plain@example.com', Password: 'pw-plain', AccountIds: [1] },
  {
    UserName: 'locked',
    Email: 'locked@example.com',
    Password: 'pw-locked',
    Permissions: ['Trading'],
    AccountIds: [1],
    Locked: true,
  },
];

export interface UserGateway extends TestGateway {
  /** The seeded users by name. */
  readonly users: Readonly<Record<string, UserRecord>>;
  /** Opens a socket and logs in as `userName` (password `pw-<name>`). */
  login(userName: string): Promise<{ client: TestClient; sessionToken: string }>;
}

export async function startUserGateway(env: Env = {}, deps: GatewayDeps = {}): Promise<UserGateway> {
  const test = await startGateway({ ...FAST_ARGON2, ...env }, deps);
  const { store, hasher } = test.gateway.services;
  await seedUsers(store, hasher, TEST_USERS, test.logs.logger);
  const users: Record<string, UserRecord> = {};
  for (const user of await store.users.list()) users[user.userName] = user;
  const opened: TestClient[] = [];
  return {
    ...test,
    users,
    async login(userName) {
      const client = await openClient(test.wsUrl);
      opened.push(client);
      const reply = (await client.call('AuthenticateUser', {
        UserName: userName,
        Password: `pw-${userName}`,
      })) as {
        Authenticated: boolean;
        SessionToken: string;
      };
      if (!reply.Authenticated) throw new Error(`login as ${userName} failed: ${JSON.stringify(reply)}`);
      return { client, sessionToken: reply.SessionToken };
    },
    async close() {
      await Promise.all(opened.map((client) => client.close()));
      await test.close();
    },
  };
}

/** A user gateway for each test of the enclosing describe, closed after it (tests/support/lifecycle.ts). */
export function useUserGateway(env: Env = {}, deps: GatewayDeps = {}): Current<UserGateway> {
  return openedForEach(() => startUserGateway(env, deps), 'the user gateway');
}

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
