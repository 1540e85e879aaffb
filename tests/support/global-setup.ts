// Jest global setup: one real redis-server for the run (or the one REDIS_URL names), shared as TEST_REDIS_URL, and
// one 3-primary cluster, shared as TEST_REDIS_CLUSTER_NODES, so the store suites' cluster runs start no cluster of
// their own. TEST_REDIS_TOPOLOGIES picks other shared topologies (cluster, sentinel; '' for none): see
// tests/support/redis-topology.ts. Tests that kill nodes start their own.
import { startRedisServer } from '../../testing/redis-server';
import type { RedisServer } from '../../testing/redis-server';
import { startSharedTopologies } from './redis-topology';

declare global {
  var __omsRedisServer: RedisServer | undefined;
  var __omsStopTopologies: (() => Promise<void>) | undefined;
}

export default async function globalSetup(): Promise<void> {
  globalThis.__omsStopTopologies = await startSharedTopologies(
    process.env.TEST_REDIS_TOPOLOGIES ?? 'cluster',
  );
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const server = await startRedisServer();
  globalThis.__omsRedisServer = server;
  process.env.TEST_REDIS_URL = server.url;
}
