// The gateway's configuration: read from the environment once, validated with zod, frozen. The only file that reads process.env.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseTrustProxy } from './server/client-address';
import { loadEntryPoints } from './entrypoints';
import type { EntryPoints } from './entrypoints';
import { isLoopbackAddress } from './server/loopback';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const boolean = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

/** "host:port,host:port" (an IPv6 host in brackets), as ioredis takes startup nodes and Sentinels. */
const addressList = z.string().transform((list, context) => {
  const addresses: RedisAddress[] = [];
  for (const entry of list.split(',').map((part) => part.trim())) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      context.addIssue({ code: 'custom', message: 'must be host:port,host:port,… (IPv6 as [addr]:port)' });
      return z.NEVER;
    }
    addresses.push(Object.freeze({ host: match[1]!.replace(/^\[|\]$/g, ''), port }));
  }
  return Object.freeze(addresses);
});

/** What the configuration table (docs/configuration.md) shows of a variable, besides its name. */
interface VariableDoc {
  /** what it does */
  readonly meaning: string;
  /** the default as a reader needs it, when the schema's own (or "none") would not say it */
  readonly shown?: string;
}

const VARIABLE_DOCS = new WeakMap<z.ZodType, VariableDoc>();

/** A variable's schema, with the words the configuration table shows for it. */
function variable<T extends z.ZodType>(schema: T, meaning: string, shown?: string): T {
  VARIABLE_DOCS.set(schema, shown === undefined ? { meaning } : { meaning, shown });
  return schema;
}

