// A 3-primary Redis Cluster for a test file's store suites: the run's shared one (the global setup exports
// TEST_REDIS_CLUSTER_NODES), else one this file starts in beforeAll and stops in afterAll. The store's
// connections to it are ioredis Cluster clients with the options connectRedis gives a single node.
import { Cluster } from 'ioredis';
import { parseAddresses, startRedisCluster } from './redis-topology';
import type { HostPort, RedisCluster } from './redis-topology';

/** Starting three nodes and joining them takes a few seconds; on a loaded machine, longer. */
export const CLUSTER_START_MS = 120_000;

export interface TestCluster {
  /** the startup nodes (only valid inside tests and hooks) */
  nodes(): readonly HostPort[];
  /** the harness's cluster when this file started it (null when it uses the run's shared one) */
  own(): RedisCluster | null;
  /** A command connection with `prefix` as its key prefix, closed by the store that gets it (or afterAll). */
  connect(prefix: string): Cluster;
  /** A subscriber connection for the revocations' sharded channel (SSUBSCRIBE on the channel's shard). */
  subscriber(): Cluster;
}

export function useTestCluster(): TestCluster {
  let started: RedisCluster | null = null;
  let nodes: readonly HostPort[] = [];
  const opened: Cluster[] = [];
  beforeAll(async () => {
    const shared = process.env.TEST_REDIS_CLUSTER_NODES;
    if (shared) {
      nodes = parseAddresses(shared);
      return;
    }
    started = await startRedisCluster();
    await started.waitHealthy();
    nodes = started.startupNodes;
  }, CLUSTER_START_MS);
  afterAll(async () => {
    for (const client of opened) client.disconnect();
    await started?.stop();
  });
  const open = (options: ConstructorParameters<typeof Cluster>[1]): Cluster => {
    const client = new Cluster([...nodes], options);
    client.on('error', () => undefined); // a closed test's connection: its commands say so
    opened.push(client);
    return client;
  };
  return {
    nodes: () => nodes,
    own: () => started,
    connect: (prefix) =>
      open({
        keyPrefix: prefix,
        enableAutoPipelining: true,
        redisOptions: { commandTimeout: 2000, connectTimeout: 2000, maxRetriesPerRequest: 1 },
      }),
    subscriber: () => open({ shardedSubscribers: true }),
  };
}
