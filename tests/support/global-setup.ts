// Jest global setup: one real redis-server for the run (or the one REDIS_URL names), shared as TEST_REDIS_URL; and,
// only when TEST_REDIS_TOPOLOGIES asks (cluster, sentinel), those too, shared through TEST_REDIS_CLUSTER_NODES,
// TEST_REDIS_SENTINELS and TEST_REDIS_SENTINEL_NAME (tests/support/redis-topology.ts).
import { startRedisServer } from '../../testing/redis-server';
import type { RedisServer } from '../../testing/redis-server';
import { startSharedTopologies } from './redis-topology';

declare global {
  var __omsRedisServer: RedisServer | undefined;
  var __omsStopTopologies: (() => Promise<void>) | undefined;
}

export default async function globalSetup(): Promise<void> {
  globalThis.__omsStopTopologies = await startSharedTopologies(process.env.TEST_REDIS_TOPOLOGIES);
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const server = await startRedisServer();
  globalThis.__omsRedisServer = server;
  process.env.TEST_REDIS_URL = server.url;
}