/** Every variable the gateway reads, with its default and its line in the docs. Values arrive as strings. */
const EnvSchema = z.object({
  PORT: variable(integer(0, 65535).default(8080), 'listening port (0 picks a free one)'),
  HOST: variable(z.string().min(1).default('127.0.0.1'), 'listening address (the Docker image sets 0.0.0.0)'),
  LISTEN_BACKLOG: variable(
    integer(1, 65535).default(4096),
    'connections queued by the kernel before accept (at most `net.core.somaxconn`)',
  ),
  LOG_LEVEL: variable(z.enum(LOG_LEVELS).default('info'), 'fatal, error, warn, info, debug, trace, silent'),
  MAX_FRAME_BYTES: variable(
    integer(256, 16 * 1024 * 1024).default(64 * 1024),
    'largest frame accepted (larger closes with 1009); also the largest HTTP body',
  ),
  MAX_INFLIGHT_PER_CONNECTION: variable(
    integer(1, 10_000).default(64),
    'calls in flight per socket before it stops reading',
  ),
  MAX_BUFFERED_BYTES: variable(
    integer(1024, 1024 * 1024 * 1024).default(4 * 1024 * 1024),
    'unsent reply bytes for one client before closing it with 1008',
  ),
  MAX_BAD_FRAMES: variable(
    integer(1, 1_000_000).default(50),
    'error frames in a row before closing with 1008',
  ),
  HEARTBEAT_INTERVAL_MS: variable(
    integer(10, 3_600_000).default(30_000),
    'ws ping interval, spread over it in 50 ms slices; a silent peer goes within two',
  ),
  CLOSE_TIMEOUT_MS: variable(
    integer(10, 60_000).default(5000),
    "wait for the peer's close frame before dropping the socket",
  ),
  SHUTDOWN_TIMEOUT_MS: variable(
    integer(0, 600_000).default(10_000),
    'on SIGTERM/SIGINT, how long calls in flight may finish',
  ),
  TRUST_PROXY: variable(
    z
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
    'trusted proxies: addresses/CIDRs (or `loopback`…), or their number; `true` refused',
  ),
  ADDRESS_IPV6_PREFIX: variable(
    integer(16, 128).default(64),
    'per-address limits count an IPv6 client by its network of this many bits',
  ),
  MAX_CONNECTIONS: variable(
    integer(1, 10_000_000).default(10_000),
    'open WebSocket connections in total; past it upgrades get 503, `Retry-After: 5`',
  ),
  MAX_CONNECTIONS_PER_ADDRESS: variable(
    integer(1, 10_000_000).default(100),
    'open WebSocket connections per client address (IPv6: per network); then 503',
  ),
  UNAUTHENTICATED_IDLE_MS: variable(
    integer(0, 3_600_000).default(30_000),
    'a socket not logged in this long after opening is closed with 1008 (0: never)',
  ),
  HTTP_HEADERS_TIMEOUT_MS: variable(
    integer(10, 600_000).default(10_000),
    "time for an HTTP request's headers, then 408",
  ),
  HTTP_REQUEST_TIMEOUT_MS: variable(
    integer(10, 600_000).default(30_000),
    'time for a whole HTTP request, body included, then 408',
  ),
  REDIS_URL: variable(
    z
      .string()
      .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
      .optional(),
    '`redis://` or `rediss://` URL of one node; with none of the three Redis variables (dev only), the embedded in-memory store',
    'one of `REDIS_URL`, `REDIS_CLUSTER_NODES`, `REDIS_SENTINELS` required (dev: unset)',
  ),
  REDIS_CLUSTER_NODES: variable(
    addressList.optional(),
    'a Redis Cluster: some of its nodes, `host:port,host:port,…` (the client finds the rest)',
  ),
  REDIS_SENTINELS: variable(
    addressList.optional(),
    'Sentinels that watch the primary, `host:port,…`; with `REDIS_SENTINEL_NAME`',
  ),
  REDIS_SENTINEL_NAME: variable(
    z.string().min(1).max(200).optional(),
    'the name the Sentinels monitor the primary under (`sentinel monitor <name> …`)',
  ),
  REDIS_SENTINEL_PASSWORD: variable(
    z.string().min(1).optional(),
    "the Sentinels' own password (`requirepass` in sentinel.conf), if they have one; never logged",
  ),
  REDIS_USERNAME: variable(
    z.string().min(1).max(200).optional(),
    'ACL user on every Redis node (a `REDIS_URL` may carry it instead); with `REDIS_PASSWORD`',
    '(default)',
  ),
  REDIS_PASSWORD: variable(
    z.string().min(1).optional(),
    "that user's password (or `requirepass`) on every node; never logged",
  ),
  REDIS_TLS: variable(
    boolean.optional(),
    'true: TLS to the cluster nodes, or to the Sentinels and the primary (one node: say `rediss://`)',
    'false',
  ),
  REDIS_WAIT_REPLICAS: variable(
    integer(0, 16).default(0),
    "replicas that must acknowledge (`WAIT`) a reset's and a password change's final writes before `true`; 0: none",
  ),
  REDIS_WAIT_TIMEOUT_MS: variable(
    integer(1, 60_000).default(1000),
    'how long that `WAIT` may take before the call answers 102; below `REDIS_COMMAND_TIMEOUT_MS`',
  ),
  REDIS_PREFIX: variable(z.string().max(64).default('oms:'), 'prefix of every Redis key'),
  REDIS_COMMAND_TIMEOUT_MS: variable(
    integer(50, 60_000).default(2000),
    'bound on one Redis command: an outage answers 102 instead of hanging',
  ),
  REDIS_TLS_CA_FILE: variable(
    z.string().min(1).optional(),
    "PEM file of the CA(s) that signed Redis's certificate; needs a `rediss://` URL or `REDIS_TLS`",
    "(the system's CAs)",
  ),
  REDIS_TLS_CERT_FILE: variable(
    z.string().min(1).optional(),
    'PEM client certificate shown to Redis; with `REDIS_TLS_KEY_FILE`',
  ),
  REDIS_TLS_KEY_FILE: variable(
    z.string().min(1).optional(),
    'PEM private key of that certificate (unencrypted); with `REDIS_TLS_CERT_FILE`',
  ),
  SESSION_RECHECK_MS: variable(
    integer(0, 60_000).default(1000),
    'how long a socket reuses its last session check (revocations still apply at once)',
  ),
  SESSION_TTL_SECONDS: variable(
    integer(1, 30 * 24 * 3600).default(3600),
    'idle lifetime of a session, refreshed by activity',
  ),
  MAX_SESSIONS_PER_USER: variable(
    integer(1, 100_000).default(100),
    'live sessions per user; a login beyond it ends the least recently used',
  ),
  ARGON2_MEMORY_KIB: variable(integer(8, 4 * 1024 * 1024).default(19456), 'argon2id memory per hash'),
  ARGON2_ITERATIONS: variable(integer(1, 100).default(2), 'argon2id passes'),
  ARGON2_PARALLELISM: variable(integer(1, 255).default(1), 'argon2id lanes'),
  HASH_CONCURRENCY: variable(
    integer(1, 1024).default(availableParallelism()),
    'password hashes computed at once (on niced worker threads); more wait in line',
    'one per core',
  ),
  LOGIN_LIMIT_ATTEMPTS: variable(
    integer(1, 1_000_000).default(10),
    'failed logins per (user name or API key, client address) pair in one window',
  ),
  LOGIN_LIMIT_WINDOW_SECONDS: variable(integer(1, 24 * 3600).default(900), 'that window'),
  LOGIN_ADDRESS_LIMIT_ATTEMPTS: variable(
    integer(1, 1_000_000).default(100),
    'failed logins per client address, across names, in the same window',
  ),
  LOGIN_NAME_THROTTLE_ATTEMPTS: variable(
    integer(1, 1_000_000).default(30),
    'attempts per user name or API key from all addresses per throttle window',
  ),
  LOGIN_NAME_THROTTLE_SECONDS: variable(
    integer(1, 3600).default(60),
    'the throttle window: short, a throttle and not a lockout',
  ),
  HASH_QUEUE_MAX: variable(
    integer(0, 1_000_000).default(256),
    "callers' password hashes waiting, in total, before more answer 101 at once",
  ),
  HASH_QUEUE_MAX_PER_ADDRESS: variable(
    integer(1, 10_000).default(4),
    "one client address's hashes running or waiting before more answer 101",
  ),
  SESSION_MAX_LIFETIME_SECONDS: variable(
    integer(60, 365 * 24 * 3600).default(43_200),
    'absolute lifetime of a session: it ends at this age however much used',
  ),
  SEED_FILE: variable(
    z.string().min(1).optional(),
    'JSON file of users to load at start-up (names already present are kept)',
  ),
  RESET_ALLOW_PUBLIC: variable(
    boolean.default(false),
    'let callers without a session ask `ResetPassword` (a forgot-password form)',
  ),
  RESET_CODE_TTL_SECONDS: variable(integer(60, 7 * 24 * 3600).default(1800), 'how long a reset link works'),
  RESET_MAX_WRONG_TRIES: variable(
    integer(1, 100).default(5),
    'wrong codes a live code survives before it is destroyed',
  ),
  RESET_PAGE_URL: variable(
    z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .refine((value) => !value.includes('#'), 'must not have a #fragment: the link puts the code there')
      .optional(),
    'the page the reset mail links to; no `#fragment`',
    'required (dev: `http://HOST:PORT/reset`)',
  ),
  RESET_PAGE_GATEWAY_URL: variable(
    z.url({ protocol: /^wss?$/, error: 'must be a ws:// or wss:// URL' }).optional(),
    'the `ws://`/`wss://` URL the page calls',
    "the page's own origin",
  ),
  RESET_SUCCESS_URL: variable(
    z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    "where the page's success state links to",
  ),
  ALLOWED_ORIGINS: variable(
    z
      .string()
      .refine(
        (value) => value.split(',').every((origin) => /^https?:\/\/[^/\s]+$/.test(origin.trim())),
        'must be comma-separated origins like https://example.com (scheme and host, no path)',
      )
      .optional(),
    'browser origins allowed to open a socket or call `/AP`, comma-separated',
    'origins of `RESET_PAGE_URL` and the entry pages',
  ),
  RESET_TARGET_INTERVAL_SECONDS: variable(
    integer(1, 24 * 3600).default(60),
    'at most one reset mail per target per this many seconds',
  ),
  RESET_TARGET_HOURLY_LIMIT: variable(integer(1, 1000).default(5), 'reset mails per target per hour'),
  RESET_CALLER_LIMIT: variable(
    integer(1, 1_000_000).default(20),
    '`ResetPassword` requests per caller (user, or address when anonymous) per window',
  ),
  RESET_CALLER_WINDOW_SECONDS: variable(integer(1, 24 * 3600).default(600), 'that window'),
  RESET_COMPLETE_ADDRESS_LIMIT: variable(
    integer(1, 1_000_000).default(20),
    '`ResetPassword2` calls per client address per window before 101',
  ),
  RESET_COMPLETE_ADDRESS_WINDOW_SECONDS: variable(integer(1, 24 * 3600).default(900), 'that window'),
  AUDIT_REFUSAL_WINDOW_SECONDS: variable(
    integer(1, 24 * 3600).default(60),
    'refused reset steps are audited and logged once per caller per window, with a count',
  ),
  PASSWORD_MIN_LENGTH: variable(
    integer(1, 128).default(8),
    'shortest new password (characters after NFKC); at most 128 is fixed',
  ),
  SENDGRID_API_KEY: variable(
    z.string().startsWith('SG.', 'must be a SendGrid API key (starts with "SG.")').optional(),
    'SendGrid API key (`SG.…`); unset (dev only) sends mail to the development outbox',
    'required (dev: unset)',
  ),
  SENDGRID_BASE_URL: variable(
    z
      .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
      .default('https://api.sendgrid.com'),
    'a regional endpoint, a proxy, or a test server',
  ),
  SENDGRID_TEMPLATE_ID: variable(
    z.string().min(1).optional(),
    'a dynamic template for the reset mail (data `link`, `user_name`, `expires_in_minutes`, `language`)',
  ),
  MAIL_FROM: variable(
    z.email({ error: 'must be an e-mail address' }).optional(),
    'sender address; required with `SENDGRID_API_KEY`',
    'no-reply@localhost',
  ),
  MAIL_FROM_NAME: variable(z.string().min(1).max(100).default('OMS'), 'sender display name'),
  MAIL_MAX_ATTEMPTS: variable(integer(1, 100).default(8), 'sends of one mail before it is dead-lettered'),
  MAIL_RETRY_BASE_MS: variable(
    integer(1, 3_600_000).default(1000),
    'first retry delay, doubled each attempt, with jitter',
  ),
  MAIL_LEASE_MS: variable(
    integer(100, 3_600_000).default(60_000),
    'how long a gateway holds a mail while sending before another may take it',
  ),
  MAIL_DELIVERY_CONCURRENCY: variable(
    integer(0, 64).default(2),
    'mails this gateway sends at once; 0: it only queues (needs Redis)',
  ),
  MAIL_QUEUE_SHARDS: variable(
    integer(1, 1024).default(16),
    'partitions of the Redis mail queue, each on its own hash tag (default 16); the same on every gateway',
  ),
  ENTRYPOINTS_FILE: variable(z.string().min(1).optional(), 'entry points for `/api/User/authreset`'),
  AUTHRESET_TOKEN_LIMIT: variable(
    integer(1, 1_000_000).default(100),
    'authreset requests per API token per window, then 429',
  ),
  AUTHRESET_TOKEN_WINDOW_SECONDS: variable(integer(1, 24 * 3600).default(600), 'that window'),
  AUDIT_STREAM_MAXLEN: variable(
    integer(10, 10_000_000).default(10_000),
    'reset audit events kept in the Redis stream (approximately)',
  ),
  OMS_DEV: variable(
    boolean.default(false),
    '1: development mode (as `--dev`): demo users, dev outbox; loopback `HOST` only',
  ),
  METRICS_PORT: variable(
    integer(0, 65535).optional(),
    'port of the `GET /metrics` listener; must differ from `PORT`',
    '9464 (dev: unset, `/metrics` on `PORT`)',
  ),
  METRICS_HOST: variable(z.string().min(1).default('127.0.0.1'), 'address of the metrics listener'),
  METRICS_TOKEN: variable(
    z.string().min(16, 'must be at least 16 characters').optional(),
    'bearer token `/metrics` requires (16+ characters)',
  ),

  // process scale and admission (issue 15)
  WORKERS: variable(
    integer(1, 256).optional(),
    'worker processes sharing `PORT` (node:cluster, the primary supervises); more than 1 needs Redis',
    'one per core on Redis outside dev, else 1',
  ),
  MAX_HANDSHAKES_PER_SECOND: variable(
    integer(0, 1_000_000).default(4000),
    'WebSocket upgrades each process accepts per second (bucket of one second); then 503, `Retry-After: 1`; 0: off',
  ),
  FD_RESERVE: variable(
    integer(0, 1_000_000).default(64),
    'files each process keeps from clients (for /metrics, Redis, the log): upgrades past the open-files limit less this get 503',
  ),
});

