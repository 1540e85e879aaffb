// The gateway's configuration: read from the environment once, validated with zod, frozen. The only file that reads process.env.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseTrustProxy } from './server/client-address';
import type { TrustProxy } from './server/client-address';
import { loadEntryPoints } from './entrypoints';
import type { EntryPoints } from './entrypoints';
import { isLoopbackAddress } from './server/loopback';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const boolean = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/** Every variable the gateway reads, with its default. Values arrive as strings. */
const EnvSchema = z.object({
  /** listening port, default 8080 (0 picks a free one) */
  PORT: integer(0, 65535).default(8080),
  /** listening address, default 127.0.0.1 (the Docker image sets 0.0.0.0) */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** pending connections the kernel queues before accepting, default 4096 (capped by net.core.somaxconn) */
  LISTEN_BACKLOG: integer(1, 65535).default(4096),
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
  /** the proxies in front whose X-Forwarded-For entries are believed: addresses/CIDRs (or loopback, linklocal,
   * uniquelocal), comma-separated, or their number; default none (the socket's peer is the client) */
  TRUST_PROXY: z
    .string()
    .transform((value, context) => {
      try {
        return parseTrustProxy(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  /** IPv6 clients are counted per network of this many bits by per-address limits, default 64 */
  ADDRESS_IPV6_PREFIX: integer(16, 128).default(64),
  /** open WebSocket connections in total; past it upgrades get 503 with Retry-After, default 10000 */
  MAX_CONNECTIONS: integer(1, 10_000_000).default(10_000),
  /** open WebSocket connections per client address (IPv6: per ADDRESS_IPV6_PREFIX network), default 100 */
  MAX_CONNECTIONS_PER_ADDRESS: integer(1, 10_000_000).default(100),
  /** a socket that has not logged in this long after opening is closed with 1008 once no call is in flight;
   * 0 never closes, default 30000 ms */
  UNAUTHENTICATED_IDLE_MS: integer(0, 3_600_000).default(30_000),
  /** time for an HTTP request's headers (server.headersTimeout), default 10000 ms */
  HTTP_HEADERS_TIMEOUT_MS: integer(10, 600_000).default(10_000),
  /** time for a whole HTTP request, body included (server.requestTimeout), default 30000 ms */
  HTTP_REQUEST_TIMEOUT_MS: integer(10, 600_000).default(30_000),
  /** Redis connection; required outside development mode, where unset means the embedded in-memory store
   * (single process, keeps nothing, demo users) */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
    .optional(),
  /** prefix of every Redis key, default "oms:" */
  REDIS_PREFIX: z.string().max(64).default('oms:'),
  /** bound on one Redis command, so an outage answers instead of hanging, default 2000 ms */
  REDIS_COMMAND_TIMEOUT_MS: integer(50, 60_000).default(2000),
  /** PEM file of the CA(s) that signed Redis's certificate, for rediss://; default the system's CAs */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  /** PEM file of a client certificate shown to Redis over rediss://, with REDIS_TLS_KEY_FILE; default none */
  REDIS_TLS_CERT_FILE: z.string().min(1).optional(),
  /** PEM file of that certificate's private key, with REDIS_TLS_CERT_FILE; default none */
  REDIS_TLS_KEY_FILE: z.string().min(1).optional(),
  /** how long a socket reuses its last session check before asking the store again, default 1000 ms */
  SESSION_RECHECK_MS: integer(0, 60_000).default(1000),
  /** idle lifetime of a session, refreshed on every call, default 3600 s */
  SESSION_TTL_SECONDS: integer(1, 30 * 24 * 3600).default(3600),
  /** live sessions one user may hold; a login beyond it ends the least recently used, default 100 */
  MAX_SESSIONS_PER_USER: integer(1, 100_000).default(100),
  /** argon2id memory per hash, default 19456 KiB (OWASP's minimum); tests lower it for speed */
  ARGON2_MEMORY_KIB: integer(8, 4 * 1024 * 1024).default(19456),
  /** argon2id passes, default 2 */
  ARGON2_ITERATIONS: integer(1, 100).default(2),
  /** argon2id lanes, default 1 */
  ARGON2_PARALLELISM: integer(1, 255).default(1),
  /** password hashes computed at once (at most one per core); more wait in line, default os.availableParallelism() */
  HASH_CONCURRENCY: integer(1, 1024).default(availableParallelism()),
  /** failed logins per (user name or API key, client address) pair in one window before errorcode 101, default 10 */
  LOGIN_LIMIT_ATTEMPTS: integer(1, 1_000_000).default(10),
  /** the failed-login window, default 900 s (15 minutes) */
  LOGIN_LIMIT_WINDOW_SECONDS: integer(1, 24 * 3600).default(900),
  /** failed logins per client address, across names, in the same window before errorcode 101, default 100 */
  LOGIN_ADDRESS_LIMIT_ATTEMPTS: integer(1, 1_000_000).default(100),
  /** login attempts per user name or API key from all addresses per throttle window; past it 101 with a short
   * retry-after (a throttle, not a lockout: the window is short), default 30 */
  LOGIN_NAME_THROTTLE_ATTEMPTS: integer(1, 1_000_000).default(30),
  /** the per-name throttle window, default 60 s */
  LOGIN_NAME_THROTTLE_SECONDS: integer(1, 3600).default(60),
  /** password hashes of callers waiting for a slot, in total, before more are refused with 101, default 256 */
  HASH_QUEUE_MAX: integer(0, 1_000_000).default(256),
  /** password hashes of one client address running or waiting before more are refused with 101, default 4 */
  HASH_QUEUE_MAX_PER_ADDRESS: integer(1, 10_000).default(4),
  /** absolute lifetime of a session: it ends at this age however much it is used, default 43200 s (12 h) */
  SESSION_MAX_LIFETIME_SECONDS: integer(60, 365 * 24 * 3600).default(43_200),
  /** JSON file of users loaded into Redis at start-up (existing names are kept), default none */
  SEED_FILE: z.string().min(1).optional(),
  /** let callers without a session ask ResetPassword (a front end's forgot-password form), default false */
  RESET_ALLOW_PUBLIC: boolean.default(false),
  /** how long a reset link works, default 1800 s */
  RESET_CODE_TTL_SECONDS: integer(60, 7 * 24 * 3600).default(1800),
  /** wrong PendingCodes a live code survives before it is destroyed, default 5 */
  RESET_MAX_WRONG_TRIES: integer(1, 100).default(5),
  /** the page the reset mail links to; required outside development mode, where the default is
   * http://HOST:PORT/reset (the gateway's own page) */
  RESET_PAGE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .refine((value) => !value.includes('#'), 'must not have a #fragment: the link puts the code there')
    .optional(),
  /** the WebSocket URL the page calls; default: the page's own origin */
  RESET_PAGE_GATEWAY_URL: z.url({ protocol: /^wss?$/, error: 'must be a ws:// or wss:// URL' }).optional(),
  /** where the page's success state links to, default none */
  RESET_SUCCESS_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  /** browser origins allowed to open a socket or call /AP, comma-separated; default the origins of
   * RESET_PAGE_URL and of the ENTRYPOINTS_FILE pages */
  ALLOWED_ORIGINS: z
    .string()
    .refine(
      (value) => value.split(',').every((origin) => /^https?:\/\/[^/\s]+$/.test(origin.trim())),
      'must be comma-separated origins like https://example.com (scheme and host, no path)',
    )
    .optional(),
  /** mails per target user: at most one per this many seconds, default 60 */
  RESET_TARGET_INTERVAL_SECONDS: integer(1, 24 * 3600).default(60),
  /** mails per target user per hour, default 5 */
  RESET_TARGET_HOURLY_LIMIT: integer(1, 1000).default(5),
  /** ResetPassword requests per caller (session, or client address when public) per window, default 20 */
  RESET_CALLER_LIMIT: integer(1, 1_000_000).default(20),
  /** the caller window, default 600 s */
  RESET_CALLER_WINDOW_SECONDS: integer(1, 24 * 3600).default(600),
  /** ResetPassword2 calls per client address per window before errorcode 101, default 20 */
  RESET_COMPLETE_ADDRESS_LIMIT: integer(1, 1_000_000).default(20),
  /** the ResetPassword2 per-address window, default 900 s */
  RESET_COMPLETE_ADDRESS_WINDOW_SECONDS: integer(1, 24 * 3600).default(900),
  /** refused reset steps are audited and logged once per caller per this window, with a count, default 60 s */
  AUDIT_REFUSAL_WINDOW_SECONDS: integer(1, 24 * 3600).default(60),
  /** shortest new password, in characters after NFKC, default 8 (at most 128 is fixed) */
  PASSWORD_MIN_LENGTH: integer(1, 128).default(8),
  /** SendGrid API key; required outside development mode, where unset sends mail to the dev outbox (GET /dev/outbox) */
  SENDGRID_API_KEY: z.string().startsWith('SG.', 'must be a SendGrid API key (starts with "SG.")').optional(),
  /** SendGrid API base URL (a regional endpoint or a proxy), default https://api.sendgrid.com */
  SENDGRID_BASE_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .default('https://api.sendgrid.com'),
  /** a SendGrid dynamic template for the reset mail (data: link, user_name, expires_in_minutes), default none */
  SENDGRID_TEMPLATE_ID: z.string().min(1).optional(),
  /** sender address, required with SENDGRID_API_KEY; default no-reply@localhost for the dev outbox */
  MAIL_FROM: z.email({ error: 'must be an e-mail address' }).optional(),
  /** sender display name, default "OMS" */
  MAIL_FROM_NAME: z.string().min(1).max(100).default('OMS'),
  /** delivery attempts of one mail before it is dead-lettered, default 8 */
  MAIL_MAX_ATTEMPTS: integer(1, 100).default(8),
  /** first retry delay, doubled each attempt with jitter, default 1000 ms */
  MAIL_RETRY_BASE_MS: integer(1, 3_600_000).default(1000),
  /** how long a gateway holds a mail while sending before another may take it, default 60000 ms */
  MAIL_LEASE_MS: integer(100, 3_600_000).default(60_000),
  /** mails this gateway sends at once, default 2; 0: it only queues, and gateways with 1 or more on the same
   * Redis deliver (a front-end role; the embedded store has no other gateway, so 0 is refused there) */
  MAIL_DELIVERY_CONCURRENCY: integer(0, 64).default(2),
  /** JSON file of entry points for POST /api/User/authreset: {"<entry>": {resetPageUrl, fromName?}}, default none */
  ENTRYPOINTS_FILE: z.string().min(1).optional(),
  /** POST /api/User/authreset requests per API token per window before 429, default 100 */
  AUTHRESET_TOKEN_LIMIT: integer(1, 1_000_000).default(100),
  /** the per-token window, default 600 s */
  AUTHRESET_TOKEN_WINDOW_SECONDS: integer(1, 24 * 3600).default(600),
  /** audit events kept in the Redis stream, default 10000 */
  AUDIT_STREAM_MAXLEN: integer(10, 10_000_000).default(10_000),

  // development mode and metrics (issue 11, finding 1 and 4)
  /** development mode: demo users, the dev outbox, the default RESET_PAGE_URL; only on a loopback HOST;
   * default off (npm start sets it, like --dev) */
  OMS_DEV: boolean.default(false),
  /** port of the metrics listener (GET /metrics), never PORT; default 9464 (0 picks a free one); in development
   * mode, unset serves /metrics on PORT instead (loopback Host only) */
  METRICS_PORT: integer(0, 65535).optional(),
  /** address of the metrics listener, default 127.0.0.1 */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** bearer token GET /metrics requires (Authorization: Bearer …), at least 16 characters; default none */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

/** The default metrics port outside development mode (the OpenTelemetry Prometheus exporter's). */
const DEFAULT_METRICS_PORT = 9464;

/** Variables with these prefixes are the gateway's: one it does not know is a typo or a feature it lacks. */
const OWN_PREFIXES = /^(?:REDIS|SENDGRID|RESET|MAIL|OMS|METRICS)_/;

/** The variables the gateway reads: the schema's keys, in one place. */
export const KNOWN_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

export type Env = Readonly<Record<string, string | undefined>>;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly listenBacklog: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly maxFrameBytes: number;
  readonly maxInflightPerConnection: number;
  readonly maxBufferedBytes: number;
  readonly maxBadFrames: number;
  readonly heartbeatIntervalMs: number;
  readonly closeTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** Whose X-Forwarded-For entries are believed. */
  readonly trustProxy: TrustProxy;
  /** IPv6 clients are counted per network of this many bits. */
  readonly addressIpv6Prefix: number;
  /** Admission of WebSocket connections. */
  readonly connectionLimits: {
    readonly maxConnections: number;
    readonly maxPerAddress: number;
    /** 0: never */
    readonly unauthenticatedIdleMs: number;
  };
  readonly httpTimeouts: { readonly headersMs: number; readonly requestMs: number };
  readonly redis: {
    /** may carry an ACL user and password (redis://user:pass@host:port): never log it */
    readonly url: string;
    readonly prefix: string;
    readonly commandTimeoutMs: number;
    /** for rediss://: the REDIS_TLS_* files' PEM text ({} trusts the system's CAs); null for redis:// */
    readonly tls: RedisTls | null;
  } | null;
  readonly sessionTtlSeconds: number;
  /** Live sessions per user; a login beyond it ends the least recently used. */
  readonly maxSessionsPerUser: number;
  readonly sessionRecheckMs: number;
  readonly argon2: { readonly memoryKib: number; readonly iterations: number; readonly parallelism: number };
  readonly hashConcurrency: number;
  readonly loginLimit: {
    /** per (name or API key, address) pair */
    readonly attempts: number;
    readonly windowSeconds: number;
    /** per address, in the same window */
    readonly addressAttempts: number;
    /** per name or API key from anywhere: a throttle with a short window */
    readonly nameAttempts: number;
    readonly nameWindowSeconds: number;
  };
  /** Bounds on callers' hashes waiting (total) and in flight (per address). */
  readonly hashQueue: { readonly max: number; readonly maxPerAddress: number };
  /** A session ends at this age however much it is used. */
  readonly sessionMaxLifetimeSeconds: number;
  readonly seedFile: string | null;
  readonly reset: {
    readonly allowPublic: boolean;
    readonly codeTtlSeconds: number;
    readonly maxWrongTries: number;
    readonly pageUrl: string;
    /** null: the page calls its own origin */
    readonly pageGatewayUrl: string | null;
    readonly successUrl: string | null;
    readonly targetIntervalSeconds: number;
    readonly targetHourlyLimit: number;
    readonly callerLimit: number;
    readonly callerWindowSeconds: number;
    /** ResetPassword2 calls per client address per window */
    readonly completeAddressLimit: number;
    readonly completeAddressWindowSeconds: number;
  };
  readonly passwordPolicy: { readonly minLength: number };
  /** Browser origins allowed to open a WebSocket; requests without Origin (programs) are always allowed. */
  readonly allowedOrigins: readonly string[];
  readonly mail: {
    /** null: the development outbox */
    readonly sendgrid: {
      readonly apiKey: string;
      readonly baseUrl: string;
      readonly templateId: string | null;
    } | null;
    readonly from: string;
    readonly fromName: string;
    readonly maxAttempts: number;
    readonly retryBaseMs: number;
    readonly leaseMs: number;
    /** mails sent at once; 0: this gateway only queues */
    readonly deliveryConcurrency: number;
  };
  readonly auditMaxLength: number;
  /** refusals are aggregated per caller and window of this many seconds */
  readonly auditRefusalWindowSeconds: number;
  /** ENTRYPOINTS_FILE, read and validated at start-up; empty without one. */
  readonly entryPoints: EntryPoints;
  /** POST /api/User/authreset: requests per API token per window. */
  readonly authReset: { readonly tokenLimit: number; readonly tokenWindowSeconds: number };
  /** Development mode (OMS_DEV=1 or --dev, loopback HOST only): demo users, the dev outbox, default reset page. */
  readonly dev: boolean;
  readonly metrics: {
    /** null: /metrics on the main port (development mode only) */
    readonly port: number | null;
    readonly host: string;
    /** the bearer token GET /metrics requires; null: none */
    readonly token: string | null;
  };
}

export interface LoadOptions {
  /** --dev on the command line: development mode as with OMS_DEV=1 */
  readonly dev?: boolean;
  /** 'admin': the CLI's user commands, which only open the store, so production's other needs do not apply */
  readonly role?: 'gateway' | 'admin';
}

/** PEM text read from the REDIS_TLS_* files at start-up, as ioredis's (node:tls) `tls` option takes it. */
export interface RedisTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Edit distance with adjacent transpositions (REDIS_ULR is one step from REDIS_URL). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** Set variables with one of the gateway's prefixes that it does not read, each with the fix. */
function unknownVariables(env: Env): string[] {
  return Object.keys(env)
    .filter((key) => OWN_PREFIXES.test(key) && !KNOWN_VARIABLES.includes(key) && env[key] !== '')
    .sort()
    .map((key) => {
      const [closest] = KNOWN_VARIABLES.map((known) => ({ known, distance: editDistance(key, known) }))
        .filter((candidate) => candidate.distance <= 2)
        .sort((x, y) => x.distance - y.distance);
      const hint = closest ? `did you mean ${closest.known}? ` : '';
      return `${key}: not a variable the gateway reads (${hint}remove it or fix its name; see the README's Configuration)`;
    });
}

/**
 * What production needs and development mode supplies: a real mailer, a shared store, the page mails link to.
 * Refused together, so one start-up names everything that is missing.
 */
function productionProblems(e: z.output<typeof EnvSchema>): string[] {
  const problems: string[] = [];
  const local = 'or, for a local trial, OMS_DEV=1 on a loopback HOST';
  if (!e.SENDGRID_API_KEY) {
    problems.push(
      `SENDGRID_API_KEY: required outside development mode; set it and MAIL_FROM so reset mail goes out through SendGrid (${local} shows it at /dev/outbox)`,
    );
  }
  if (!e.REDIS_URL) {
    problems.push(
      `REDIS_URL: required outside development mode; set it to the shared store (redis:// or rediss://) (${local} uses the embedded store with demo users)`,
    );
  }
  if (!e.RESET_PAGE_URL) {
    problems.push(
      `RESET_PAGE_URL: required outside development mode; set it to the public https:// page reset mails link to (${local} uses http://localhost:PORT/reset)`,
    );
  }
  return problems;
}

/**
 * Parses the environment. An empty string counts as unset. A bad value throws ConfigError naming
 * the variable and what it allows, never the value (it may be a secret). Outside development mode the
 * conveniences are refused, not defaulted: see productionProblems.
 */
export function loadConfig(env: Env = process.env, options: LoadOptions = {}): Config {
  const unknown = unknownVariables(env);
  if (unknown.length > 0) throw new ConfigError(`Invalid configuration: ${unknown.join('; ')}`);
  const present: Record<string, string> = {};
  for (const key of KNOWN_VARIABLES) {
    const value = env[key];
    if (value !== undefined && value !== '') present[key] = value;
  }
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const dev = e.OMS_DEV || options.dev === true;
  if (dev && !isLoopbackAddress(e.HOST)) {
    throw new ConfigError(
      `Invalid configuration: OMS_DEV: development mode (OMS_DEV=1 or --dev: demo users, the dev outbox) runs only on a loopback HOST (127.0.0.1, ::1 or localhost), and HOST is ${e.HOST}; unset OMS_DEV and configure production (SENDGRID_API_KEY, MAIL_FROM, REDIS_URL, RESET_PAGE_URL), or set HOST=127.0.0.1`,
    );
  }
  if (!dev && options.role !== 'admin') {
    const problems = productionProblems(e);
    if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const metricsPort = e.METRICS_PORT ?? (dev ? null : DEFAULT_METRICS_PORT);
  if (metricsPort !== null && metricsPort !== 0 && metricsPort === e.PORT) {
    throw new ConfigError(
      'Invalid configuration: METRICS_PORT: must differ from PORT (metrics are never served on the public port)',
    );
  }
  const redisTls = loadRedisTls(e);
  if (e.SENDGRID_API_KEY && !e.MAIL_FROM) {
    throw new ConfigError('Invalid configuration: MAIL_FROM: required when SENDGRID_API_KEY is set');
  }
  if (e.MAIL_DELIVERY_CONCURRENCY === 0 && !e.REDIS_URL) {
    throw new ConfigError(
      'Invalid configuration: MAIL_DELIVERY_CONCURRENCY: 0 needs REDIS_URL (with the embedded store no other gateway would send the mail)',
    );
  }
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(
      'Invalid configuration: HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request)',
    );
  }
  // the gateway's own page, reachable where it listens (a wildcard address is reached as localhost)
  const pageHost = ['0.0.0.0', '::', '[::]'].includes(e.HOST) ? 'localhost' : e.HOST;
  const pageUrl =
    e.RESET_PAGE_URL ?? `http://${pageHost.includes(':') ? `[${pageHost}]` : pageHost}:${e.PORT}/reset`;
  let entryPoints: EntryPoints;
  try {
    entryPoints = loadEntryPoints(e.ENTRYPOINTS_FILE ?? null);
  } catch (error) {
    throw new ConfigError(`Invalid configuration: ${(error as Error).message}`);
  }
  // the pages reset mails link to call the gateway from the browser (POST /AP/ResetPassword2)
  const pageOrigins = [pageUrl, ...[...entryPoints.values()].map((point) => point.resetPageUrl)].map(
    (url) => new URL(url).origin,
  );
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    listenBacklog: e.LISTEN_BACKLOG,
    logLevel: e.LOG_LEVEL,
    maxFrameBytes: e.MAX_FRAME_BYTES,
    maxInflightPerConnection: e.MAX_INFLIGHT_PER_CONNECTION,
    maxBufferedBytes: e.MAX_BUFFERED_BYTES,
    maxBadFrames: e.MAX_BAD_FRAMES,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    closeTimeoutMs: e.CLOSE_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    trustProxy: Object.freeze(e.TRUST_PROXY ?? { kind: 'none' }),
    addressIpv6Prefix: e.ADDRESS_IPV6_PREFIX,
    connectionLimits: Object.freeze({
      maxConnections: e.MAX_CONNECTIONS,
      maxPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS,
      unauthenticatedIdleMs: e.UNAUTHENTICATED_IDLE_MS,
    }),
    httpTimeouts: Object.freeze({
      headersMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestMs: e.HTTP_REQUEST_TIMEOUT_MS,
    }),
    redis: e.REDIS_URL
      ? Object.freeze({
          url: e.REDIS_URL,
          prefix: e.REDIS_PREFIX,
          commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
          tls: redisTls,
        })
      : null,
    sessionTtlSeconds: e.SESSION_TTL_SECONDS,
    maxSessionsPerUser: e.MAX_SESSIONS_PER_USER,
    sessionRecheckMs: e.SESSION_RECHECK_MS,
    argon2: Object.freeze({
      memoryKib: e.ARGON2_MEMORY_KIB,
      iterations: e.ARGON2_ITERATIONS,
      parallelism: e.ARGON2_PARALLELISM,
    }),
    hashConcurrency: e.HASH_CONCURRENCY,
    loginLimit: Object.freeze({
      attempts: e.LOGIN_LIMIT_ATTEMPTS,
      windowSeconds: e.LOGIN_LIMIT_WINDOW_SECONDS,
      addressAttempts: e.LOGIN_ADDRESS_LIMIT_ATTEMPTS,
      nameAttempts: e.LOGIN_NAME_THROTTLE_ATTEMPTS,
      nameWindowSeconds: e.LOGIN_NAME_THROTTLE_SECONDS,
    }),
    hashQueue: Object.freeze({ max: e.HASH_QUEUE_MAX, maxPerAddress: e.HASH_QUEUE_MAX_PER_ADDRESS }),
    sessionMaxLifetimeSeconds: e.SESSION_MAX_LIFETIME_SECONDS,
    seedFile: e.SEED_FILE ?? null,
    reset: Object.freeze({
      allowPublic: e.RESET_ALLOW_PUBLIC,
      codeTtlSeconds: e.RESET_CODE_TTL_SECONDS,
      maxWrongTries: e.RESET_MAX_WRONG_TRIES,
      pageUrl,
      pageGatewayUrl: e.RESET_PAGE_GATEWAY_URL ?? null,
      successUrl: e.RESET_SUCCESS_URL ?? null,
      targetIntervalSeconds: e.RESET_TARGET_INTERVAL_SECONDS,
      targetHourlyLimit: e.RESET_TARGET_HOURLY_LIMIT,
      callerLimit: e.RESET_CALLER_LIMIT,
      callerWindowSeconds: e.RESET_CALLER_WINDOW_SECONDS,
      completeAddressLimit: e.RESET_COMPLETE_ADDRESS_LIMIT,
      completeAddressWindowSeconds: e.RESET_COMPLETE_ADDRESS_WINDOW_SECONDS,
    }),
    passwordPolicy: Object.freeze({ minLength: e.PASSWORD_MIN_LENGTH }),
    allowedOrigins: Object.freeze(
      e.ALLOWED_ORIGINS
        ? e.ALLOWED_ORIGINS.split(',').map((origin) => new URL(origin.trim()).origin)
        : [...new Set(pageOrigins)],
    ),
    mail: Object.freeze({
      sendgrid: e.SENDGRID_API_KEY
        ? Object.freeze({
            apiKey: e.SENDGRID_API_KEY,
            baseUrl: e.SENDGRID_BASE_URL,
            templateId: e.SENDGRID_TEMPLATE_ID ?? null,
          })
        : null,
      from: e.MAIL_FROM ?? 'no-reply@localhost',
      fromName: e.MAIL_FROM_NAME,
      maxAttempts: e.MAIL_MAX_ATTEMPTS,
      retryBaseMs: e.MAIL_RETRY_BASE_MS,
      leaseMs: e.MAIL_LEASE_MS,
      deliveryConcurrency: e.MAIL_DELIVERY_CONCURRENCY,
    }),
    auditMaxLength: e.AUDIT_STREAM_MAXLEN,
    auditRefusalWindowSeconds: e.AUDIT_REFUSAL_WINDOW_SECONDS,
    entryPoints,
    authReset: Object.freeze({
      tokenLimit: e.AUTHRESET_TOKEN_LIMIT,
      tokenWindowSeconds: e.AUTHRESET_TOKEN_WINDOW_SECONDS,
    }),
    dev,
    metrics: Object.freeze({ port: metricsPort, host: e.METRICS_HOST, token: e.METRICS_TOKEN ?? null }),
  });
}

/**
 * The TLS settings for Redis: null for redis:// (or no Redis), else the REDIS_TLS_* files read and parsed now, so a
 * missing, unreadable or malformed file stops start-up naming its variable (not at the first command, as a 102).
 */
function loadRedisTls(e: z.infer<typeof EnvSchema>): RedisTls | null {
  const files = (['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const).filter(
    (name) => e[name] !== undefined,
  );
  const secure = e.REDIS_URL?.startsWith('rediss://') ?? false;
  if (!secure) {
    if (files.length > 0) {
      throw new ConfigError(`Invalid configuration: ${files[0]}: needs a rediss:// REDIS_URL`);
    }
    return null;
  }
  if ((e.REDIS_TLS_CERT_FILE === undefined) !== (e.REDIS_TLS_KEY_FILE === undefined)) {
    throw new ConfigError(
      'Invalid configuration: REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: give both (a client certificate and its key) or neither',
    );
  }
  const ca = e.REDIS_TLS_CA_FILE && readPem('REDIS_TLS_CA_FILE', e.REDIS_TLS_CA_FILE, 'certificate');
  const cert = e.REDIS_TLS_CERT_FILE && readPem('REDIS_TLS_CERT_FILE', e.REDIS_TLS_CERT_FILE, 'certificate');
  const key = e.REDIS_TLS_KEY_FILE && readPem('REDIS_TLS_KEY_FILE', e.REDIS_TLS_KEY_FILE, 'private key');
  if (cert && key && !new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    throw new ConfigError(
      "Invalid configuration: REDIS_TLS_KEY_FILE: is not the private key of REDIS_TLS_CERT_FILE's certificate",
    );
  }
  return Object.freeze({ ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) });
}

/** A PEM file's text; the error names the variable and the path, never the contents (a key is a secret). */
function readPem(variable: string, path: string, kind: 'certificate' | 'private key'): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`Invalid configuration: ${variable}: cannot read ${path} (${code})`);
  }
  try {
    if (kind === 'certificate') new X509Certificate(text);
    else createPrivateKey(text);
  } catch {
    const what = kind === 'certificate' ? 'a PEM certificate' : 'an unencrypted PEM private key';
    throw new ConfigError(`Invalid configuration: ${variable}: ${path} is not ${what}`);
  }
  return text;
}
