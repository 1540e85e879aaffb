// The Redis a test file's store suites run on in each topology: the run's single node, a 3-primary cluster and a
// Sentinel setup (a primary, a replica, three Sentinels). Each is the run's shared one when the global setup exported it
// (TEST_REDIS_CLUSTER_NODES, TEST_REDIS_SENTINELS), else one this file starts in beforeAll and stops in afterAll.
// The suites connect through the gateway's own connection code (connectRedis with the topology), as a gateway does.
import { Redis } from 'ioredis';
import type { RedisTopology } from '../../gateway/config';
import { singleNode } from '../../gateway/stores/redis/connection';
import type { RedisOptions } from '../../gateway/stores/redis/connection';
import { testRedisUrl } from './gateway';
import { parseAddresses, startRedisCluster, startRedisSentinel } from './redis-topology';
import type { HostPort } from './redis-topology';

/** Starting the nodes and joining them takes a few seconds; on a loaded machine, longer. */
export const TOPOLOGY_START_MS = 120_000;

export interface TestTopology {
  /** The gateway's Redis options for this topology, with `prefix` as the key prefix. */
  options(prefix: string): RedisOptions;
  /**
   * Admin connections (no key prefix) to the nodes that hold data: the cluster's primaries, or the Sentinels'
   * current primary. Closed after the file's last test.
   */
  dataNodes(): Promise<Redis[]>;
}

function useTopology(
  start: () => Promise<{ topology: RedisTopology; stop: () => Promise<void> }>,
  shared: () => RedisTopology | null,
  dataNodes: (topology: RedisTopology, admin: (node: HostPort) => Redis) => Promise<Redis[]>,
): TestTopology {
  let topology: RedisTopology | null = null;
  let stop: (() => Promise<void>) | null = null;
  const admins: Redis[] = [];
  const admin = (node: HostPort): Redis => {
    const client = new Redis({ host: node.host, port: node.port, lazyConnect: false });
    admins.push(client);
    return client;
  };
  beforeAll(async () => {
    topology = shared();
    if (topology) return;
    const started = await start();
    topology = started.topology;
    stop = () => started.stop();
  }, TOPOLOGY_START_MS);
  afterAll(async () => {
    for (const client of admins.splice(0)) client.disconnect();
    await stop?.();
  });
  const current = (): RedisTopology => {
    if (!topology) throw new Error('the test topology is only there inside tests and hooks');
    return topology;
  };
  return {
    options: (prefix) => ({ topology: current(), prefix, commandTimeoutMs: 2000 }),
    dataNodes: () => dataNodes(current(), admin),
  };
}

/** The run's single node (TEST_REDIS_URL), for suites that run on each topology. */
export function useTestSingleNode(): TestTopology {
  return useTopology(
    () => Promise.reject(new Error('the global setup starts the single node')),
    () => singleNode(testRedisUrl()),
    (_topology, admin) => {
      const url = new URL(testRedisUrl());
      return Promise.resolve([admin({ host: url.hostname, port: Number(url.port) })]);
    },
  );
}

/** A 3-primary cluster for the enclosing file. */
export function useTestCluster(): TestTopology {
  return useTopology(
    async () => {
      const cluster = await startRedisCluster();
      await cluster.waitHealthy();
      return { topology: { kind: 'cluster', nodes: cluster.startupNodes }, stop: () => cluster.stop() };
    },
    () => {
      const nodes = process.env.TEST_REDIS_CLUSTER_NODES;
      return nodes ? { kind: 'cluster', nodes: parseAddresses(nodes) } : null;
    },
    async (topology, admin) => {
      if (topology.kind !== 'cluster') throw new Error('not a cluster');
      // CLUSTER SLOTS: [start, end, [host, port, id], …replicas] per range; the first address serves it
      const any = admin(topology.nodes[0]!);
      const ranges = (await any.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
      const primaries = new Set(ranges.map(([, , [, port]]) => port));
      return [...primaries].map((port) => admin({ host: '127.0.0.1', port }));
    },
  );
}

/** A Sentinel setup (one primary, one replica, three Sentinels) for the enclosing file. */
export function useTestSentinel(): TestTopology {
  return useTopology(
    async () => {
      const setup = await startRedisSentinel();
      return {
        topology: {
          kind: 'sentinel',
          sentinels: setup.sentinelAddresses,
          name: setup.name,
          sentinelPassword: null,
        },
        stop: () => setup.stop(),
      };
    },
    () => {
      const sentinels = process.env.TEST_REDIS_SENTINELS;
      const name = process.env.TEST_REDIS_SENTINEL_NAME;
      return sentinels && name
        ? { kind: 'sentinel', sentinels: parseAddresses(sentinels), name, sentinelPassword: null }
        : null;
    },
    async (topology, admin) => {
      if (topology.kind !== 'sentinel') throw new Error('not a Sentinel setup');
      const sentinel = admin(topology.sentinels[0]!);
      const [host, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', topology.name)) as [
        string,
        string,
      ];
      return [admin({ host, port: Number(port) })];
    },
  );
}

/** Each topology, with its describe's name, for suites that run on all of them. */
export const EACH_TOPOLOGY = [
  ['on one node', useTestSingleNode],
  ['on a 3-primary cluster', useTestCluster],
  ['on Sentinels', useTestSentinel],
] as const;
