// One closure per WebSocket connection: reading with a bound on calls in flight, replies, heartbeat, close.
import { randomBytes } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
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

/**
 * Serves one socket. The state lives in one object whose methods sit on its prototype, and the socket's four
 * listeners are shared by every socket (they find their connection on the socket): per-socket closures and
 * their contexts cost about 1.7 KiB per idle socket, and memory per idle socket is a benchmark target (issue 15).
 */
export function serveConnection(
  ws: WebSocket,
  client: ClientAddress,
  env: ConnectionEnv,
  onClosed: (live: LiveConnection) => void,
): LiveConnection {
  const served = new SocketConnection(ws, client.key, env, onClosed);
  (ws as OwnedSocket)[OWNER] = served;
  ws.on('message', onMessage);
  ws.on('pong', onPong);
  // errors (bad UTF-8, oversize frames, resets) are followed by 'close'; without a listener they would crash
  ws.on('error', onError);
  ws.on('close', onClose);
  env.metrics.connectionsOpen.inc();
  env.metrics.connectionsTotal.inc();
  served.log('info', { address: client.address, key: client.key, port: client.port }, 'connection open');
  served.startLoginDeadline();
  return served;
}

const OWNER = Symbol('oms-connection');
const LOADED_AT = Date.now();
type OwnedSocket = WebSocket & { [OWNER]: SocketConnection };

const ownerOf = (ws: WebSocket): SocketConnection => (ws as OwnedSocket)[OWNER];

// ws calls a listener with the socket as `this`
function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  ownerOf(this).receive(data, isBinary);
}

function onPong(this: WebSocket): void {
  ownerOf(this).alive = true;
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  ownerOf(this).log('info', { reason: error.code ?? error.message }, 'connection error');
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  ownerOf(this).closed(code, reason);
}

