// A Redis client that ioredis gave up on ('end' without this process closing it) connects again by itself, on one
// node and on Sentinels. One the gateway closed stays closed: tests/gateway/redis-close.test.ts's CLI could not
// end by itself otherwise. ioredis ends a client so when its connector fails a
// connect, as a Sentinel failover can make it (connectNode in gateway/stores/redis/connection.ts); here a
// disconnect() from outside the gateway's own close stands in for that, since both leave the client in 'end'.
import { Redis } from 'ioredis';
import { closeRedis, connectRedis } from '../../../gateway/stores/redis/connection';
import { uniquePrefix } from '../../support/gateway';
import { EACH_TOPOLOGY } from '../../support/redis-test-topologies';

/** Resolves with the client's next event of `name`. */
const next = (redis: Redis, name: string): Promise<void> =>
  new Promise((resolve) => redis.once(name, () => resolve()));

describe.each(EACH_TOPOLOGY.filter(([where]) => where !== 'on a 3-primary cluster'))(
  'a Redis client %s',
  (_where, useTopology) => {
    const topology = useTopology();

    it('connects again after ioredis ended it, and answers commands', async () => {
      const redis = connectRedis(topology.options(uniquePrefix()), 'test') as Redis;
      try {
        await redis.set('k', 'v');
        const ended = next(redis, 'end');
        redis.disconnect();
        await ended;
        expect(redis.status).toBe('end');
        await next(redis, 'ready');
        expect(await redis.get('k')).toBe('v');
      } finally {
        await closeRedis(redis);
      }
    });
  },
);
