// Plain HTTP routes (health, readiness; front doors add their own) and the one way a listener answers from routes.
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

/**
 * Answers a request from `routes`, the one way both listeners (the gateway's port and METRICS_PORT) do it: 404
 * for an unknown path, 405 for another method, and 500 when a route throws (`onFailure` logs it; a reply already
 * begun is cut off instead).
 */
export function answerFromRoutes(
  routes: readonly Route[],
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  onFailure: (error: unknown) => void,
): void {
  const route = findRoute(routes, request.method ?? 'GET', url.pathname);
  if (route === undefined) return sendJson(response, 404, { error: 'Not Found' });
  if (route === 'method') return sendJson(response, 405, { error: 'Method Not Allowed' });
  Promise.resolve(route.handle(request, response, url)).catch((error: unknown) => {
    onFailure(error);
    if (!response.headersSent) sendJson(response, 500, { error: 'Internal Server Error' });
    else response.destroy();
  });
}
