// The gateway and its CLI on a Redis Cluster as an ACL user that may run only GATEWAY_ACL_COMMANDS on its own prefix
// (REDIS_USERNAME, REDIS_PASSWORD on every node): the reset flow, /readyz, the revocations' sharded channel, the
// replicas' WAIT and the CLI on 3 primaries, and a failover on 3 + 3, run with nothing denied on any node, so the
// minimal ACL holds on a cluster.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { runProgram } from '../support/bundle';
import { startGateway, uniquePrefix } from '../support/gateway';
import { closedAfterAll, closedAfterEach } from '../support/lifecycle';
import { pollUntil } from '../support/poll-until';
import { TOPOLOGY_START_MS } from '../support/redis-test-topologies';
import { gatewayAclRules, startRedisCluster } from '../support/redis-topology';
import type { RedisCluster } from '../support/redis-topology';
import {
  ARGON2_TEST_ENV,
  RESET_USERS,
  clientAs,
  loginWorks,
  nextOutboxLink,
  passwordOf,
  startResetGateway,
  submitLink,
} from '../support/reset';
import { openClient } from '../support/ws-client';
import type { Env } from '../../gateway/config';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const NEW_PASSWORD = 'tangerine submarine orchestra';

describe('a Redis Cluster as an ACL user with only the commands the gateway needs', () => {
  let cluster: RedisCluster;
  const user = {
    name: `gw-${randomBytes(4).toString('hex')}`,
    password: `acl-pw-${randomBytes(12).toString('hex')}`,
    prefix: uniquePrefix(),
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
    closedAfterAll({ close: () => cluster.stop() });
    // ACL users are per node: every node gets the same one, as an operator would set them up
    for (const node of cluster.nodes) {
      await cluster
        .admin(node)
        .call('ACL', 'SETUSER', user.name, ...gatewayAclRules(user.password, user.prefix));
    }
  }, TOPOLOGY_START_MS);

  const aclEnv = (env: Env = {}): Env => ({
    REDIS_CLUSTER_NODES: cluster.nodesEnv,
    REDIS_USERNAME: user.name,
    REDIS_PASSWORD: user.password,
    REDIS_PREFIX: user.prefix,
    ...env,
  });

  /** What any node refused this user (ACL LOG: node, reason, command or key). */
  async function denied(): Promise<string[]> {
    const refusals: string[] = [];
    for (const node of cluster.nodes) {
      const entries = (await cluster.admin(node).call('ACL', 'LOG', '128')) as string[][];
      for (const flat of entries) {
        const entry = Object.fromEntries(
          flat.flatMap((item, i) => (i % 2 === 0 ? [[item, flat[i + 1]]] : [])),
        );
        if (entry.username === user.name)
          refusals.push(`${node.port} ${String(entry.reason)} ${String(entry.object)}`);
      }
    }
    return refusals;
  }

  afterEach(async () => {
    expect(await denied()).toEqual([]);
  });

  it('is really confined on every node: any other command is refused', async () => {
    for (const node of cluster.nodes) {
      const raw = new Redis({
        ...node,
        username: user.name,
        password: user.password,
        maxRetriesPerRequest: 0,
      });
      try {
        await expect(raw.call('FLUSHALL')).rejects.toThrow(/NOPERM/);
      } finally {
        raw.disconnect();
      }
      // the refusal this test asked for: the hook after each test reads ACL LOG for any other
      await cluster.admin(node).call('ACL', 'LOG', 'RESET');
    }
  });

  it('runs /readyz and the whole reset flow (ResetPassword, the mailed link, ResetPassword2, LogOut, login)', async () => {
    const gw = closedAfterEach(await startResetGateway(aclEnv(), {}, { redis: false }));
    await pollUntil(
      async () => (await fetch(`${gw.httpUrl}/readyz`)).status === 200,
      10_000,
      50,
      '/readyz 200',
    );
    await gw.gateway.services.store.sessions.whenListening();
    const op = closedAfterEach(await clientAs(gw, 'op'));
    closedAfterEach(await clientAs(gw, 'alice'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    const link = await nextOutboxLink(gw, 'alice@test.invalid');
    const page = closedAfterEach(await openClient(gw.wsUrl));
    // a wrong code first: the wrong-try counter's script runs too
    expect(await submitLink(page, link, NEW_PASSWORD, 'WRONG-CODE-0000')).toMatchObject({ result: false });
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
    // the reset ended alice's session: the revocation went out on the sharded channel and came back
    await gw.logs.waitFor((entry) => entry.msg === 'session revoked: connection de-authenticated');
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
    expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(false);
    expect(await op.call('LogOut', {})).toMatchObject({ result: true });
    expect(gw.logs.lines.join('\n')).not.toContain(user.password);
  });

  it('sends the replicas’ WAIT under REDIS_WAIT_REPLICAS (102 here: no primary has a replica)', async () => {
    const gw = closedAfterEach(
      await startResetGateway(
        aclEnv({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '100' }),
        {},
        { redis: false },
      ),
    );
    const op = closedAfterEach(await clientAs(gw, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'bob' })).toMatchObject({ errorcode: 102 });
  });

  it('runs the CLI’s user, apikey and token commands', async () => {
    const env = { ...aclEnv(), ARGON2_MEMORY_KIB: '64', ARGON2_ITERATIONS: '1' };
    const cli = async (...args: string[]): Promise<string> => {
      const run = await runProgram('gateway/cli/main.ts', args, env, 'yan-pw-1\n');
      expect(run).toMatchObject({ code: 0 });
      expect(run.stdout + run.stderr).not.toContain(user.password);
      return run.stdout;
    };
    await cli('user', 'add', '--username', 'yan', '--email', 'yan@example.com', '--password-stdin');
    await cli('user', 'grant', 'yan', 'Operator');
    await cli('user', 'lock', 'yan');
    await cli('user', 'unlock', 'yan');
    await cli('user', 'list');
    const key = JSON.parse(await cli('apikey', 'create', 'yan')) as { APIKey: string };
    await cli('apikey', 'revoke', 'yan', key.APIKey);
    await cli('token', 'create', '--name', 'portal');
    await cli('token', 'revoke', '--name', 'portal');

    const gw = closedAfterEach(await startGateway({ ...ARGON2_TEST_ENV, ...env }));
    expect(await loginWorks(gw, 'yan', 'yan-pw-1')).toBe(true);
  });
});

