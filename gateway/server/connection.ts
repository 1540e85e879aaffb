// One closure per WebSocket connection: reading with a bound on calls in flight, replies, heartbeat, close.
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { Dispatcher } from '../../protocol/dispatch';
import { errorReply } from '../../protocol/dispatch';
import { OmsError } from '../../protocol/codes';
import { MessageType } from '../../protocol/frame';
import type { Caller, Connection } from '../../protocol/handler';
import type { ClientAddress } from './client-address';
import type { Clock } from '../../core/ports/clock';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { sessionIdOf } from '../../core/sessions';

/** Close codes the gateway uses (RFC 6455). */
export const CloseCode = {
  GoingAway: 1001,
  PolicyViolation: 1008,
  TooBig: 1009,
} as const;

/** Turns a bound SessionToken into its caller (refreshing the idle TTL), or null when it is no longer live. */
export type SessionResolver = (sessionToken: string) => Promise<Caller | null>;

export interface ConnectionEnv {
  readonly config: Config;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly resolveSession: SessionResolver;
  /** the store's clock: the session recheck window runs on the same time as the session TTL */
  readonly clock: Clock;
  /** True once shutdown has begun: new calls are refused, calls in flight finish. */
  isShuttingDown(): boolean;
}

/** What the gateway keeps of each open socket. */
export interface LiveConnection {
  readonly id: string;
  readonly connection: Connection;
  /** Resolves when no call is in flight (at once if none). */
  idle(): Promise<void>;
  /** Closes with a code; resolves when the socket is closed. */
  close(code: number, reason: string): Promise<void>;
  /** The store's id (SHA-256) of the bound session, or null; a revocation names the sessions it ended. */
  sessionId(): string | null;
  /**
   * One heartbeat tick (the gateway runs one timer for all sockets, as ws's README does): a peer that did not
   * answer the last ping is terminated; otherwise it is pinged again.
   */
  heartbeat(): void;
}

export function newConnectionId(): string {
  return randomBytes(6).toString('hex');
}