/** A variable's line in the configuration table. */
export interface VariableRow {
  readonly name: string;
  /** its default, as the table shows it */
  readonly shown: string;
  readonly meaning: string;
}

/** Every variable's line in the configuration table (docs/configuration.md), in the schema's order. */
export function configurationRows(): VariableRow[] {
  return Object.entries(EnvSchema.shape).map(([name, schema]: [string, z.ZodType]) => {
    const doc = VARIABLE_DOCS.get(schema);
    if (doc === undefined) throw new Error(`${name}: declare it with variable() so the docs can show it`);
    const fallback = schema instanceof z.ZodDefault ? String(schema.def.defaultValue) : 'none';
    return { name, shown: doc.shown ?? fallback, meaning: doc.meaning };
  });
}

/** The default metrics port outside development mode (the OpenTelemetry Prometheus exporter's). */
const DEFAULT_METRICS_PORT = 9464;

/** Variables with these prefixes are the gateway's: one it does not know is a typo or a feature it lacks. */
const OWN_PREFIXES = /^(?:REDIS|SENDGRID|RESET|MAIL|OMS|METRICS)_/;

/** The variables the gateway reads: the schema's keys, in one place. */
export const KNOWN_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  /** --dev on the command line: development mode as with OMS_DEV=1 */
  readonly dev?: boolean;
  /** 'admin': the CLI's user commands, which only open the store, so production's other needs do not apply */
  readonly role?: 'gateway' | 'admin';
}

