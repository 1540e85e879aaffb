// The gateway's servers: HTTP routes and WebSocket upgrades on one port, metrics on their own, over the wired parts.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { handlers as defaultHandlers } from '../../handlers';
import type { Services } from '../../handlers/context';
import type { Dispatcher } from '../../protocol/dispatch';
import {
  createAdmission,
  createHandshakeBucket,
  createRefusalLog,
  HANDSHAKE_RETRY_AFTER_SECONDS,
  UPGRADE_RETRY_AFTER_SECONDS,
} from './admission';
import type { RefusalReason } from './admission';
import { createClientAddressResolver } from './client-address';
import { isLoopbackAddress } from './loopback';
import type { ClientAddress } from './client-address';
import type { Clock } from '../../core/ports/clock';
import type { Config } from '../config';
import { CloseCode, serveConnection } from './connection';
import type { LiveConnection, SessionResolver } from './connection';
import { asyncApiDocument, openApiDocument } from './api-docs';
import { createHttpGateway } from './http-gateway';
import { startHeartbeat } from './heartbeat';
import { guardFileBudget } from './file-limit';
import type { FileGuard } from './file-limit';
import { answerFromRoutes, sendJson } from './http-routes';
import type { Route } from './http-routes';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { createMetricsServer, loopbackHostOnly, metricsRoute } from './metrics-server';
import type { MetricsServer } from './metrics-server';
import { isOriginAllowed } from './origin';
import { authResetRoutes } from './payabli';
import { resetPageRoutes } from './reset-page';
import { DevOutbox, devOutboxRoute } from '../mail/dev-outbox';
import type { Mailer } from '../../core/ports/mailer';

export interface Gateway {
  listen(): Promise<AddressInfo>;
  /** Stops accepting, lets calls in flight finish (bounded), closes sockets with 1001, then the store. */
  close(): Promise<void>;
  address(): AddressInfo;
  /** The METRICS_PORT listener's address; null when /metrics is on the main port (development mode). */
  metricsAddress(): AddressInfo | null;
  readonly services: Services;
  readonly dispatcher: Dispatcher;
  readonly metrics: Metrics;
  /** Open WebSocket connections. */
  readonly connections: ReadonlySet<LiveConnection>;
}

/** GET of a generated API document, made on first request and kept. */
function documentRoute(path: string, make: () => unknown): Route {
  let text: string | undefined;
  return {
    method: 'GET',
    path,
    handle: (_req, res) => {
      text ??= JSON.stringify(make());
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
      res.end(text);
    },
  };
}

const WS_PATH = /^\/(wsgateway\/?)?$/i;

/** HSTS once the reset page is https: browsers then never reach the gateway's host over plain http. */
const HSTS = 'max-age=31536000; includeSubDomains';

/** What the wiring (gateway/create-gateway.ts) hands the servers. */
export interface GatewayParts {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly services: Services;
  readonly dispatcher: Dispatcher;
  readonly metrics: Metrics;
  /** the dev outbox gets its route (development mode only) */
  readonly mailer: Mailer;
  readonly resolveSession: SessionResolver;
  /** the built reset page, default dist/page */
  readonly pageDir?: string;
  /** false in a cluster worker: the primary serves the summed /metrics (workers.ts) */
  readonly metricsListener: boolean;
  /** once listening: the mail delivery starts */
  onListening(): void;
  /** after the sockets closed: the mail delivery stops and the owned stores close */
  release(): Promise<void>;
}

