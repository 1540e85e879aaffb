// A process that closes its Redis connections can end: the `oms-gateway` command, which never calls
// process.exit, ends by itself after a command on each topology. On Sentinels, ioredis's quit() alone left the
// failover detector's subscriptions open and the process running (closeRedis in gateway/stores/redis/connection.ts).
import type { RedisTopology } from '../../gateway/config';
import { runProgram } from '../support/bundle';
import { uniquePrefix } from '../support/gateway';
import { EACH_TOPOLOGY } from '../support/redis-test-topologies';

/** The topology's variables, as an operator would set them. */
function topologyEnv(topology: RedisTopology): Record<string, string> {
  const list = (nodes: readonly { host: string; port: number }[]): string =>
    nodes.map(({ host, port }) => `${host}:${port}`).join(',');
  if (topology.kind === 'single') return { REDIS_URL: topology.url };
  if (topology.kind === 'cluster') return { REDIS_CLUSTER_NODES: list(topology.nodes) };
  return { REDIS_SENTINELS: list(topology.sentinels), REDIS_SENTINEL_NAME: topology.name };
}

describe.each(EACH_TOPOLOGY)('the oms-gateway command %s', (_where, useTopology) => {
  const topology = useTopology();

  it('adds a user, lists it, and ends by itself', async () => {
    const env = { ...topologyEnv(topology.options('').topology), REDIS_PREFIX: uniquePrefix() };
    const added = await runProgram(
      'gateway/cli/main.ts',
      ['user', 'add', '--username', 'dora', '--email', 'dora@example.com', '--password-stdin'],
      env,
      'dora-password-1\n',
    );
    expect(added).toMatchObject({ code: 0 });
    const listed = await runProgram('gateway/cli/main.ts', ['user', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('dora');
  });
});
