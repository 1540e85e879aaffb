// Builds a gateway (HTTP server + WebSocket upgrades + routes) apart from listening; close() undoes it in reverse.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { handlers as defaultHandlers } from '../handlers';
import type { Handler, Services } from '../handlers/context';
import { createDispatcher } from '../protocol/dispatch';
import type { CallOutcome, Dispatcher } from '../protocol/dispatch';
import { systemClock } from './clock';
import type { Clock } from './clock';
import type { Config } from './config';
import { CloseCode, serveConnection } from './connection';
import type { LiveConnection, SessionResolver } from './connection';
import { createHttpGateway } from './http-gateway';
import { findRoute, sendJson } from './http-routes';
import type { Route } from './http-routes';
import { createLogger } from './logger';
import type { Logger } from './logger';
import { createMetrics } from './metrics';
import type { Metrics } from './metrics';
import { isOriginAllowed } from './origin';
import { createPasswordHasher } from './password-hasher';
import { authResetRoutes } from './payabli';
import type { PasswordHasher } from './password-hasher';
import { resetPageRoutes } from './reset-page';
import { resolveSession } from './sessions';
import { createMemoryStore } from './store/memory-store';
import { connectRedis, createRedisStore } from './store/redis-store';
import type { Store } from './store/store';
import { MemoryResetStore } from './reset-store/memory-reset-store';
import { RedisResetFlow } from './reset-store/redis-reset-flow';
import { openRedisResetStore, RedisResetStore } from './reset-store/redis-reset-store';
import { composeResetFlow } from './reset-store/reset-flow';
import type { ResetFlow } from './reset-store/reset-flow';
import type { ResetStore } from './reset-store/reset-store';
import { DevOutbox, devOutboxRoute } from './mail/dev-outbox';
import { MailDelivery } from './mail/delivery';
import type { Mailer } from './mail/mailer';
import { SendGridMailer } from './mail/sendgrid-mailer';

/** Parts a caller may supply; whatever is not supplied the gateway creates, and then also closes. */
export interface GatewayDeps {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly store?: Store;
  readonly handlers?: readonly Handler[];
  readonly resolveSession?: SessionResolver;
  readonly hasher?: PasswordHasher;
  readonly resets?: ResetStore;
  /** Default: SendGrid with SENDGRID_API_KEY, else the development outbox. */
  readonly mailer?: Mailer;
  /** the built reset page, default dist/page */
  readonly pageDir?: string;
}

export interface Gateway {
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets calls in flight finish (bounded), closes sockets with 1001, then the store. */
  close(): Promise<void>;
  address(): AddressInfo;
  readonly services: Services;
  readonly dispatcher: Dispatcher;
  readonly metrics: Metrics;
  /** Open WebSocket connections. */
  readonly connections: ReadonlySet<LiveConnection>;
}

/** SendGrid when an API key is configured; otherwise the development outbox (logged, listed at /dev/outbox). */
function createMailer(config: Config, logger: Logger, clock: Clock): Mailer {
  const sendgrid = config.mail.sendgrid;
  if (sendgrid === null) return new DevOutbox(logger, { clock });
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
): { store: Store; resets: ResetStore; resetFlow: ResetFlow } {
  const auditMaxLen = config.auditMaxLength;
  const refusalWindowMs = config.auditRefusalWindowSeconds * 1000;
  if (config.redis && deps.store === undefined && deps.resets === undefined) {
    const redis = connectRedis(config.redis, 'oms-gateway');
    const store = createRedisStore(config.redis, logger, redis);
    // the store owns the connection and closes it
    const resets = new RedisResetStore(redis, { auditMaxLen, refusalWindowMs });
    // the delivery loop wakes a little later, at random: its claim, rendering and send would otherwise run
    // right after the reply of a request for a known user, and slow the caller's next call only then
    const onQueued = (): void => {
      setTimeout(() => resets.noteQueued(), Math.random() * QUEUED_NOTICE_JITTER_MS).unref();
    };
    const resetFlow = new RedisResetFlow(redis, {
      prefix: config.redis.prefix,
      auditMaxLen,
      refusalWindowMs,
      onQueued,
    });
    return { store, resets, resetFlow };
  }
  const store =
    deps.store ?? (config.redis ? createRedisStore(config.redis, logger) : createMemoryStore(clock));
  const resets =
    deps.resets ??
    (config.redis
      ? openRedisResetStore(config.redis, logger, { auditMaxLen, refusalWindowMs })
      : new MemoryResetStore(clock, { auditMaxLen, refusalWindowMs }));
  return { store, resets, resetFlow: composeResetFlow(store, resets) };
}

