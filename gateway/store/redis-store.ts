// The Redis store (ioredis): shared by every gateway instance on the same Redis; each command bounded in time.
import { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { RateDecision, RateLimiter, Store } from './store';

export interface RedisOptions {
  readonly url: string;
  /** prefix of every key, default "oms:" */
  readonly prefix: string;
  /** bound on one command, so an outage answers instead of hanging */
  readonly commandTimeoutMs: number;
}

/** A connection that fails commands quickly while Redis is away and reconnects by itself. */
export function connectRedis(options: RedisOptions, name: string): Redis {
  return new Redis(options.url, {
    keyPrefix: options.prefix,
    connectionName: name,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.commandTimeoutMs,
    // a command waits for one reconnect at most, then fails: callers get a 102 instead of a hang
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    lazyConnect: false,
  });
}

// INCR and the window's expiry in one round trip; returns the count and the window's ms left.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
`;

class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: Redis) {}

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    const [count, ttlMs] = (await this.redis.eval(HIT_SCRIPT, 1, `limit:{${key}}`, windowSeconds * 1000)) as [
      number,
      number,
    ];
    const allowed = count <= limit;
    return { allowed, count, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(ttlMs / 1000)) };
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(`limit:{${key}}`);
  }
}

/** Logs a connection's errors once per outage (ioredis repeats them on every reconnect attempt). */
export function watchRedis(redis: Redis, logger: Logger, name: string): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.error({ redis: name, err: error }, 'redis connection lost; commands fail until it returns');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger.info({ redis: name }, 'redis connection restored');
  });
}

export function createRedisStore(options: RedisOptions, logger: Logger): Store {
  const redis = connectRedis(options, 'oms-gateway');
  watchRedis(redis, logger, 'store');
  return {
    kind: 'redis',
    limits: new RedisRateLimiter(redis),
    ping: async () => {
      await redis.ping();
    },
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
