// Jest global setup: one real redis-server for the run (or the one REDIS_URL names), shared as TEST_REDIS_URL, and
// one 3-primary cluster and one Sentinel setup, shared as TEST_REDIS_CLUSTER_NODES and TEST_REDIS_SENTINELS, so the
// store suites' runs on them start none of their own (tests/support/redis-test-topologies.ts).
// TEST_REDIS_TOPOLOGIES picks which (cluster, sentinel; '' for none). Tests that kill nodes start their own.
import { startRedisServer } from '../../testing/redis-server';
import type { RedisServer } from '../../testing/redis-server';
import { startSharedTopologies } from './redis-topology';

declare global {
  var __omsRedisServer: RedisServer | undefined;
  var __omsStopTopologies: (() => Promise<void>) | undefined;
}

export default async function globalSetup(): Promise<void> {
  globalThis.__omsStopTopologies = await startSharedTopologies(
    process.env.TEST_REDIS_TOPOLOGIES ?? 'cluster,sentinel',
  );
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const server = await startRedisServer();
  globalThis.__omsRedisServer = server;
  process.env.TEST_REDIS_URL = server.url;
}