const WS_PATH = /^\/(wsgateway\/?)?$/i;

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const logger = deps.logger ?? createLogger(config.logLevel);
  const clock = deps.clock ?? systemClock;
  const ownsStore = deps.store === undefined;
  const ownsResets = deps.resets === undefined;
  const { store, resets, resetFlow } = openStores(config, deps, logger, clock);
  const hasher =
    deps.hasher ?? createPasswordHasher({ ...config.argon2, concurrency: config.hashConcurrency });
  const services: Services = { config, store, clock, logger, hasher, resets, resetFlow };
  const mailer = deps.mailer ?? createMailer(config, logger, clock);
  const metrics = createMetrics({ queuedMail: () => resets.queuedMailCount(), hashes: hasher });
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
  const dispatcher = createDispatcher(handlers, { services, onCall: (outcome) => recordCall(outcome) });
  const connections = new Set<LiveConnection>();
  // one heartbeat timer for every socket (ws's README recipe), not one per socket
  const heartbeat = setInterval(() => {
    for (const live of connections) live.heartbeat();
  }, config.heartbeatIntervalMs);
  heartbeat.unref();
  let shuttingDown = false;
  let closedPromise: Promise<void> | undefined;

  // prom-client's labelled children, made once per function (and errorcode): inc/observe with a labels object
  // hash the labels on every call, a few % of a Ping (bench profile). Bounded: unknown names count as '(unknown)'.
  const callCounters = new Map<string, { inc(): void }>();
  const callTimers = new Map<string, { observe(seconds: number): void }>();

  function recordCall(outcome: CallOutcome): void {
    const name = dispatcher.has(outcome.name) ? outcome.name : '(unknown)';
    const counterKey = `${name} ${outcome.errorcode}`;
    let counter = callCounters.get(counterKey);
    if (counter === undefined) {
      counter = metrics.calls.labels({ function: name, errorcode: String(outcome.errorcode) });
      callCounters.set(counterKey, counter);
    }
    counter.inc();
    let timer = callTimers.get(name);
    if (timer === undefined) {
      timer = metrics.callSeconds.labels({ function: name });
      callTimers.set(name, timer);
    }
    timer.observe(outcome.seconds);
    if (outcome.errorcode === 0) return;
    const fields = {
      conn: outcome.connection.id,
      transport: outcome.connection.transport,
      function: name,
      errorcode: outcome.errorcode,
      detail: outcome.detail,
      userId: outcome.caller?.userId,
    };
    if (outcome.unexpected !== undefined) logger.error({ ...fields, err: outcome.unexpected }, 'call failed');
    else logger.warn(fields, 'call failed');
  }

  // POST /AP/<FunctionName>: the same dispatcher over HTTP (the OMS front end's style)
  const httpGateway = createHttpGateway({
    config,
    dispatcher,
    logger,
    resolveSession: resolveCaller,
    clientAddressOf,
    isShuttingDown: () => shuttingDown,
  });

  const routes: Route[] = [
    // the outbox lists reset links: only when no real mail is sent (a local run), never beside SendGrid
    ...(mailer instanceof DevOutbox ? [devOutboxRoute(mailer)] : []),
    { method: 'GET', path: '/healthz', handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/readyz',
      handle: async (_req, res) => {
        try {
          await store.ping();
          sendJson(res, shuttingDown ? 503 : 200, {
            status: shuttingDown ? 'shutting down' : 'ready',
            store: store.kind,
          });
        } catch {
          sendJson(res, 503, { status: 'store unreachable', store: store.kind });
        }
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handle: async (_req, res) => {
        const text = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      },
    },
    ...resetPageRoutes(config, logger, deps.pageDir),
    ...httpGateway.routes,
    ...authResetRoutes({ services, clientAddressOf }),
  ];

  function handleRequest(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://gateway.invalid');
    const route = findRoute(routes, request.method ?? 'GET', url.pathname);
    if (route === undefined) return sendJson(response, 404, { error: 'Not Found' });
    if (route === 'method') return sendJson(response, 405, { error: 'Method Not Allowed' });
    Promise.resolve(route.handle(request, response, url)).catch((error: unknown) => {
      logger.error({ err: error, path: url.pathname }, 'http route failed');
      if (!response.headersSent) sendJson(response, 500, { error: 'Internal Server Error' });
      else response.destroy();
    });
  }

  const server = createServer(handleRequest);
  // per-message deflate off: OMS frames are small, and compression costs CPU and memory per socket
  const wss = new WebSocketServer({
    // after a protocol error (e.g. 1009) ws stops reading, so the peer's close frame never arrives: bound the
    // wait. closeTimeout exists in ws 8.23 but not yet in @types/ws 8.18.
    ...({ closeTimeout: config.closeTimeoutMs } as object),
    noServer: true,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
  });

  function clientAddressOf(request: IncomingMessage): string {
    const direct = request.socket.remoteAddress ?? 'unknown';
    if (!config.trustProxy) return direct;
    const forwarded = request.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? ''))
      .split(',')
      .pop()
      ?.trim();
    return last || direct;
  }

  function refuseUpgrade(socket: Socket, status: number, text: string): void {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined); // a peer that resets mid-upgrade must not crash the process
    const url = new URL(request.url ?? '/', 'http://gateway.invalid');
    if (!WS_PATH.test(url.pathname)) return refuseUpgrade(socket, 404, 'Not Found');
    const origin = request.headers.origin;
    if (!isOriginAllowed(origin, request.headers.host, config.allowedOrigins)) {
      logger.warn({ origin: origin?.slice(0, 200) }, 'websocket upgrade refused: origin not allowed');
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    if (shuttingDown) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const clientAddress = clientAddressOf(request);
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => acceptConnection(ws, clientAddress));
  });

  // Made once, outside the upgrade handler: closures created in that handler's scope would keep its request
  // (headers, raw headers, URL) alive for the socket's whole life, 1.2 KiB per idle connection (bench, issue 6)
  const connectionEnv = {
    config,
    dispatcher,
    logger,
    metrics,
    clock,
    resolveSession: resolveCaller,
    isShuttingDown: () => shuttingDown,
  };
  const forgetConnection = (closed: LiveConnection): void => void connections.delete(closed);
  function acceptConnection(ws: WebSocket, clientAddress: string): void {
    connections.add(serveConnection(ws, clientAddress, connectionEnv, forgetConnection));
  }
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  // a revocation from any gateway on the store de-authenticates this gateway's sockets bound to those sessions
  const stopRevocations = store.sessions.onRevoked(({ userId, sessionIds }) => {
    const ended = new Set(sessionIds);
    for (const live of connections) {
      const sessionId = live.sessionId();
      if (sessionId === null || !ended.has(sessionId)) continue;
      live.connection.bindSession(null);
      logger.info({ conn: live.id, userId }, 'session revoked: connection de-authenticated');
    }
  });

  function address(): AddressInfo {
    const value = server.address();
    if (value === null || typeof value === 'string') throw new Error('gateway is not listening');
    return value;
  }

  function listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        // queued mail (also from before a restart) goes out once the gateway is up
        delivery.start();
        resolve(address());
      });
    });
  }

  async function shutdown(): Promise<void> {
    shuttingDown = true;
    clearInterval(heartbeat);
    const stopListening = new Promise<void>((resolve) =>
      server.listening ? server.close(() => resolve()) : resolve(),
    );
    const drained = Promise.all([...[...connections].map((live) => live.idle()), httpGateway.idle()]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs);
    });
    if ((await Promise.race([drained, timedOut])) === 'timeout') {
      logger.warn({ connections: connections.size }, 'shutdown timeout: closing with calls still in flight');
    }
    clearTimeout(timer);
    await Promise.all(
      [...connections].map((live) => live.close(CloseCode.GoingAway, 'Gateway shutting down')),
    );
    wss.close();
    server.closeAllConnections();
    await stopListening;
    stopRevocations();
    await delivery.stop();
    if (ownsResets) await resets.close();
    if (ownsStore) await store.close();
    logger.info('gateway closed');
  }

  return {
    listen,
    close: () => (closedPromise ??= shutdown()),
    address,
    services,
    dispatcher,
    metrics,
    connections,
  };
}
