// Jest global teardown: stops the redis-server and any shared topologies the setup spawned.
export default async function globalTeardown(): Promise<void> {
  await globalThis.__omsRedisServer?.stop();
  await globalThis.__omsStopTopologies?.();
}