class SocketConnection implements Connection, LiveConnection {
  readonly id = newConnectionId();
  /** ms since this module loaded: a small integer, where Date.now() would be a boxed double per socket */
  private readonly openedAt = Date.now() - LOADED_AT;
  // made on the first call: an idle socket needs none
  private abort: AbortController | undefined;
  private waiting: string[] | null = null;
  private idleWaiters: (() => void)[] | null = null;
  private inflight = 0;
  private paused = false;
  private badInARow = 0;
  private calls = 0;
  private closing = false;
  /** false from a heartbeat ping until its pong */
  alive = true;
  private sessionToken: string | null = null;
  private boundSessionId: string | null = null;
  /**
   * UNAUTHENTICATED_IDLE_MS: a socket that has not logged in by then is closed, so anonymous sockets cannot be
   * held open. "Not logged in" means no successful login since it opened; a call in flight at the deadline
   * (the reset page's ResetPassword2, a Ping) is answered first, and the socket closes when none is left.
   * Calls do not move the deadline. Once a login succeeds it no longer applies, also after a LogOut.
   */
  private loginDeadline: NodeJS.Timeout | undefined;
  private loginOverdue = false;
  /**
   * The last check of the bound session against the store, reused for SESSION_RECHECK_MS: a busy socket
   * does not pay a store round trip per call. A revocation unbinds the session at once (bindSession);
   * what the window delays is only the idle-TTL refresh and a permission change made elsewhere.
   */
  private checked: { readonly at: number; readonly caller: Promise<Caller | null> } | null = null;
  private closedPromise: Promise<void> | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly clientAddress: string,
    private readonly env: ConnectionEnv,
    private readonly onClosed: (live: LiveConnection) => void,
  ) {}

  get connection(): Connection {
    return this;
  }

  get transport(): 'ws' {
    return 'ws';
  }

  /** The connection id is bound per line: a child logger per socket would live as long as it. */
  log(level: 'info' | 'warn' | 'error', fields: object, message: string): void {
    this.env.logger[level]({ conn: this.id, ...fields }, message);
  }

  currentCaller(): Promise<Caller | null> {
    if (this.sessionToken === null) return Promise.resolve(null);
    const { clock, config } = this.env;
    if (this.checked !== null && clock.now() - this.checked.at < config.sessionRecheckMs) {
      return this.checked.caller;
    }
    const token = this.sessionToken;
    const caller = this.env.resolveSession(token);
    this.checked = { at: clock.now(), caller };
    // a failed check (store away) is not kept: the next call asks again
    caller.catch(() => {
      if (this.sessionToken === token) this.checked = null;
    });
    return caller;
  }

  bindSession(token: string | null, caller?: Caller): void {
    if (token !== null && this.loginDeadline !== undefined) {
      clearTimeout(this.loginDeadline);
      this.loginDeadline = undefined;
      this.loginOverdue = false;
    }
    this.sessionToken = token;
    this.boundSessionId = token === null ? null : sessionIdOf(token);
    this.checked =
      token !== null && caller ? { at: this.env.clock.now(), caller: Promise.resolve(caller) } : null;
  }

  sessionId(): string | null {
    return this.boundSessionId;
  }

  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise<void>((resolve) => (this.idleWaiters ??= []).push(resolve));
  }

  close(code: number, reason: string): Promise<void> {
    const { ws } = this;
    if (ws.readyState === ws.CLOSED) return Promise.resolve();
    this.closedPromise ??= new Promise<void>((resolve) => ws.once('close', () => resolve()));
    this.closeWith(code, reason);
    return this.closedPromise;
  }

  heartbeat(): void {
    if (!this.alive) {
      this.log('warn', {}, 'terminating connection: no pong within the heartbeat interval');
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  startLoginDeadline(): void {
    const ms = this.env.config.connectionLimits.unauthenticatedIdleMs;
    if (ms <= 0) return;
    this.loginDeadline = setTimeout(() => {
      this.loginDeadline = undefined;
      this.loginOverdue = true;
      this.closeIfLoginOverdue();
    }, ms);
    this.loginDeadline.unref();
  }

  receive(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    if (isBinary) {
      const reply = errorReply(
        0,
        '',
        new OmsError('InvalidRequest', 'Binary frames are not supported; send JSON text'),
      );
      this.send(reply.text, reply.m);
      return;
    }
    (this.waiting ??= []).push(
      Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'),
    );
    this.pump();
  }

  closed(code: number, reason: Buffer): void {
    clearTimeout(this.loginDeadline);
    this.abort?.abort();
    this.waiting = null;
    this.env.metrics.connectionsOpen.dec();
    this.log(
      'info',
      {
        code,
        reason: reason.toString('utf8').slice(0, 120),
        calls: this.calls,
        seconds: (Date.now() - LOADED_AT - this.openedAt) / 1000,
      },
      'connection closed',
    );
    this.settleIdle();
    this.onClosed(this);
  }

  private busy(): boolean {
    return this.inflight > 0 || (this.waiting !== null && this.waiting.length > 0);
  }

  private closeWith(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
  }

  private send(text: string, m: MessageType): void {
    if (this.closing) return;
    const { ws, env } = this;
    ws.send(text);
    this.badInARow = m === MessageType.Error ? this.badInARow + 1 : 0;
    if (this.badInARow >= env.config.maxBadFrames) {
      this.log('warn', { badFrames: this.badInARow }, 'closing connection: too many bad frames in a row');
      this.closeWith(CloseCode.PolicyViolation, 'Too many bad frames');
    } else if (ws.bufferedAmount > env.config.maxBufferedBytes) {
      this.log(
        'warn',
        { bufferedBytes: ws.bufferedAmount },
        'closing connection: client is not reading its replies',
      );
      this.closeWith(CloseCode.PolicyViolation, 'Client not reading');
    }
  }

  private closeIfLoginOverdue(): void {
    if (!this.loginOverdue || this.busy()) return;
    this.log(
      'info',
      { ms: this.env.config.connectionLimits.unauthenticatedIdleMs },
      'closing connection: no login in time',
    );
    this.closeWith(CloseCode.PolicyViolation, 'Not logged in in time');
  }

  private settleIdle(): void {
    if (this.busy()) return;
    this.closeIfLoginOverdue();
    const waiters = this.idleWaiters;
    this.idleWaiters = null;
    for (const resolve of waiters ?? []) resolve();
  }

  /** Starts waiting calls while the bound allows; stops reading the socket while it does not. */
  private pump(): void {
    const bound = this.env.config.maxInflightPerConnection;
    const waiting = this.waiting;
    while (waiting !== null && this.inflight < bound && waiting.length > 0) {
      this.start(waiting.shift()!);
    }
    const full = this.inflight >= bound;
    if (full && !this.paused) {
      this.paused = true;
      this.ws.pause();
    } else if (!full && this.paused) {
      this.paused = false;
      this.ws.resume();
    }
    this.settleIdle();
  }

  private start(text: string): void {
    if (this.env.isShuttingDown()) {
      const reply = errorReply(
        sequenceOf(text),
        '',
        new OmsError('ServerError', 'Gateway is shutting down; reconnect'),
      );
      // an m: 5 frame, but not counted towards MAX_BAD_FRAMES: the client did nothing wrong
      this.send(reply.text, MessageType.Reply);
      return;
    }
    this.inflight++;
    this.calls++;
    this.env.dispatcher
      .dispatch(text, this, (this.abort ??= new AbortController()).signal)
      .then((reply) => this.send(reply.text, reply.m))
      .catch((error: unknown) => this.log('error', { err: error }, 'dispatch failed')) // dispatch never throws; kept for safety
      .finally(() => {
        this.inflight--;
        this.pump();
      });
  }
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