/** A Redis node or a Sentinel. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** Which Redis the gateway runs on: REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (with REDIS_SENTINEL_NAME). */
export type RedisTopology =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisAddress[] }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly RedisAddress[];
      readonly name: string;
      /** the Sentinels' own password; null: they have none */
      readonly sentinelPassword: string | null;
    };

/** REDIS_USERNAME and REDIS_PASSWORD: the ACL user on every node (a REDIS_URL may carry its own instead). */
export interface RedisAuth {
  readonly username?: string;
  readonly password: string;
}

/** REDIS_WAIT_REPLICAS: how many replicas acknowledge a reset's final writes, and how long that may take. */
export interface ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;
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
      return `${key}: not a variable the gateway reads (${hint}remove it or fix its name; see docs/configuration.md)`;
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
  if (!hasRedis(e)) {
    problems.push(
      `REDIS_URL: required outside development mode; set it to the shared store (redis:// or rediss://), or set REDIS_CLUSTER_NODES or REDIS_SENTINELS (${local} uses the embedded store with demo users)`,
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
  // the checks across variables throw ConfigError from the transform, after every value parsed
  const parsed = configSchema(options).safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** The environment's schema, whose transform checks the variables together and builds the frozen Config. */
function configSchema(options: LoadOptions) {
  return EnvSchema.transform((e) => buildConfig(e, options));
}

/** The gateway's configuration: the nested, frozen shape that configSchema builds. */
export type Config = z.output<ReturnType<typeof configSchema>>;

/** The checks across variables (each throws ConfigError), then the nested shape the gateway reads. */
function buildConfig(e: z.output<typeof EnvSchema>, options: LoadOptions) {
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
  const redis = redisConfig(e);
  if (e.SENDGRID_API_KEY && !e.MAIL_FROM) {
    throw new ConfigError('Invalid configuration: MAIL_FROM: required when SENDGRID_API_KEY is set');
  }
  if (e.MAIL_DELIVERY_CONCURRENCY === 0 && !hasRedis(e)) {
    throw new ConfigError(
      'Invalid configuration: MAIL_DELIVERY_CONCURRENCY: 0 needs Redis (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS; with the embedded store no other gateway would send the mail)',
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
    /** whose X-Forwarded-For entries are believed */
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
    /** null: the embedded store (development mode only) */
    redis,
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
      /** null: the development outbox */
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
      queueShards: e.MAIL_QUEUE_SHARDS,
    }),
    auditMaxLength: e.AUDIT_STREAM_MAXLEN,
    auditRefusalWindowSeconds: e.AUDIT_REFUSAL_WINDOW_SECONDS,
    /** ENTRYPOINTS_FILE, read and validated at start-up; empty without one */
    entryPoints,
    authReset: Object.freeze({
      tokenLimit: e.AUTHRESET_TOKEN_LIMIT,
      tokenWindowSeconds: e.AUTHRESET_TOKEN_WINDOW_SECONDS,
    }),
    dev,
    /** metrics.port null: /metrics on the main port (development mode only) */
    metrics: Object.freeze({ port: metricsPort, host: e.METRICS_HOST, token: e.METRICS_TOKEN ?? null }),
    /** worker processes (1: no cluster), and each process's bounds on new connections (handshakes 0: none) */
    scale: Object.freeze({
      workers: workerCount(e, dev, metricsPort),
      handshakesPerSecond: e.MAX_HANDSHAKES_PER_SECOND,
      fdReserve: e.FD_RESERVE,
    }),
  });
}

