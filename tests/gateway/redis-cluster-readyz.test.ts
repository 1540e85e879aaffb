// /readyz on a Redis Cluster follows the topology: ready while the primary of every slot answers, 503 from the
// moment one primary (here without a replica to take its slots) is SIGKILLed, before the cluster itself flags it.
// Its own cluster, since the test kills a node.
import { setTimeout as delay } from 'node:timers/promises';
import { startGateway, uniquePrefix } from '../support/gateway';
import { closedAfterAll, closedAfterEach } from '../support/lifecycle';
import { pollUntil } from '../support/poll-until';
import { TOPOLOGY_START_MS } from '../support/redis-test-topologies';
import { startRedisCluster } from '../support/redis-topology';
import type { RedisCluster } from '../support/redis-topology';

describe('/readyz on a 3-primary Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    // a node timeout longer than the test: the cluster keeps saying cluster_state:ok, so every 503 below is the
    // gateway's own finding that a slot's primary does not answer
    cluster = await startRedisCluster({ nodeTimeoutMs: 60_000 });
    closedAfterAll({ close: () => cluster.stop() });
  }, TOPOLOGY_START_MS);

  it('answers 200 while every primary answers, and 503 throughout once one primary is killed', async () => {
    const gw = closedAfterEach(
      await startGateway({
        REDIS_CLUSTER_NODES: cluster.nodesEnv,
        REDIS_PREFIX: uniquePrefix(),
        REDIS_COMMAND_TIMEOUT_MS: '300',
      }),
    );
    const readyz = async (): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${gw.httpUrl}/readyz`);
      return { status: response.status, body: await response.json() };
    };
    // ready once the client has the slot map (its first CLUSTER SLOTS) and every slot's primary answered
    await pollUntil(async () => (await readyz()).status === 200, 10_000, 50, '/readyz answering 200');
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', store: 'redis' } });

    const [killed, ...live] = await cluster.primaries();
    await killed!.kill('SIGKILL');
    await pollUntil(
      async () => (await readyz()).status === 503,
      10_000,
      50,
      '/readyz answering 503 after a primary was killed',
    );
    // ioredis drops a dead node's connection and reconnects it at each slot refresh (every second): readings
    // spread over a few refreshes all say 503, not only those taken while the connection is there
    const readings: unknown[] = [];
    for (let reading = 0; reading < 12; reading++) {
      readings.push(await readyz());
      await delay(250);
    }
    expect(new Set(readings.map((reading) => JSON.stringify(reading)))).toEqual(
      new Set([JSON.stringify({ status: 503, body: { status: 'store unreachable', store: 'redis' } })]),
    );
    for (const node of live) {
      expect(await cluster.admin(node).cluster('INFO')).toMatch(/^cluster_state:ok\b/m);
    }
  });
});
