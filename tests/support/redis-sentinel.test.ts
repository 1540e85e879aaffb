// The harness's Sentinel setup: one primary, one replica, three sentinels that promote the replica when the primary
// is SIGKILLed, and an ioredis Sentinel client that follows the new primary by itself.
import { Redis } from 'ioredis';
import { pollUntil } from './poll-until';
import { startRedisSentinel } from './redis-topology';
import type { RedisSentinelSetup } from './redis-topology';

const START_MS = 120_000;

describe('a Sentinel setup from the harness', () => {
  let setup: RedisSentinelSetup;
  let client: Redis;

  beforeAll(async () => {
    setup = await startRedisSentinel();
    // bounded commands, as the gateway's: a command to the dead primary fails instead of hanging
    client = new Redis({ sentinels: [...setup.sentinelAddresses], name: setup.name, commandTimeout: 2000 });
    // while the primary is down ioredis reports each failed reconnect; the test waits on the outcome instead
    client.on('error', () => undefined);
  }, START_MS);
  afterAll(async () => {
    client?.disconnect();
    await setup?.stop();
  });

  it('has three sentinels naming the primary, and the replica copying it', async () => {
    expect(await setup.currentPrimary()).toEqual({ host: '127.0.0.1', port: setup.primary.port });
    for (const sentinel of setup.sentinels) {
      expect(await setup.admin(sentinel).call('SENTINEL', 'CKQUORUM', setup.name)).toMatch(/^OK/);
    }
    await client.set('harness:sentinel', 'copied');
    expect(await client.call('WAIT', '1', '5000')).toBe(1);
    expect(await setup.admin(setup.replica).get('harness:sentinel')).toBe('copied');
    expect(setup.sentinelsEnv.split(',')).toHaveLength(3);
  });

  it(
    'promotes the replica when the primary is SIGKILLed, and the Sentinel client follows it',
    async () => {
      await client.set('harness:failover', 'before');
      expect(await client.call('WAIT', '1', '5000')).toBe(1);
      const watch = await setup.watchSwitchMaster();
      try {
        await setup.primary.kill('SIGKILL');
        const promoted = await watch.next;
        expect(promoted).toEqual({ host: '127.0.0.1', port: setup.replica.port });
      } finally {
        watch.close();
      }
      expect(await setup.currentPrimary()).toEqual({ host: '127.0.0.1', port: setup.replica.port });

      // the same client object, never told about the failover, asks the sentinels and reaches the new primary
      await pollUntil(
        async () => (await client.set('harness:failover', 'after').catch(() => null)) === 'OK',
        30_000,
        100,
        'the Sentinel client writing to the promoted replica',
      );
      expect(await setup.admin(setup.replica).get('harness:failover')).toBe('after');
      expect(await setup.admin(setup.replica).info('replication')).toContain('role:master');
    },
    START_MS,
  );
});