/**
 * WORKERS, or its default: every core on a shared store outside development mode, else one process. Workers on
 * the embedded store would each have their own users, sessions and codes, so more than one needs REDIS_URL; and
 * the primary serves the workers' summed /metrics only on its own listener, so development mode needs METRICS_PORT.
 */
function workerCount(e: z.output<typeof EnvSchema>, dev: boolean, metricsPort: number | null): number {
  const workers = e.WORKERS ?? (hasRedis(e) && !dev ? availableParallelism() : 1);
  if (workers > 1 && !hasRedis(e)) {
    throw new ConfigError(
      'Invalid configuration: WORKERS: more than 1 needs Redis (on the embedded store each worker would have its own users, sessions and reset codes); unset WORKERS or set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS',
    );
  }
  if (workers > 1 && metricsPort === null) {
    throw new ConfigError(
      'Invalid configuration: WORKERS: more than 1 needs METRICS_PORT in development mode (the primary serves the summed /metrics on its own listener, never on PORT)',
    );
  }
  return workers;
}

/** Whether any Redis topology is set (else the embedded store). */
function hasRedis(e: z.output<typeof EnvSchema>): boolean {
  return TOPOLOGY_VARIABLES.some((name) => e[name] !== undefined);
}

const TOPOLOGY_VARIABLES = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const;

