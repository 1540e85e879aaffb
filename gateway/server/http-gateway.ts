// POST /AP/<FunctionName>: the OMS HTTP gateway style, on the same dispatcher as the socket; CORS for browser pages.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OmsError } from '../../protocol/codes';
import type { Dispatcher } from '../../protocol/dispatch';
import type { Connection } from '../../protocol/handler';
import { toStandardResponse } from '../../protocol/standard-response';
import type { StandardResponse } from '../../protocol/standard-response';
import type { Config } from '../config';
import { newConnectionId } from './connection';
import type { SessionResolver } from './connection';
import { BodyAbortedError, BodyNotJsonError, BodyTooLargeError, readJsonBody } from './http-body';
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
function corsFor(
  request: IncomingMessage,
  allowed: readonly string[],
  scheme: string,
): Record<string, string> | null {
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

/** The standard response object of an answer the dispatcher does not give (bad body, refused origin, shutdown). */
const refusal = (error: OmsError): StandardResponse => toStandardResponse(error);

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

  async function call(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const cors = corsFor(request, config.allowedOrigins, env.schemeOf(request));
    if (cors === null) {
      logger.warn({ origin: request.headers.origin?.slice(0, 200) }, 'http call refused: origin not allowed');
      return sendJson(response, 403, refusal(new OmsError('NotAuthorized', 'Origin not allowed')), {
        vary: 'Origin',
      });
    }
    if (env.isShuttingDown()) {
      return sendJson(
        response,
        503,
        refusal(new OmsError('ServerError', 'Gateway is shutting down; retry')),
        {
          ...cors,
          connection: 'close',
        },
      );
    }
    const name = functionNameOf(url.pathname);
    if (!dispatcher.has(name)) {
      return sendJson(
        response,
        404,
        refusal(new OmsError('OperationNotSupported', 'Endpoint Not Found')),
        cors,
      );
    }
    let body: unknown;
    try {
      body = await readJsonBody(request, config.maxFrameBytes);
    } catch (error) {
      if (error instanceof BodyAbortedError) return;
      if (error instanceof BodyTooLargeError) {
        // the rest of the body is not read: the connection cannot carry another request after this answer
        const detail = `Request body is larger than ${config.maxFrameBytes} bytes`;
        return sendJson(response, 413, refusal(new OmsError('InvalidRequest', detail)), {
          ...cors,
          connection: 'close',
        });
      }
      if (error instanceof BodyNotJsonError) {
        return sendJson(response, 400, refusal(new OmsError('InvalidRequest', error.message)), cors);
      }
      throw error;
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
      if (!response.destroyed) sendJson(response, 200, payload, cors);
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