describe('a 3 + 3 Redis Cluster as that ACL user, through a failover', () => {
  let cluster: RedisCluster;
  const user = {
    name: `gw-${randomBytes(4).toString('hex')}`,
    password: `acl-pw-${randomBytes(12).toString('hex')}`,
    prefix: uniquePrefix(),
  };

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1 });
    closedAfterAll({ close: () => cluster.stop() });
    for (const node of cluster.nodes) {
      await cluster
        .admin(node)
        .call('ACL', 'SETUSER', user.name, ...gatewayAclRules(user.password, user.prefix));
    }
  }, TOPOLOGY_START_MS);

  it('waits for the replicas, follows a SIGKILLed primary to its replica and logs every user in, with nothing denied', async () => {
    const gw = closedAfterEach(
      await startResetGateway(
        {
          REDIS_CLUSTER_NODES: cluster.nodesEnv,
          REDIS_USERNAME: user.name,
          REDIS_PASSWORD: user.password,
          REDIS_PREFIX: user.prefix,
          REDIS_WAIT_REPLICAS: '1',
          REDIS_WAIT_TIMEOUT_MS: '1500',
        },
        {},
        { redis: false },
      ),
    );
    const op = closedAfterEach(await clientAs(gw, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);

    const [primary] = await cluster.primaries();
    await primary!.kill('SIGKILL');
    await cluster.waitHealthy(60_000);
    const users = RESET_USERS.filter((seeded) => !seeded.Locked).map((seeded) => seeded.UserName);
    await pollUntil(
      async () => {
        for (const name of users) if (!(await loginWorks(gw, name, passwordOf(name)))) return false;
        return true;
      },
      30_000,
      100,
      'every user logging in after the failover',
    );
    await gw.gateway.services.store.sessions.whenListening();

    const refusals: string[] = [];
    for (const node of cluster.nodes.filter((each) => each.alive())) {
      const entries = (await cluster.admin(node).call('ACL', 'LOG', '128')) as string[][];
      for (const flat of entries) {
        const entry = Object.fromEntries(
          flat.flatMap((item, i) => (i % 2 === 0 ? [[item, flat[i + 1]]] : [])),
        );
        if (entry.username === user.name)
          refusals.push(`${node.port} ${String(entry.reason)} ${String(entry.object)}`);
      }
    }
    expect(refusals).toEqual([]);
  });
});