const needsRedis = (name: string): ConfigError =>
  new ConfigError(
    `Invalid configuration: ${name}: needs Redis (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS)`,
  );

/**
 * The Redis settings: which topology, the ACL user, TLS, the key prefix, the replicas a reset waits for. Null
 * for the embedded store. A combination that cannot mean one thing (a URL and a cluster, a password in two
 * places, TLS files without TLS) stops start-up naming the variables.
 */
function redisConfig(e: z.output<typeof EnvSchema>) {
  const given = TOPOLOGY_VARIABLES.filter((name) => e[name] !== undefined);
  if (given.length > 1) {
    throw new ConfigError(
      `Invalid configuration: ${given.join(', ')}: give one Redis topology (REDIS_URL for one node, REDIS_CLUSTER_NODES for a cluster, or REDIS_SENTINELS for a Sentinel-watched primary), not ${given.length}`,
    );
  }
  if (e.REDIS_SENTINELS !== undefined && e.REDIS_SENTINEL_NAME === undefined) {
    throw new ConfigError(
      'Invalid configuration: REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name the Sentinels monitor the primary under)',
    );
  }
  for (const name of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'] as const) {
    if (e[name] !== undefined && e.REDIS_SENTINELS === undefined) {
      throw new ConfigError(`Invalid configuration: ${name}: needs REDIS_SENTINELS`);
    }
  }
  const waits = e.REDIS_WAIT_REPLICAS > 0;
  if (given.length === 0) {
    const stray = (['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS'] as const).find(
      (name) => e[name] !== undefined,
    );
    if (stray) throw needsRedis(stray);
    if (waits) throw needsRedis('REDIS_WAIT_REPLICAS');
    loadRedisTls(e, false);
    return null;
  }
  if (e.REDIS_USERNAME !== undefined && e.REDIS_PASSWORD === undefined) {
    throw new ConfigError(
      'Invalid configuration: REDIS_USERNAME: needs REDIS_PASSWORD (the ACL user logs in with it)',
    );
  }
  if (e.REDIS_URL !== undefined) {
    const url = new URL(e.REDIS_URL);
    if ((url.username !== '' || url.password !== '') && e.REDIS_PASSWORD !== undefined) {
      throw new ConfigError(
        'Invalid configuration: REDIS_PASSWORD: REDIS_URL carries a user or password already; give them in one place',
      );
    }
    if (e.REDIS_TLS !== undefined) {
      throw new ConfigError(
        'Invalid configuration: REDIS_TLS: with REDIS_URL the scheme says it (rediss:// for TLS); unset REDIS_TLS',
      );
    }
  }
  if (waits && e.REDIS_WAIT_TIMEOUT_MS >= e.REDIS_COMMAND_TIMEOUT_MS) {
    throw new ConfigError(
      'Invalid configuration: REDIS_WAIT_TIMEOUT_MS: must be below REDIS_COMMAND_TIMEOUT_MS (the WAIT is one command and would time out first)',
    );
  }
  const secure = e.REDIS_URL !== undefined ? e.REDIS_URL.startsWith('rediss://') : e.REDIS_TLS === true;
  const topology: RedisTopology =
    e.REDIS_URL !== undefined
      ? { kind: 'single', url: e.REDIS_URL }
      : e.REDIS_CLUSTER_NODES !== undefined
        ? { kind: 'cluster', nodes: e.REDIS_CLUSTER_NODES }
        : {
            kind: 'sentinel',
            sentinels: e.REDIS_SENTINELS!,
            name: e.REDIS_SENTINEL_NAME!,
            sentinelPassword: e.REDIS_SENTINEL_PASSWORD ?? null,
          };
  const auth: RedisAuth | null =
    e.REDIS_PASSWORD === undefined
      ? null
      : Object.freeze({
          ...(e.REDIS_USERNAME !== undefined && { username: e.REDIS_USERNAME }),
          password: e.REDIS_PASSWORD,
        });
  const replicaWait: ReplicaWait | null = waits
    ? Object.freeze({ replicas: e.REDIS_WAIT_REPLICAS, timeoutMs: e.REDIS_WAIT_TIMEOUT_MS })
    : null;
  return Object.freeze({
    /** a single URL may carry an ACL user and password (redis://user:pass@host:port): never log it */
    topology: Object.freeze(topology),
    /** REDIS_USERNAME/REDIS_PASSWORD on every node; null: none (or in the URL). Never logged */
    auth,
    prefix: e.REDIS_PREFIX,
    commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    /** with TLS: the REDIS_TLS_* files' PEM text ({} trusts the system's CAs); null without TLS */
    tls: loadRedisTls(e, secure),
    /** null: a reset answers once the primary has its writes (REDIS_WAIT_REPLICAS 0) */
    replicaWait,
  });
}

/**
 * The TLS settings for Redis: null without TLS, else the REDIS_TLS_* files read and parsed now, so a missing,
 * unreadable or malformed file stops start-up naming its variable (not at the first command, as a 102).
 */
function loadRedisTls(e: z.output<typeof EnvSchema>, secure: boolean): RedisTls | null {
  const files = (['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'] as const).filter(
    (name) => e[name] !== undefined,
  );
  if (!secure) {
    if (files.length > 0) {
      throw new ConfigError(
        `Invalid configuration: ${files[0]}: needs TLS to Redis (a rediss:// REDIS_URL, or REDIS_TLS=true with REDIS_CLUSTER_NODES or REDIS_SENTINELS)`,
      );
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
