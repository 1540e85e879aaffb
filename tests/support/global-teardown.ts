// Jest global teardown: stops the redis-server the setup spawned.
export default async function globalTeardown(): Promise<void> {
  await globalThis.__omsRedisServer?.stop();
}
