// POST /AP/<FunctionName>: the OMS HTTP gateway style, on the same dispatcher as the socket; CORS for browser pages.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OmsError } from '../../protocol/codes';
import { endpointNotFound } from '../../protocol/dispatch';
import type { Dispatcher } from '../../protocol/dispatch';
import type { Connection } from '../../protocol/handler';
import { toStandardResponse } from '../../protocol/standard-response';
import type { Config } from '../config';
import { newConnectionId } from './connection';
import type { SessionResolver } from './connection';
import { readJsonBody } from './http-body';
import { httpFailureOf, HttpRefusal } from './http-errors';
import { sendJson } from './http-routes';
import type { Route } from './http-routes';
import type { Logger } from '../logger';
import { isOriginAllowed } from './origin';

export interface HttpGatewayEnv {
  readonly config: Config;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  readonly resolveSession: SessionResolver;
  /** The peer's address (honours TRUST_PROXY), for limits and audit. */
  clientAddressOf(request: IncomingMessage): string;
  /** The scheme the client used (honours TRUST_PROXY's X-Forwarded-Proto), for the same-host Origin rule. */
  schemeOf(request: IncomingMessage): string;
  /** True once shutdown has begun: new calls get 503, calls in flight finish. */
  isShuttingDown(): boolean;
}

export interface HttpGateway {
  readonly routes: readonly Route[];
  /** Resolves when no /AP call is in flight (at once if none); shutdown waits for it as for the sockets. */
  idle(): Promise<void>;
}

/** `/AP/<FunctionName>`; the prefix is matched case-insensitively like the function name itself. */
export const AP_PATH = /^\/AP\/([^/]+)\/?$/i;

/** What a browser page may send besides simple headers: JSON, and the session. */
const ALLOWED_HEADERS = 'Content-Type, APToken';
/** How long a browser may keep a preflight answer, default 600 s. */
const PREFLIGHT_MAX_AGE_SECONDS = '600';
/** Longest APToken looked up: SessionTokens are UUIDs; anything much longer is not one. */
const MAX_TOKEN_LENGTH = 128;

/**
 * Whether a browser request may go ahead, and the CORS headers its answer carries. The same rule as WebSocket
 * upgrades (origin.ts): no Origin (a program) or an allowed one. `Vary: Origin` always, so a cache never serves
 * one origin's answer to another.
 */
type Cors = Record<string, string>;

function corsFor(request: IncomingMessage, allowed: readonly string[], scheme: string): Cors | null {
  const origin = request.headers.origin;
  if (!isOriginAllowed(origin, request.headers.host, allowed, scheme)) return null;
  return origin === undefined
    ? { vary: 'Origin' }
    : { vary: 'Origin', 'access-control-allow-origin': origin };
}

/** The function name from the path; a malformed %-escape stays as sent (and is then no function's name). */
function functionNameOf(pathname: string): string {
  const raw = AP_PATH.exec(pathname)?.[1] ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** The APToken header, or null when absent, empty or too long to be a SessionToken. */
function apTokenOf(request: IncomingMessage): string | null {
  const value = request.headers.aptoken;
  const token = (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
  return token === '' || token.length > MAX_TOKEN_LENGTH ? null : token;
}

export function createHttpGateway(env: HttpGatewayEnv): HttpGateway {
  const { config, dispatcher, logger } = env;
  let inflight = 0;
  const idleWaiters: (() => void)[] = [];

  /**
   * One Connection per request: its session starts as the APToken header. A login call over /AP binds its
   * new session here only for the rest of this request; the client gets the SessionToken in the reply and
   * sends it as APToken from then on.
   */
  function requestConnection(request: IncomingMessage): Connection {
    let sessionToken = apTokenOf(request);
    return {
      id: newConnectionId(),
      transport: 'http',
      clientAddress: env.clientAddressOf(request),
      currentCaller: () => (sessionToken === null ? Promise.resolve(null) : env.resolveSession(sessionToken)),
      bindSession: (token) => {
        sessionToken = token;
      },
    };
  }

  /** The call's body, once the checks before it pass; each refusal is thrown for httpFailureOf. */
  async function admit(request: IncomingMessage, name: string, cors: Cors | null): Promise<unknown> {
    if (cors === null) {
      logger.warn({ origin: request.headers.origin?.slice(0, 200) }, 'http call refused: origin not allowed');
      throw new HttpRefusal(403, new OmsError('NotAuthorized', 'Origin not allowed'));
    }
    if (env.isShuttingDown()) {
      const error = new OmsError('ServerError', 'Gateway is shutting down; retry');
      throw new HttpRefusal(503, error, { connection: 'close' });
    }
    if (!dispatcher.has(name)) {
      throw new HttpRefusal(404, endpointNotFound());
    }
    return readJsonBody(request, config.maxFrameBytes);
  }

  async function call(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const cors = corsFor(request, config.allowedOrigins, env.schemeOf(request));
    const name = functionNameOf(url.pathname);
    let body: unknown;
    try {
      body = await admit(request, name, cors);
    } catch (error) {
      const failure = httpFailureOf(error);
      if (failure === null) return;
      if (failure.unexpected) logger.error({ err: error }, 'http call failed');
      const headers = { ...(cors ?? { vary: 'Origin' }), ...failure.headers };
      return sendJson(response, failure.status, toStandardResponse(failure.error), headers);
    }
    const abort = new AbortController();
    // the client went away before its answer: the handler may stop, as on a closed socket
    response.once('close', () => {
      if (!response.writableFinished) abort.abort();
    });
    inflight++;
    try {
      const { payload } = await dispatcher.invoke(name, body, requestConnection(request), abort.signal);
      // the body is exactly what the socket's reply carries in `o`
      if (!response.destroyed) sendJson(response, 200, payload, cors ?? {});
    } finally {
      inflight--;
      if (inflight === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    }
  }

  function preflight(request: IncomingMessage, response: ServerResponse): void {
    const cors = corsFor(request, config.allowedOrigins, env.schemeOf(request));
    if (cors === null) {
      logger.warn(
        { origin: request.headers.origin?.slice(0, 200) },
        'cors preflight refused: origin not allowed',
      );
      response.writeHead(403, { vary: 'Origin', 'content-length': 0, 'cache-control': 'no-store' });
      return void response.end();
    }
    response.writeHead(204, {
      ...cors,
      allow: 'POST, OPTIONS',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': ALLOWED_HEADERS,
      'access-control-max-age': PREFLIGHT_MAX_AGE_SECONDS,
      'content-length': 0,
    });
    response.end();
  }

  return {
    routes: [
      { method: 'POST', path: AP_PATH, handle: call },
      { method: 'OPTIONS', path: AP_PATH, handle: preflight },
    ],
    idle: () =>
      inflight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
  };
}
