// Session revocations after a Redis failover: once the primary that carries the sharded revocation channel (a
// cluster's shard of its slot, or the Sentinels' primary) is SIGKILLed and its replica promoted, both gateways'
// subscribers are subscribed again on the promoted node, and a LogOut on gateway A still de-authenticates the
// session's socket on gateway B through the revocation message. SESSION_RECHECK_MS is a minute here: B's socket
// reuses its last session check, so only the pushed revocation can end its session within the test.
import { uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { closedAfterAll, closedAfterEach } from '../support/lifecycle';
import { pollUntil } from '../support/poll-until';
import { startRedisCluster, startRedisSentinel } from '../support/redis-topology';
import type { HostPort, RedisCluster, RedisSentinelSetup } from '../support/redis-topology';
import { passwordOf, startResetGateway } from '../support/reset';
import { openClient } from '../support/ws-client';
import type { TestClient } from '../support/ws-client';
import { revocationChannel } from '../../gateway/stores/redis/keys';
import type { Env } from '../../gateway/config';

/** cluster-node-timeout and Sentinel's down-after-milliseconds: how long a silent primary takes to be failed */
const NODE_TIMEOUT_MS = 1000;
/**
 * Failure detection, election and promotion, and the clients seeing the new primary: a bound that only keeps a
 * broken recovery from hanging the test on a loaded two-core machine (bench/failover.ts measures the real figure).
 */
const RECOVERY_BOUND_MS = 20 * NODE_TIMEOUT_MS;
/** A pushed revocation arrives in milliseconds; far below SESSION_RECHECK_MS, so a recheck cannot stand in for it. */
const DELIVERY_BOUND_MS = 10_000;
const SESSION_RECHECK_MS = 60_000;
const SETUP_MS = 90_000;
const TEST_MS = 60_000;

let cluster: RedisCluster;
let sentinel: RedisSentinelSetup;

beforeAll(async () => {
  // started together: each mostly waits on its nodes
  [cluster, sentinel] = await Promise.all([
    startRedisCluster({ replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS }).then(
      (c) => (closedAfterAll({ close: () => c.stop() }), c),
    ),
    startRedisSentinel({ downAfterMs: NODE_TIMEOUT_MS, failoverTimeoutMs: 5000 }).then(
      (s) => (closedAfterAll({ close: () => s.stop() }), s),
    ),
  ]);
}, SETUP_MS);

/** Two reset gateways (RESET_USERS) on `topology` with one fresh prefix, both subscribed; closed after the test. */
async function twoGateways(topology: Env): Promise<{ a: TestGateway; b: TestGateway; channel: string }> {
  const prefix = uniquePrefix();
  const env: Env = { ...topology, REDIS_PREFIX: prefix, SESSION_RECHECK_MS: String(SESSION_RECHECK_MS) };
  const start = async (): Promise<TestGateway> =>
    closedAfterEach(await startResetGateway(env, {}, { redis: false }));
  // one after the other: the second's seeding finds the first's users present
  const a = await start();
  const b = await start();
  await Promise.all([a, b].map((gw) => gw.gateway.services.store.sessions.whenListening()));
  return { a, b, channel: revocationChannel(prefix) };
}

/** PUBSUB SHARDNUMSUB of `channel` on one node: the connections subscribed to it there. */
async function subscribersOn(
  admin: { call(command: string, ...args: string[]): Promise<unknown> },
  channel: string,
): Promise<number> {
  const [, count] = (await admin.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
  return Number(count);
}

async function readyzStatus(gw: TestGateway): Promise<number> {
  return (await fetch(`${gw.httpUrl}/readyz`)).status;
}

async function bothReady(a: TestGateway, b: TestGateway): Promise<void> {
  await pollUntil(
    async () => (await readyzStatus(a)) === 200 && (await readyzStatus(b)) === 200,
    RECOVERY_BOUND_MS,
    50,
    "both gateways' /readyz 200",
  );
}

/** Rejects, naming `what`, when `promise` has not settled within `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not come within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Logs `userName` in on B, resumes that session on A and logs out there; B must de-authenticate its socket on
 * the revocation message (the only place that logs the line) and then refuse the socket's calls.
 */
async function expectLogOutOnAEndsSessionOnB(
  a: TestGateway,
  b: TestGateway,
  userName: string,
): Promise<void> {
  const onB: TestClient = closedAfterEach(await openClient(b.wsUrl));
  const login = (await onB.call('AuthenticateUser', {
    UserName: userName,
    Password: passwordOf(userName),
  })) as {
    Authenticated: boolean;
    SessionToken: string;
    User: { UserId: number };
  };
  expect(login.Authenticated).toBe(true);
  const onA = closedAfterEach(await openClient(a.wsUrl));
  expect(await onA.call('WebAuthenticateUser', { SessionToken: login.SessionToken })).toMatchObject({
    Authenticated: true,
  });

  const deauthenticated = b.logs.waitFor(
    (line) =>
      line.msg === 'session revoked: connection de-authenticated' && line.userId === login.User.UserId,
  );
  expect(await onA.call('LogOut', {})).toMatchObject({ result: true });
  await within(DELIVERY_BOUND_MS, `gateway B's de-authentication of ${userName}'s socket`, deauthenticated);
  expect(await onB.call('GetUserInfo', {})).toMatchObject({ errorcode: 20, detail: 'Not logged in' });
}

/** Waits until both gateways' subscribers are subscribed to `channel` on `node` (the promoted one). */
async function bothSubscribedOn(
  admin: { call(command: string, ...args: string[]): Promise<unknown> },
  node: HostPort,
  channel: string,
): Promise<void> {
  await pollUntil(
    async () => (await subscribersOn(admin, channel).catch(() => 0)) === 2,
    RECOVERY_BOUND_MS,
    50,
    `both gateways subscribed to the revocation channel again on ${node.host}:${node.port}`,
  );
}

describe('session revocations after the Redis primary that carries them is SIGKILLed', () => {
  it(
    "on a 3 + 3 cluster: both gateways subscribe again on the promoted replica of the channel's shard, and a LogOut on A ends the session on B",
    async () => {
      const { a, b, channel } = await twoGateways({ REDIS_CLUSTER_NODES: cluster.nodesEnv });
      const slot = await cluster.keySlot(channel);
      const victim = await cluster.primaryForSlot(slot);
      const replica = (await cluster.replicaOf(victim))!;
      expect(replica).toBeDefined();
      // the subscriptions are on the shard's primary before the kill, and revocations reach B
      expect(await subscribersOn(cluster.admin(victim), channel)).toBe(2);
      await expectLogOutOnAEndsSessionOnB(a, b, 'alice');

      await victim.kill('SIGKILL');
      await cluster.waitHealthy(RECOVERY_BOUND_MS);
      expect((await cluster.primaryForSlot(slot)).port).toBe(replica.port);
      await bothReady(a, b);
      await bothSubscribedOn(cluster.admin(replica), replica, channel);

      await expectLogOutOnAEndsSessionOnB(a, b, 'bob');
    },
    TEST_MS,
  );

  it(
    'on Sentinel: both gateways subscribe again on the replica the Sentinels promote, and a LogOut on A ends the session on B',
    async () => {
      const { a, b, channel } = await twoGateways({
        REDIS_SENTINELS: sentinel.sentinelsEnv,
        REDIS_SENTINEL_NAME: sentinel.name,
      });
      const watch = closedAfterEach(await sentinel.watchSwitchMaster());
      expect(await subscribersOn(sentinel.admin(sentinel.primary), channel)).toBe(2);
      await expectLogOutOnAEndsSessionOnB(a, b, 'alice');

      await sentinel.primary.kill('SIGKILL');
      expect(await within(RECOVERY_BOUND_MS, '+switch-master', watch.next)).toEqual({
        host: sentinel.replica.host,
        port: sentinel.replica.port,
      });
      await bothReady(a, b);
      await bothSubscribedOn(sentinel.admin(sentinel.replica), sentinel.replica, channel);

      await expectLogOutOnAEndsSessionOnB(a, b, 'bob');
    },
    TEST_MS,
  );
});
