// Wires one gateway from its configuration: the stores, the hasher, the mailer and its delivery loop, the metrics
// and the dispatcher over the handlers, each unless a caller (a test, the bench) supplies it; then serves them.
import { handlers as defaultHandlers } from '../handlers';
import type { Handler, Services } from '../handlers/context';
import { createDispatcher } from '../protocol/dispatch';
import { systemClock } from '../core/ports/clock';
import type { Clock } from '../core/ports/clock';
import type { Mailer } from '../core/ports/mailer';
import type { ResetStore } from '../core/ports/reset-store';
import type { Store } from '../core/ports/store';
import { composeResetFlow } from '../core/reset-flow';
import type { ResetFlow } from '../core/reset-flow';
import { resolveSession } from '../core/sessions';
import type { Config } from './config';
import { createLogger } from './logger';
import type { Logger } from './logger';
import { DevOutbox } from './mail/dev-outbox';
import { MailDelivery } from './mail/delivery';
import { SendGridMailer } from './mail/sendgrid-mailer';
import { createCallRecorder, createMetrics } from './metrics';
import { createPasswordHasher } from './password-hasher';
import type { PasswordHasher } from './password-hasher';
import type { SessionResolver } from './server/connection';
import { serveGateway } from './server/server';
import type { Gateway } from './server/server';
import { createMemoryStore } from './stores/memory/memory-store';
import { MemoryResetStore } from './stores/memory/memory-reset-store';
import { RedisResetFlow } from './stores/redis/redis-reset-flow';
import { openRedisResetStore, RedisResetStore } from './stores/redis/redis-reset-store';
import { closeRedis, connectRedis, watchRedis } from './stores/redis/connection';
import { createRedisStore } from './stores/redis/redis-store';

export type { Gateway };

/** Parts a caller may supply; whatever is not supplied the gateway creates, and then also closes. */
export interface GatewayDeps {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly store?: Store;
  readonly handlers?: readonly Handler[];
  readonly resolveSession?: SessionResolver;
  readonly hasher?: PasswordHasher;
  readonly resets?: ResetStore;
  /** Default: SendGrid with SENDGRID_API_KEY, else (development mode only) the dev outbox. */
  readonly mailer?: Mailer;
  /** the built reset page, default dist/page */
  readonly pageDir?: string;
  /** false in a cluster worker: the primary serves the workers' summed /metrics on METRICS_PORT (workers.ts) */
  readonly metricsListener?: boolean;
}

/**
 * SendGrid when an API key is configured; otherwise, in development mode only, the dev outbox (it logs every
 * link and lists them at /dev/outbox, so anywhere else it would hand every account to whoever reads it).
 */
function createMailer(config: Config, logger: Logger, clock: Clock): Mailer {
  const sendgrid = config.mail.sendgrid;
  if (sendgrid === null) {
    if (!config.dev)
      throw new Error('no SENDGRID_API_KEY outside development mode (loadConfig refuses this)');
    return new DevOutbox(logger, { clock });
  }
  return new SendGridMailer({
    apiKey: sendgrid.apiKey,
    baseUrl: sendgrid.baseUrl,
    templateId: sendgrid.templateId,
    from: config.mail.from,
    fromName: config.mail.fromName,
  });
}

/** The longest the delivery loop waits to be told of a mail a reset request queued: 50 ms. */
const QUEUED_NOTICE_JITTER_MS = 50;

/**
 * The stores from configuration, unless given. On Redis the user store and the reset store share one
 * connection, and the reset flow runs each step as one script on it; with a store given, or on the embedded
 * store, the flow is composed from the stores' own operations.
 */
