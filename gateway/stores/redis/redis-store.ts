// The Redis store (ioredis): shared by every gateway on the same Redis or Redis Cluster; each command bounded in
// time. One file per concern: connection.ts, keys.ts (every key name and its hash tag), scripts.ts (the Lua
// loader) with scripts/*.lua, users.ts, sessions.ts, limits.ts, api-keys.ts; the reset flow's state is in
// redis-reset-store.ts, its two steps in redis-reset-flow.ts.
import type { Logger } from '../../logger';
import { checkReady, closeRedis, connectRedis, watchRedis } from './connection';
import type { RedisOptions } from './connection';
import { RedisApiKeyStore, RedisApiTokenStore } from './api-keys';
import { RedisRateLimiter } from './limits';
import type { RedisClient } from './scripts';
import { RedisSessionStore } from './sessions';
import type { SubscriberFactory } from './sessions';
import { RedisUserStore } from './users';
import { systemClock } from '../../../core/ports/clock';
import type { Clock } from '../../../core/ports/clock';
import type { Store } from '../../../core/ports/store';

export interface RedisStoreDeps {
  /** the clock createdAt fields are stamped with, default the system's */
  readonly clock?: Clock;
  /** the revocations' subscriber, default connectSubscriber(options) */
  readonly subscriber?: SubscriberFactory;
}

/**
 * The store on its own connection, or on `redis` (made by connectRedis with the same options) when given:
 * the gateway shares one connection with its reset store, so one call's commands to both leave in one write.
 * Either way close() closes the connection.
 */
export function createRedisStore(
  options: RedisOptions,
  logger: Logger,
  redis: RedisClient = connectRedis(options, 'oms-gateway'),
  deps: RedisStoreDeps = {},
): Store {
  const clock = deps.clock ?? systemClock;
  watchRedis(redis, logger, 'store');
  const users = new RedisUserStore(redis, clock);
  const sessions = new RedisSessionStore(redis, options, logger, users, deps.subscriber);
  return {
    kind: 'redis',
    limits: new RedisRateLimiter(redis),
    users,
    sessions,
    apiKeys: new RedisApiKeyStore(redis),
    apiTokens: new RedisApiTokenStore(redis, clock),
    // on a cluster: every slot has a primary, and each answers
    ping: () => checkReady(redis),
    close: async () => {
      await sessions.close();
      await closeRedis(redis);
    },
  };
}