export function serveConnection(
  ws: WebSocket,
  client: ClientAddress,
  env: ConnectionEnv,
  onClosed: (live: LiveConnection) => void,
): LiveConnection {
  const { config, dispatcher, logger, metrics } = env;
  const id = newConnectionId();
  // the connection id is bound per line: a child logger (or a closure) per socket would live as long as it
  const log = (level: 'info' | 'warn' | 'error', fields: object, message: string): void =>
    logger[level]({ conn: id, ...fields }, message);
  const openedAt = Date.now();
  // made on the first call: an idle socket needs none (memory per idle socket is a benchmark target)
  let abort: AbortController | undefined;
  const waiting: string[] = [];
  const idleWaiters: (() => void)[] = [];
  let inflight = 0;
  let paused = false;
  let badInARow = 0;
  let calls = 0;
  let closing = false;
  let alive = true;
  let sessionToken: string | null = null;
  let sessionId: string | null = null;
  /**
   * UNAUTHENTICATED_IDLE_MS: a socket that has not logged in by then is closed, so anonymous sockets cannot be
   * held open. "Not logged in" means no successful login since it opened; a call in flight at the deadline
   * (the reset page's ResetPassword2, a Ping) is answered first, and the socket closes when none is left.
   * Calls do not move the deadline. Once a login succeeds it no longer applies, also after a LogOut.
   */
  let loginDeadline: NodeJS.Timeout | undefined;
  let loginOverdue = false;
  /**
   * The last check of the bound session against the store, reused for SESSION_RECHECK_MS: a busy socket
   * does not pay a store round trip per call. A revocation unbinds the session at once (bindSession);
   * what the window delays is only the idle-TTL refresh and a permission change made elsewhere.
   */
  let checked: { readonly at: number; readonly caller: Promise<Caller | null> } | null = null;

  const connection: Connection = {
    id,
    transport: 'ws',
    clientAddress: client.key,
    currentCaller: () => {
      if (sessionToken === null) return Promise.resolve(null);
      if (checked !== null && env.clock.now() - checked.at < config.sessionRecheckMs) return checked.caller;
      const token = sessionToken;
      const caller = env.resolveSession(token);
      checked = { at: env.clock.now(), caller };
      // a failed check (store away) is not kept: the next call asks again
      caller.catch(() => {
        if (sessionToken === token) checked = null;
      });
      return caller;
    },
    bindSession: (token, caller) => {
      if (token !== null && loginDeadline !== undefined) {
        clearTimeout(loginDeadline);
        loginDeadline = undefined;
        loginOverdue = false;
      }
      sessionToken = token;
      sessionId = token === null ? null : sessionIdOf(token);
      checked = token !== null && caller ? { at: env.clock.now(), caller: Promise.resolve(caller) } : null;
    },
  };

  let closed: Promise<void> | undefined;

  function closeWith(code: number, reason: string): void {
    if (closing) return;
    closing = true;
    ws.close(code, reason);
  }

  function send(text: string, m: MessageType): void {
    if (closing) return;
    ws.send(text);
    badInARow = m === MessageType.Error ? badInARow + 1 : 0;
    if (badInARow >= config.maxBadFrames) {
      log('warn', { badFrames: badInARow }, 'closing connection: too many bad frames in a row');
      closeWith(CloseCode.PolicyViolation, 'Too many bad frames');
    } else if (ws.bufferedAmount > config.maxBufferedBytes) {
      log(
        'warn',
        { bufferedBytes: ws.bufferedAmount },
        'closing connection: client is not reading its replies',
      );
      closeWith(CloseCode.PolicyViolation, 'Client not reading');
    }
  }

  function closeIfLoginOverdue(): void {
    if (!loginOverdue || inflight > 0 || waiting.length > 0) return;
    log(
      'info',
      { ms: config.connectionLimits.unauthenticatedIdleMs },
      'closing connection: no login in time',
    );
    closeWith(CloseCode.PolicyViolation, 'Not logged in in time');
  }

  function settleIdle(): void {
    if (inflight > 0 || waiting.length > 0) return;
    closeIfLoginOverdue();
    for (const resolve of idleWaiters.splice(0)) resolve();
  }

  /** Starts waiting calls while the bound allows; stops reading the socket while it does not. */
  function pump(): void {
    while (inflight < config.maxInflightPerConnection && waiting.length > 0) {
      start(waiting.shift()!);
    }
    const full = inflight >= config.maxInflightPerConnection;
    if (full && !paused) {
      paused = true;
      ws.pause();
    } else if (!full && paused) {
      paused = false;
      ws.resume();
    }
    settleIdle();
  }

  function start(text: string): void {
    if (env.isShuttingDown()) {
      const reply = errorReply(
        sequenceOf(text),
        '',
        new OmsError('ServerError', 'Gateway is shutting down; reconnect'),
      );
      send(reply.text, MessageType.Reply);
      return;
    }
    inflight++;
    calls++;
    dispatcher
      .dispatch(text, connection, (abort ??= new AbortController()).signal)
      .then((reply) => send(reply.text, reply.m))
      .catch((error: unknown) => log('error', { err: error }, 'dispatch failed')) // dispatch never throws; kept for safety
      .finally(() => {
        inflight--;
        pump();
      });
  }

  ws.on('message', (data, isBinary) => {
    if (closing) return;
    if (isBinary) {
      const reply = errorReply(
        0,
        '',
        new OmsError('InvalidRequest', 'Binary frames are not supported; send JSON text'),
      );
      send(reply.text, reply.m);
      return;
    }
    waiting.push(
      Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'),
    );
    pump();
  });

  ws.on('pong', () => {
    alive = true;
  });

  // errors (bad UTF-8, oversize frames, resets) are followed by 'close'; without a listener they would crash
  ws.on('error', (error: Error & { code?: string }) => {
    log('info', { reason: error.code ?? error.message }, 'connection error');
  });

  ws.on('close', (code: number, reason: Buffer) => {
    clearTimeout(loginDeadline);
    abort?.abort();
    waiting.length = 0;
    metrics.connectionsOpen.dec();
    log(
      'info',
      { code, reason: reason.toString('utf8').slice(0, 120), calls, seconds: (Date.now() - openedAt) / 1000 },
      'connection closed',
    );
    settleIdle();
    onClosed(live);
  });

  metrics.connectionsOpen.inc();
  metrics.connectionsTotal.inc();
  log('info', { address: client.address, key: client.key, port: client.port }, 'connection open');
  if (config.connectionLimits.unauthenticatedIdleMs > 0) {
    loginDeadline = setTimeout(() => {
      loginDeadline = undefined;
      loginOverdue = true;
      closeIfLoginOverdue();
    }, config.connectionLimits.unauthenticatedIdleMs);
    loginDeadline.unref();
  }

  const live: LiveConnection = {
    id,
    connection,
    idle: () =>
      inflight === 0 && waiting.length === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => idleWaiters.push(resolve)),
    close: (code, reason) => {
      if (ws.readyState === ws.CLOSED) return Promise.resolve();
      closed ??= new Promise<void>((resolve) => ws.once('close', () => resolve()));
      closeWith(code, reason);
      return closed;
    },
    sessionId: () => sessionId,
    heartbeat: () => {
      if (!alive) {
        log('warn', {}, 'terminating connection: no pong within the heartbeat interval');
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    },
  };
  return live;
}

/** The sequence number of a frame, if it can be read, for replies that do not decode it fully. */
function sequenceOf(text: string): number {
  try {
    const value = JSON.parse(text) as { i?: unknown };
    return Number.isSafeInteger(value.i) ? (value.i as number) : 0;
  } catch {
    return 0;
  }
}
