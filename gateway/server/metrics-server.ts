// GET /metrics for Prometheus on its own listener (METRICS_PORT, loopback by default, optionally a bearer token):
// its counters move only for real users (mail deliveries, queue depth), so they are never on the public port.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sameHash, sha256Hex } from '../../core/digest';
import type { Config } from '../config';
import { answerFromRoutes, sendJson } from './http-routes';
import type { Route } from './http-routes';
import type { Logger } from '../logger';
import { isLoopbackAddress, isLoopbackHostHeader } from './loopback';

/** What /metrics serves: a prom-client registry, or the cluster primary's sum over its workers (workers.ts). */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/**
 * Whether the request carries `Authorization: Bearer <token>`. Both sides are hashed first, so the constant-time
 * comparison is of equal lengths and does not tell the token's length either.
 */
function hasBearer(request: IncomingMessage, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1] !== undefined && sameHash(sha256Hex(match[1]), sha256Hex(token));
}

/**
 * Wraps a route that must stay on this machine: it answers 403 unless the Host header is a loopback name. A
 * loopback bind alone does not do it, since a page whose name resolves to 127.0.0.1 (DNS rebinding) can read
 * a local port from the user's browser, but it sends its own name as Host.
 */
export function loopbackHostOnly(route: Route): Route {
  return {
    ...route,
    handle: (request, response, url) => {
      if (!isLoopbackHostHeader(request.headers.host)) {
        return sendJson(response, 403, { error: 'Forbidden: this route answers only to a loopback Host' });
      }
      return route.handle(request, response, url);
    },
  };
}

/** GET /metrics in Prometheus text; with a token, 401 without the bearer. */
export function metricsRoute(source: MetricsSource, token: string | null): Route {
  return {
    method: 'GET',
    path: '/metrics',
    handle: async (request, response) => {
      if (token !== null && !hasBearer(request, token)) {
        return sendJson(response, 401, { error: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
      }
      const text = await source.metrics();
      response.writeHead(200, { 'content-type': source.contentType, 'cache-control': 'no-store' });
      response.end(text);
    },
  };
}

export interface MetricsServer {
  listen(): Promise<AddressInfo>;
  close(): Promise<void>;
  /** null until it listens */
  address(): AddressInfo | null;
}

/** The METRICS_PORT listener: GET /metrics, 404 for anything else. */
export function createMetricsServer(
  settings: Config['metrics'] & { readonly port: number },
  source: MetricsSource,
  logger: Logger,
): MetricsServer {
  let route = metricsRoute(source, settings.token);
  // without a token, a loopback listener is guarded like the dev routes; with one, the token is the guard
  if (settings.token === null && isLoopbackAddress(settings.host)) route = loopbackHostOnly(route);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://metrics.invalid');
    answerFromRoutes([route], request, response, url, (error) =>
      logger.error({ err: error }, 'metrics route failed'),
    );
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  function address(): AddressInfo | null {
    const value = server.address();
    return value === null || typeof value === 'string' ? null : value;
  }

  return {
    address,
    listen: () =>
      new Promise((resolve, reject) => {
        const failed = (error: Error): void =>
          reject(new Error(`METRICS_PORT ${settings.port} on ${settings.host}: ${error.message}`));
        server.once('error', failed);
        server.listen(settings.port, settings.host, () => {
          server.off('error', failed);
          resolve(address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
