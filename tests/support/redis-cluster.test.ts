// The harness's Redis Cluster: three primaries that really split the slots, and a 3 + 3 cluster whose replica
// takes over when its primary is SIGKILLed, with an ioredis Cluster client recovering by itself.
import { Cluster } from 'ioredis';
import { pollUntil } from './poll-until';
import { startRedisCluster } from './redis-topology';
import type { RedisCluster } from './redis-topology';

const START_MS = 120_000;

describe('a 3-primary Redis Cluster from the harness', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster([...cluster.startupNodes]);
  }, START_MS);
  afterAll(async () => {
    await client?.quit();
    await cluster?.stop();
  });

  it('runs three primaries, each answering and serving a third of the slots', async () => {
    const primaries = await cluster.primaries();
    expect(primaries.map((node) => node.port).sort()).toEqual(cluster.nodes.map((node) => node.port).sort());
    for (const node of cluster.nodes) {
      expect(await cluster.admin(node).ping()).toBe('PONG');
    }
    const view = await cluster.view();
    expect(view.filter((entry) => entry.role === 'primary')).toHaveLength(3);
    expect(cluster.nodesEnv).toBe(cluster.startupNodes.map(({ host, port }) => `${host}:${port}`).join(','));
  });

  it('stores a key set through a Cluster client on the node that owns its slot, and different tags on more than one node', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `harness:{user-${i}}:record`);
    await Promise.all(keys.map((key, i) => client.set(key, `value-${i}`)));
    const owners = new Set<number>();
    for (const [i, key] of keys.entries()) {
      const owner = await cluster.primaryForSlot(await cluster.keySlot(key));
      owners.add(owner.port);
      // read straight from the owner, without the cluster client: the value is there
      expect(await cluster.admin(owner).get(key)).toBe(`value-${i}`);
      // and any other primary redirects instead of answering
      const other = cluster.nodes.find((node) => node.port !== owner.port)!;
      await expect(cluster.admin(other).get(key)).rejects.toThrow(/^MOVED /);
    }
    expect(owners.size).toBeGreaterThan(1);
  });

  it('keeps keys of one hash tag in one slot, so a script may touch them together', async () => {
    const [a, b] = ['harness:{user-7}:record', 'harness:{user-7}:sessions'];
    expect(await cluster.keySlot(a)).toBe(await cluster.keySlot(b));
    const reply = await client.eval(
      "redis.call('SET', KEYS[1], 'x'); redis.call('SET', KEYS[2], 'y'); return redis.call('GET', KEYS[1])",
      2,
      a,
      b,
    );
    expect(reply).toBe('x');
    await expect(
      client.eval("return redis.call('GET', KEYS[2])", 2, 'harness:{user-1}:a', 'harness:{user-2}:a'),
    ).rejects.toThrow(/CROSSSLOT|different slots|MOVED/);
  });
});

describe('a 3 + 3 Redis Cluster from the harness', () => {
  let cluster: RedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1 });
    // bounded commands, as the gateway's: a command to the dead primary fails instead of hanging
    client = new Cluster([...cluster.startupNodes], { redisOptions: { commandTimeout: 2000 } });
  }, START_MS);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('gives every primary a replica whose link is up', async () => {
    const primaries = await cluster.primaries();
    expect(primaries).toHaveLength(3);
    const replicas = await Promise.all(primaries.map((primary) => cluster.replicaOf(primary)));
    expect(new Set(replicas.map((replica) => replica?.port)).size).toBe(3);
    for (const replica of replicas) {
      const info = await cluster.admin(replica!).info('replication');
      expect(info).toContain('master_link_status:up');
    }
  });

  it(
    'promotes the replica of a SIGKILLed primary, and the Cluster client works again by itself',
    async () => {
      const key = 'harness:{failover}:value';
      await client.set(key, 'before');
      const slot = await cluster.keySlot(key);
      const primary = await cluster.primaryForSlot(slot);
      const replica = (await cluster.replicaOf(primary))!;
      // the write has reached the replica before the primary dies (replication is asynchronous)
      expect(await cluster.admin(primary).call('WAIT', '1', '5000')).toBe(1);

      await primary.kill('SIGKILL');
      await cluster.waitHealthy(60_000);
      expect((await cluster.primaryForSlot(slot)).port).toBe(replica.port);
      expect((await cluster.primaries()).map((node) => node.port)).toContain(replica.port);

      // the same client object, never told about the failover, reads and writes again
      await pollUntil(
        async () => (await client.get(key).catch(() => null)) === 'before',
        30_000,
        100,
        'the cluster client reading the promoted replica',
      );
      await client.set(key, 'after');
      expect(await cluster.admin(replica).get(key)).toBe('after');
    },
    START_MS,
  );
});