function openStores(
  config: Config,
  deps: GatewayDeps,
  logger: Logger,
  clock: Clock,
): { store: Store; resets: ResetStore; resetFlow: ResetFlow; closeFlow: () => Promise<void> } {
  const auditMaxLen = config.auditMaxLength;
  const refusalWindowMs = config.auditRefusalWindowSeconds * 1000;
  const mailShards = config.mail.queueShards;
  if (config.redis && deps.store === undefined && deps.resets === undefined) {
    const redis = connectRedis(config.redis, 'oms-gateway');
    const store = createRedisStore(config.redis, logger, redis, { clock });
    // the store owns the connection and closes it
    const resets = new RedisResetStore(redis, { auditMaxLen, refusalWindowMs, mailShards, clock });
    // the delivery loop wakes a little later, at random: its claim, rendering and send would otherwise run
    // right after the reply of a request for a known user, and slow the caller's next call only then
    const onQueued = (): void => {
      setTimeout(() => resets.noteQueued(), Math.random() * QUEUED_NOTICE_JITTER_MS).unref();
    };
    // WAIT (REDIS_WAIT_REPLICAS) holds up every command behind it on its connection: the flow then has its own
    const { replicaWait } = config.redis;
    const flowRedis = replicaWait ? connectRedis(config.redis, 'oms-gateway-reset-flow') : redis;
    if (flowRedis !== redis) watchRedis(flowRedis, logger, 'reset-flow');
    const resetFlow = new RedisResetFlow(flowRedis, {
      prefix: config.redis.prefix,
      auditMaxLen,
      refusalWindowMs,
      mailShards,
      onQueued,
      replicaWait,
    });
    const closeFlow = (): Promise<void> => (flowRedis === redis ? Promise.resolve() : closeRedis(flowRedis));
    return { store, resets, resetFlow, closeFlow };
  }
  const store =
    deps.store ??
    (config.redis ? createRedisStore(config.redis, logger, undefined, { clock }) : createMemoryStore(clock));
  const resets =
    deps.resets ??
    (config.redis
      ? openRedisResetStore(config.redis, logger, { auditMaxLen, refusalWindowMs, mailShards, clock })
      : new MemoryResetStore(clock, { auditMaxLen, refusalWindowMs }));
  return { store, resets, resetFlow: composeResetFlow(store, resets), closeFlow: () => Promise.resolve() };
}

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const clock = deps.clock ?? systemClock;
  const ownsStore = deps.store === undefined;
  const ownsResets = deps.resets === undefined;
  const { store, resets, resetFlow, closeFlow } = openStores(config, deps, logger, clock);
  const hasher =
    deps.hasher ??
    createPasswordHasher({
      ...config.argon2,
      concurrency: config.hashConcurrency,
      queueMax: config.hashQueue.max,
      queueMaxPerAddress: config.hashQueue.maxPerAddress,
    });
  const services: Services = { config, store, clock, logger, hasher, resets, resetFlow };
  const mailer = deps.mailer ?? createMailer(config, logger, clock);
  const metrics = createMetrics({
    queuedMail: () => resets.queuedMailCount(),
    hashes: hasher,
    pingStore: () => store.ping(),
  });
  const delivery = new MailDelivery(resets, mailer, logger, {
    maxAttempts: config.mail.maxAttempts,
    retryBaseMs: config.mail.retryBaseMs,
    leaseMs: config.mail.leaseMs,
    concurrency: config.mail.deliveryConcurrency,
    onOutcome: (kind, outcome) => metrics.mailDeliveries.labels({ kind, outcome }).inc(),
  });
  const resolveCaller: SessionResolver =
    deps.resolveSession ?? ((token) => resolveSession(store, token, config.sessionTtlSeconds));
  const handlers = deps.handlers ?? defaultHandlers;
  const recordCall = createCallRecorder(metrics, logger, (name) => dispatcher.has(name));
  const dispatcher = createDispatcher(handlers, { services, onCall: recordCall });
  return serveGateway({
    config,
    logger,
    clock,
    services,
    dispatcher,
    metrics,
    mailer,
    resolveSession: resolveCaller,
    ...(deps.pageDir === undefined ? {} : { pageDir: deps.pageDir }),
    metricsListener: deps.metricsListener !== false,
    onListening: () => delivery.start(),
    release: async () => {
      await delivery.stop();
      await closeFlow();
      if (ownsResets) await resets.close();
      if (ownsStore) await store.close();
    },
  });
}