/** The HTTP server and the WebSocket upgrades over the wired parts; close() undoes it in reverse. */
export function serveGateway(parts: GatewayParts): Gateway {
  const { config, logger, clock, services, dispatcher, metrics, mailer } = parts;
  const { store } = services;
  const resolveCaller = parts.resolveSession;
  const connections = new Set<LiveConnection>();
  const clientAddresses = createClientAddressResolver(config);
  const admission = createAdmission(config.connectionLimits);
  const logRefusal = createRefusalLog(logger);
  const handshakes = createHandshakeBucket(config.scale.handshakesPerSecond);
  // taken once the listeners are open (listen)
  let files: FileGuard = { exhausted: () => false };
  if (config.trustProxy.kind === 'none' && !isLoopbackAddress(config.host)) {
    logger.warn(
      { host: config.host },
      'TRUST_PROXY is unset on a public bind: the gateway assumes no proxy in front and takes the socket peer as the client; behind a load balancer set TRUST_PROXY to its addresses, or every client shares its limits',
    );
  }
  // one heartbeat timer for every socket (ws's README recipe), not one per socket, spread over the interval
  const heartbeat = startHeartbeat(connections, config.heartbeatIntervalMs);
  let shuttingDown = false;
  let closedPromise: Promise<void> | undefined;

  // POST /AP/<FunctionName>: the same dispatcher over HTTP (the OMS front end's style)
  const httpGateway = createHttpGateway({
    config,
    dispatcher,
    logger,
    resolveSession: resolveCaller,
    clientAddressOf,
    schemeOf: (request) => clientAddresses.schemeOf(request),
    isShuttingDown: () => shuttingDown,
  });

  // metrics on their own listener; only development mode without METRICS_PORT keeps them on this port
  const metricsServer: MetricsServer | null =
    config.metrics.port === null || !parts.metricsListener
      ? null
      : createMetricsServer({ ...config.metrics, port: config.metrics.port }, metrics.registry, logger);
  // the dev routes answer only to a loopback Host (DNS rebinding); development mode listens only on loopback
  const devRoutes: Route[] = config.dev
    ? [
        // the outbox lists reset links: only in development mode, never beside SendGrid
        ...(mailer instanceof DevOutbox ? [devOutboxRoute(mailer)] : []),
        ...(config.metrics.port === null ? [metricsRoute(metrics.registry, config.metrics.token)] : []),
      ].map(loopbackHostOnly)
    : [];

  const routes: Route[] = [
    ...devRoutes,
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
    // the product's own functions, whatever a test injects
    documentRoute('/asyncapi.json', () => asyncApiDocument(defaultHandlers)),
    documentRoute('/openapi.json', () => openApiDocument(defaultHandlers)),
    ...resetPageRoutes(config, logger, parts.pageDir),
    ...httpGateway.routes,
    ...authResetRoutes({ services, config, clientAddressOf }),
  ];

  const hsts = config.reset.pageUrl.startsWith('https:');

  function handleRequest(request: IncomingMessage, response: ServerResponse): void {
    if (hsts) response.setHeader('strict-transport-security', HSTS);
    const url = new URL(request.url ?? '/', 'http://gateway.invalid');
    answerFromRoutes(routes, request, response, url, (error) =>
      logger.error({ err: error, path: url.pathname }, 'http route failed'),
    );
  }

  // bounds on a slow client: Node's defaults hold a request whose body never ends for 300 s. The timeouts are
  // checked every connectionsCheckingInterval (default 30 s), so that runs at the headers timeout's scale.
  const server = createServer(
    {
      headersTimeout: config.httpTimeouts.headersMs,
      requestTimeout: config.httpTimeouts.requestMs,
      connectionsCheckingInterval: Math.min(1000, config.httpTimeouts.headersMs),
    },
    handleRequest,
  );
  // per-message deflate off: OMS frames are small, and compression costs CPU and memory per socket
  const wss = new WebSocketServer({
    // after a protocol error (e.g. 1009) ws stops reading, so the peer's close frame never arrives: bound the
    // wait. closeTimeout exists in ws 8.23 but not yet in @types/ws 8.18.
    ...({ closeTimeout: config.closeTimeoutMs } as object),
    noServer: true,
    // `connections` tracks the sockets; ws's own set would add a close listener and an entry per socket
    clientTracking: false,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
  });

  /** The key every per-address limit counts by (client-address.ts); the same for the socket and HTTP doors. */
  function clientAddressOf(request: IncomingMessage): string {
    return clientAddresses.addressOf(request).key;
  }

  function refuseUpgrade(socket: Socket, status: number, text: string, headers = ''): void {
    socket.end(`HTTP/1.1 ${status} ${text}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  /** 503 with Retry-After, counted and (rate-limited) logged; nothing already connected is touched. */
  function refuseBusy(socket: Socket, reason: RefusalReason, client: ClientAddress | null): void {
    metrics.connectionsRefused.labels({ reason }).inc();
    if (reason !== 'shutting_down') logRefusal(reason, { address: client?.address, open: connections.size });
    const wait = reason === 'handshake_rate' ? HANDSHAKE_RETRY_AFTER_SECONDS : UPGRADE_RETRY_AFTER_SECONDS;
    refuseUpgrade(socket, 503, 'Service Unavailable', `Retry-After: ${wait}\r\n`);
  }

  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined); // a peer that resets mid-upgrade must not crash the process
    const url = new URL(request.url ?? '/', 'http://gateway.invalid');
    if (!WS_PATH.test(url.pathname)) return refuseUpgrade(socket, 404, 'Not Found');
    const origin = request.headers.origin;
    const scheme = clientAddresses.schemeOf(request);
    if (!isOriginAllowed(origin, request.headers.host, config.allowedOrigins, scheme)) {
      metrics.connectionsRefused.labels({ reason: 'origin' }).inc();
      logger.warn({ origin: origin?.slice(0, 200) }, 'websocket upgrade refused: origin not allowed');
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    if (shuttingDown) return refuseBusy(socket, 'shutting_down', null);
    const client = clientAddresses.addressOf(request);
    if (files.exhausted()) return refuseBusy(socket, 'file_limit', client);
    const full = admission.refusal(client.key);
    if (full !== null) return refuseBusy(socket, full, client);
    // last, so upgrades refused for a cap take no token
    if (!handshakes.take()) return refuseBusy(socket, 'handshake_rate', client);
    // without verifyClient ws completes the upgrade synchronously, so the slot is taken in this same tick
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => acceptConnection(ws, client));
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
  const forgetConnection = (closed: LiveConnection): void => {
    if (connections.delete(closed)) admission.release(closed.connection.clientAddress);
  };
  function acceptConnection(ws: WebSocket, client: ClientAddress): void {
    admission.admit(client.key);
    connections.add(serveConnection(ws, client, connectionEnv, forgetConnection));
  }
  server.on('clientError', (error: Error & { code?: string }, socket) => {
    // HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS ran out: 408, as Node's own handler answers
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
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

  async function listen(): Promise<AddressInfo> {
    // metrics first, so close() (main port first) runs in reverse order
    await metricsServer?.listen();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // a reconnect storm's SYNs wait in the backlog instead of being dropped (and retried by the kernel after 1 s)
      server.listen({ port: config.port, host: config.host, backlog: config.listenBacklog }, () => {
        server.off('error', reject);
        files = guardFileBudget(
          server,
          { reserve: config.scale.fdReserve, maxConnections: config.connectionLimits.maxConnections },
          logger,
          (peer) => {
            metrics.connectionsRefused.labels({ reason: 'file_limit' }).inc();
            logRefusal('file_limit', { address: peer, open: connections.size, dropped: true });
          },
        );
        // queued mail (also from before a restart) goes out once the gateway is up
        parts.onListening();
        resolve(address());
      });
    });
  }

  async function shutdown(): Promise<void> {
    shuttingDown = true;
    heartbeat.stop();
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
    await metricsServer?.close();
    stopRevocations();
    await parts.release();
    logger.info('gateway closed');
  }

  return {
    listen,
    close: () => (closedPromise ??= shutdown()),
    address,
    metricsAddress: () => metricsServer?.address() ?? null,
    services,
    dispatcher,
    metrics,
    connections,
  };
}
