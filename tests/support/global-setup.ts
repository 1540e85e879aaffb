// Jest global setup: one real redis-server for the run (or the one REDIS_URL names), shared as TEST_REDIS_URL.
import { startRedisServer } from './redis-server';
import type { RedisServer } from './redis-server';

declare global {
  var __omsRedisServer: RedisServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) {
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const server = await startRedisServer();
  globalThis.__omsRedisServer = server;
  process.env.TEST_REDIS_URL = server.url;
}
