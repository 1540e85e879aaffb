// Plain HTTP routes on the gateway's port: health, readiness (metrics have their own listener). Front doors add their own routes.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Route {
  readonly method: string;
  /** Matches the URL's pathname. */
  readonly path: string | RegExp;
  handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> | void;
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  response.end(text);
}

export function findRoute(
  routes: readonly Route[],
  method: string,
  pathname: string,
): Route | 'method' | undefined {
  let pathMatched = false;
  for (const route of routes) {
    const matches = typeof route.path === 'string' ? route.path === pathname : route.path.test(pathname);
    if (!matches) continue;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return route;
    pathMatched = true;
  }
  return pathMatched ? 'method' : undefined;
}
