// The gateway's configuration: read from the environment once, validated with zod, frozen. The only file that reads process.env.
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const boolean = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/** Every variable the gateway reads, with its default. Values arrive as strings. */
const EnvSchema = z.object({
  /** listening port, default 8080 (0 picks a free one) */
  PORT: integer(0, 65535).default(8080),
  /** listening address, default 127.0.0.1 (the Docker image sets 0.0.0.0) */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** pino level, default info */
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** largest frame accepted, default 64 KiB; larger closes with 1009 */
  MAX_FRAME_BYTES: integer(256, 16 * 1024 * 1024).default(64 * 1024),
  /** calls in flight per connection before it stops reading, default 64 */
  MAX_INFLIGHT_PER_CONNECTION: integer(1, 10_000).default(64),
  /** unsent bytes queued for a client that does not read before closing with 1008, default 4 MiB */
  MAX_BUFFERED_BYTES: integer(1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
  /** bad frames in a row before closing with 1008, default 50 */
  MAX_BAD_FRAMES: integer(1, 1_000_000).default(50),
  /** ws ping interval; a peer that misses one is terminated, default 30000 ms */
  HEARTBEAT_INTERVAL_MS: integer(10, 3_600_000).default(30_000),
  /** how long a closing socket waits for the peer's close frame before dropping it, default 5000 ms */
  CLOSE_TIMEOUT_MS: integer(10, 60_000).default(5000),
  /** how long shutdown waits for calls in flight, default 10000 ms */
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
  /** take the client address from the last X-Forwarded-For entry (behind a load balancer), default false */
  TRUST_PROXY: boolean.default(false),
  /** Redis connection; unset means the embedded in-memory store (single process, keeps nothing) */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** prefix of every Redis key, default "oms:" */
  REDIS_PREFIX: z.string().max(64).default('oms:'),
  /** bound on one Redis command, so an outage answers instead of hanging, default 2000 ms */
  REDIS_COMMAND_TIMEOUT_MS: integer(50, 60_000).default(2000),
  /** idle lifetime of a session, refreshed on every call, default 3600 s */
  SESSION_TTL_SECONDS: integer(1, 30 * 24 * 3600).default(3600),
  /** argon2id memory per hash, default 19456 KiB (OWASP's minimum); tests lower it for speed */
  ARGON2_MEMORY_KIB: integer(8, 4 * 1024 * 1024).default(19456),
  /** argon2id passes, default 2 */
  ARGON2_ITERATIONS: integer(1, 100).default(2),
  /** argon2id lanes, default 1 */
  ARGON2_PARALLELISM: integer(1, 255).default(1),
  /** password hashes computed at once; more wait in line, default 4 (the libuv threadpool size) */
  HASH_CONCURRENCY: integer(1, 1024).default(4),
  /** failed logins per user name and per client address in one window before errorcode 101, default 10 */
  LOGIN_LIMIT_ATTEMPTS: integer(1, 1_000_000).default(10),
  /** the failed-login window, default 900 s (15 minutes) */
  LOGIN_LIMIT_WINDOW_SECONDS: integer(1, 24 * 3600).default(900),
  /** JSON file of users loaded into Redis at start-up (existing names are kept), default none */
  SEED_FILE: z.string().min(1).optional(),
});

export type Env = Readonly<Record<string, string | undefined>>;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly maxFrameBytes: number;
  readonly maxInflightPerConnection: number;
  readonly maxBufferedBytes: number;
  readonly maxBadFrames: number;
  readonly heartbeatIntervalMs: number;
  readonly closeTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly trustProxy: boolean;
  readonly redis: { readonly url: string; readonly prefix: string; readonly commandTimeoutMs: number } | null;
  readonly sessionTtlSeconds: number;
  readonly argon2: { readonly memoryKib: number; readonly iterations: number; readonly parallelism: number };
  readonly hashConcurrency: number;
  readonly loginLimit: { readonly attempts: number; readonly windowSeconds: number };
  readonly seedFile: string | null;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment. An empty string counts as unset. A bad value throws ConfigError naming
 * the variable and what it allows, never the value (it may be a secret).
 */
export function loadConfig(env: Env = process.env): Config {
  const present: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') present[key] = value;
  }
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    maxFrameBytes: e.MAX_FRAME_BYTES,
    maxInflightPerConnection: e.MAX_INFLIGHT_PER_CONNECTION,
    maxBufferedBytes: e.MAX_BUFFERED_BYTES,
    maxBadFrames: e.MAX_BAD_FRAMES,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    closeTimeoutMs: e.CLOSE_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY,
    redis: e.REDIS_URL
      ? Object.freeze({ url: e.REDIS_URL, prefix: e.REDIS_PREFIX, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS })
      : null,
    sessionTtlSeconds: e.SESSION_TTL_SECONDS,
    argon2: Object.freeze({
      memoryKib: e.ARGON2_MEMORY_KIB,
      iterations: e.ARGON2_ITERATIONS,
      parallelism: e.ARGON2_PARALLELISM,
    }),
    hashConcurrency: e.HASH_CONCURRENCY,
    loginLimit: Object.freeze({
      attempts: e.LOGIN_LIMIT_ATTEMPTS,
      windowSeconds: e.LOGIN_LIMIT_WINDOW_SECONDS,
    }),
    seedFile: e.SEED_FILE ?? null,
  });
}
