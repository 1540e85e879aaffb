// The connection to Redis (ioredis): options, TLS, the outage handling every call shares, and its logging.
import { Redis } from 'ioredis';
import type { RedisOptions as ConnectionOptions } from 'ioredis';
import type { RedisTls } from '../../config';
import type { Logger } from '../../logger';
import { DuplicateUserError, StoreUnavailableError } from '../../../core/ports/store';

export interface RedisOptions {
  /** redis:// or rediss://, with an ACL user and password if any (never logged) */
  readonly url: string;
  /** prefix of every key, default "oms:" */
  readonly prefix: string;
  /** bound on one command, so an outage answers instead of hanging */
  readonly commandTimeoutMs: number;
  /** the CA, client certificate and key for rediss:// (PEM text); absent or null: none, or the system's CAs */
  readonly tls?: RedisTls | null;
}

/** What every connection to the same Redis shares (commands, subscriber): TLS, and the handshake's commands. */
export function sharedConnectionOptions(
  options: RedisOptions,
): Pick<ConnectionOptions, 'tls' | 'disableClientInfo'> {
  return {
    // a copy: node:tls may write to the object it is given, and the config is frozen
    ...(options.tls && { tls: { ...options.tls } }),
    // no CLIENT SETINFO (Redis 7.2+): the minimal ACL then works on 7.0 too; CLIENT SETNAME names the connection
    disableClientInfo: true,
  };
}

/** A connection that fails commands quickly while Redis is away and reconnects by itself. */
export function connectRedis(options: RedisOptions, name: string): Redis {
  return new Redis(options.url, {
    ...sharedConnectionOptions(options),
    keyPrefix: options.prefix,
    connectionName: name,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.commandTimeoutMs,
    // a command waits for one reconnect at most, then fails: callers get a 102 instead of a hang
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    lazyConnect: false,
    // commands issued in one event-loop turn (one call's independent reads, many connections' calls) leave
    // in one write: one round trip instead of one each
    enableAutoPipelining: true,
  });
}

/**
 * The revocations' subscriber: unlike the command connection, its SUBSCRIBE waits for Redis however long it
 * is away (nobody waits on it but whenListening(), and a subscription lost at start-up would never be retried).
 */
export function connectSubscriber(options: RedisOptions, name: string): Redis {
  return new Redis(options.url, {
    ...sharedConnectionOptions(options),
    connectionName: name,
    connectTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
}

/**
 * Runs a store operation; a connection failure (timeout, closed, retries exhausted) becomes
 * StoreUnavailableError (102 with a clear detail). A Redis reply error is a bug and passes through as is.
 */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof Error && error.name === 'ReplyError') throw error;
    if (error instanceof DuplicateUserError) throw error;
    throw new StoreUnavailableError(error);
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
