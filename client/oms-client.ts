// The OMS client for programs (trading clients, load scripts, the reset page): one module for Node and the browser.
// It never imports `ws`: it takes a WebSocket constructor (default globalThis.WebSocket); client/node.ts plugs in `ws`.
import { MessageType } from '../protocol/frame';
import type { StandardResponse } from '../protocol/standard-response';

/** The WHATWG WebSocket surface that both the browser and `ws` offer; the client uses nothing else. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** WebSocket readyState values, the same in every implementation. */
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * Why a call failed. `response`: the gateway answered with an error (an `m: 5` frame or a standard
 * response with `result: false`); the others are local: no answer in time, the socket closed before
 * the answer, the caller aborted, or the answer could not be read.
 */
export type OmsCallErrorKind = 'response' | 'timeout' | 'closed' | 'aborted' | 'protocol';

/** The one error every call rejects with. */
export class OmsCallError extends Error {
  readonly kind: OmsCallErrorKind;
  /** The function called, as the caller spelled it. */
  readonly functionName: string;
  /** The gateway's errorcode; null for local failures (timeout, closed, aborted, protocol). */
  readonly errorcode: number | null;
  readonly errormsg: string | null;
  readonly detail: string | null;

  constructor(
    kind: OmsCallErrorKind,
    functionName: string,
    fields: { errorcode?: number | null; errormsg?: string | null; detail?: string | null } = {},
  ) {
    const errorcode = fields.errorcode ?? null;
    const errormsg = fields.errormsg ?? null;
    const detail = fields.detail ?? null;
    const what = kind === 'response' ? `${errorcode} ${errormsg ?? ''}`.trim() : kind;
    super(`${functionName}: ${what}${detail ? `: ${detail}` : ''}`);
    this.name = 'OmsCallError';
    this.kind = kind;
    this.functionName = functionName;
    this.errorcode = errorcode;
    this.errormsg = errormsg;
    this.detail = detail;
  }

  /** A short label for counting failures: the errorcode as text, or the kind for local failures. */
  get code(): string {
    return this.kind === 'response' ? String(this.errorcode) : this.kind;
  }
}

export interface CallOptions {
  /** Overrides the client's timeoutMs for this call; 0 waits for ever. */
  readonly timeoutMs?: number;
  /** Aborting rejects the call with kind 'aborted' (the gateway may still run it). */
  readonly signal?: AbortSignal;
}

export interface ReconnectOptions {
  /** first delay before reconnecting, default 250 ms */
  readonly initialDelayMs?: number;
  /** largest delay between attempts, default 10000 ms */
  readonly maxDelayMs?: number;
  /** attempts in a row before giving up (the client then closes), default Infinity */
  readonly maxAttempts?: number;
  /**
   * how long a new socket must stay open before the attempt count starts again from 1, default maxDelayMs;
   * a gateway that accepts and drops at once (overloaded, draining) keeps the backoff growing
   */
  readonly stableAfterMs?: number;
}

export interface ConnectOptions {
  /** the WebSocket constructor, default globalThis.WebSocket (Node 20 has none: use client/node.ts) */
  readonly WebSocket?: WebSocketConstructor;
  /** default per-call timeout, default 30000 ms; 0 waits for ever */
  readonly timeoutMs?: number;
  /** bound on opening the socket, default 10000 ms */
  readonly connectTimeoutMs?: number;
  /**
   * sends an application-level Ping this often and drops the socket when one goes unanswered
   * for as long, default 0 (off)
   */
  readonly keepaliveMs?: number;
  /** reconnect after the socket drops (not after close()), default off; true means the defaults above */
  readonly reconnect?: boolean | ReconnectOptions;
}

export type ClientState = 'open' | 'reconnecting' | 'closed';

export interface ClientEvents {
  /** The socket dropped; calls in flight were rejected with kind 'closed'. */
  disconnect: { code: number; reason: string };
  /**
   * A reconnect attempt is scheduled `delayMs` from now: a uniform draw in [0, ceiling] (full jitter), or
   * longer when the gateway asked for it (Retry-After on a 503, close code 1013 with `Retry-After: N`).
   */
  reconnecting: { attempt: number; delayMs: number; ceilingMs: number };
  /** A new socket is open (and re-authenticated, when a session was held). */
  reconnect: { attempt: number };
  /** The session could not be restored after a reconnect; the client goes on without one. */
  reauthenticateFailed: { error: unknown };
  /** The client is closed for good: close() was called or reconnecting gave up. */
  close: { code: number; reason: string };
}

export type { StandardResponse };

export interface AuthenticateUserReply {
  Authenticated: boolean;
  SessionToken?: string;
  User?: { UserId: number; UserName?: string; [key: string]: unknown };
  errormsg?: string | null;
  [key: string]: unknown;
}

export interface WebAuthenticateUserReply {
  Authenticated: boolean;
  SessionToken?: string;
  UserId?: number;
  errormsg?: string | null;
  [key: string]: unknown;
}

export interface OmsClient {
  /** Calls a function by its wire name; resolves with the decoded `o` of the reply. */
  call<T = unknown>(functionName: string, payload?: unknown, options?: CallOptions): Promise<T>;
  /** Closes the socket and rejects every pending call with kind 'closed'. Resolves when closed. */
  close(): Promise<void>;
  readonly state: ClientState;
  /** The SessionToken a login returned, which a reconnect uses to log in again; null when none. */
  readonly sessionToken: string | null;
  setSessionToken(token: string | null): void;
  /** Calls sent and not yet answered. */
  readonly pending: number;
  on<E extends keyof ClientEvents>(event: E, listener: (value: ClientEvents[E]) => void): () => void;

  ping(options?: CallOptions): Promise<{ msg: string }>;
  authenticateUser(
    credentials: { UserName: string; Password: string },
    options?: CallOptions,
  ): Promise<AuthenticateUserReply>;
  webAuthenticateUser(
    credentials: { UserName: string; Password: string } | { SessionToken: string },
    options?: CallOptions,
  ): Promise<WebAuthenticateUserReply>;
  logOut(options?: CallOptions): Promise<StandardResponse>;
  resetPassword(request: { UserName: string }, options?: CallOptions): Promise<StandardResponse>;
  resetPassword2(
    request: { UserId: number; Password: string; PendingCode: string },
    options?: CallOptions,
  ): Promise<StandardResponse>;
  getUserInfo<T = Record<string, unknown>>(
    request?: { UserId?: number; UserName?: string },
    options?: CallOptions,
  ): Promise<T>;
}

interface PendingCall {
  readonly name: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: OmsCallError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A call made while reconnecting: it was never sent, so it waits for the new socket. */
interface QueuedCall {
  readonly send: () => void;
  readonly reject: (error: OmsCallError) => void;
}

const FIRST_SEQUENCE = 2;
const SEQUENCE_STEP = 2;
const DEFAULTS = { timeoutMs: 30_000, connectTimeoutMs: 10_000, initialDelayMs: 250, maxDelayMs: 10_000 };

/** Opens a socket to the gateway; resolves with the client once it is open, rejects if it cannot open. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<OmsClient> {
  const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (Socket === undefined) {
    throw new Error(
      'No WebSocket implementation: pass options.WebSocket, or import connect from client/node',
    );
  }
  const first = await openSocket(Socket, url, options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs);
  return createClient(Socket, url, options, first);
}

/** Why a socket could not open: the close it got (1006 for a refused upgrade), and any wait the gateway asked for. */
export class ConnectFailure extends Error {
  readonly code: number;
  /** From a `Retry-After: N` in the close reason (client/node.ts puts a 503's header there); null when none. */
  readonly retryAfterMs: number | null;

  constructor(message: string, code: number, reason: string) {
    super(message);
    this.name = 'ConnectFailure';
    this.code = code;
    this.retryAfterMs = retryAfterOf(reason);
  }
}

/** The wait in a close reason such as "Retry-After: 5" (seconds, as the HTTP header counts them). */
export function retryAfterOf(reason: string): number | null {
  const match = /retry-after:\s*(\d{1,6})/i.exec(reason);
  return match?.[1] === undefined ? null : Number(match[1]) * 1000;
}

/** Resolves with an open socket, or rejects when it closes or errors first, or takes too long. */
function openSocket(Socket: WebSocketConstructor, url: string, timeoutMs: number): Promise<WebSocketLike> {
  return new Promise((resolve, reject) => {
    let socket: WebSocketLike;
    try {
      socket = new Socket(url);
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const timer = setTimeout(() => {
      detach();
      socket.close();
      reject(new ConnectFailure(`Could not connect to ${url} within ${timeoutMs} ms`, 1006, ''));
    }, timeoutMs);
    const detach = (): void => {
      clearTimeout(timer);
      socket.onopen = null;
      socket.onclose = null;
      socket.onerror = null;
    };
    socket.onopen = () => {
      detach();
      resolve(socket);
    };
    // error is followed by close in both implementations; close carries the code, so reject there
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      detach();
      reject(
        new ConnectFailure(
          `Could not connect to ${url} (close ${event.code}${event.reason ? `: ${event.reason}` : ''})`,
          event.code,
          event.reason,
        ),
      );
    };
  });
}

function createClient(
  Socket: WebSocketConstructor,
  url: string,
  options: ConnectOptions,
  firstSocket: WebSocketLike,
): OmsClient {
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const reconnect: Required<ReconnectOptions> | null = options.reconnect
    ? {
        initialDelayMs: DEFAULTS.initialDelayMs,
        maxDelayMs: DEFAULTS.maxDelayMs,
        maxAttempts: Infinity,
        stableAfterMs:
          (options.reconnect === true ? undefined : options.reconnect.maxDelayMs) ?? DEFAULTS.maxDelayMs,
        ...(options.reconnect === true ? {} : options.reconnect),
      }
    : null;
  /** Reconnect attempts since the last socket that stayed up for stableAfterMs. */
  let failedAttempts = 0;
  let stableTimer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Map<number, PendingCall>();
  const queued: QueuedCall[] = [];
  const listeners = new Map<keyof ClientEvents, Set<(value: never) => void>>();
  let socket = firstSocket;
  /** Whether `socket` has not yet reported its close. */
  let socketOpen = true;
  let nextSequence = FIRST_SEQUENCE;
  let state: ClientState = 'open';
  let sessionToken: string | null = null;
  let keepalive: ReturnType<typeof setInterval> | undefined;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  const socketCloseWaiters: (() => void)[] = [];
  let resolveClosed!: () => void;
  const closedForGood = new Promise<void>((resolve) => (resolveClosed = resolve));

  function emit<E extends keyof ClientEvents>(event: E, value: ClientEvents[E]): void {
    for (const listener of listeners.get(event) ?? []) (listener as (value: ClientEvents[E]) => void)(value);
  }

  function settle(sequence: number): PendingCall | undefined {
    const call = pending.get(sequence);
    if (call === undefined) return undefined;
    pending.delete(sequence);
    if (call.timer !== undefined) clearTimeout(call.timer);
    if (call.onAbort !== undefined) call.signal?.removeEventListener('abort', call.onAbort);
    return call;
  }

  function rejectAllPending(kind: OmsCallErrorKind, detail: string): void {
    for (const sequence of [...pending.keys()]) {
      const call = settle(sequence);
      call?.reject(new OmsCallError(kind, call.name, { detail }));
    }
  }

  function onMessage(event: { data: unknown }): void {
    if (typeof event.data !== 'string') return; // the gateway sends text only
    let frame: { m?: unknown; i?: unknown; n?: unknown; o?: unknown };
    try {
      frame = JSON.parse(event.data) as typeof frame;
    } catch {
      return; // not a frame: nothing to match it to
    }
    if (typeof frame.i !== 'number') return;
    // events (m: 3) and replies to calls that timed out have no pending call
    if (frame.m !== MessageType.Reply && frame.m !== MessageType.Error) return;
    const call = settle(frame.i);
    if (call === undefined) return;
    let payload: unknown;
    try {
      payload =
        typeof frame.o === 'string' ? (frame.o === '' ? null : JSON.parse(frame.o)) : (frame.o ?? null);
    } catch {
      call.reject(new OmsCallError('protocol', call.name, { detail: 'Reply "o" is not valid JSON' }));
      return;
    }
    const failure = frame.m === MessageType.Error || isFailedStandardResponse(payload);
    if (!failure) {
      call.resolve(payload);
      return;
    }
    const response = (
      typeof payload === 'object' && payload !== null ? payload : {}
    ) as Partial<StandardResponse>;
    call.reject(
      new OmsCallError('response', call.name, {
        errorcode: typeof response.errorcode === 'number' ? response.errorcode : null,
        errormsg: typeof response.errormsg === 'string' ? response.errormsg : null,
        detail: typeof response.detail === 'string' ? response.detail : null,
      }),
    );
  }

  /**
   * Gives up on a socket at once: a peer that stopped answering will not answer the close handshake
   * either, and waiting for it would hold the pending calls for the library's close timeout.
   */
  function dropSocket(ws: WebSocketLike, code: number, reason: string): void {
    ws.onmessage = null;
    ws.onclose = null;
    ws.close(code, reason);
    onSocketClosed({ code, reason });
  }

  function onSocketClosed(event: { code: number; reason: string }): void {
    socketOpen = false;
    for (const resolve of socketCloseWaiters.splice(0)) resolve();
    stopKeepalive();
    rejectAllPending('closed', `Connection closed (${event.code}) before the reply`);
    if (state === 'closed') return;
    emit('disconnect', { code: event.code, reason: event.reason });
    if (reconnect === null) {
      finish(event.code, event.reason);
      return;
    }
    state = 'reconnecting';
    scheduleReconnect(retryAfterOf(event.reason) ?? (event.code === 1013 ? 'ceiling' : null));
  }

  function attach(ws: WebSocketLike): void {
    socket = ws;
    socketOpen = true;
    nextSequence = FIRST_SEQUENCE; // sequence numbers are per socket
    ws.onmessage = onMessage;
    ws.onerror = () => undefined; // always followed by close, which does the work
    ws.onclose = onSocketClosed;
    startKeepalive();
    // only a socket that stays up ends the run of failures: one dropped at once keeps the backoff growing
    if (stableTimer !== undefined) clearTimeout(stableTimer);
    stableTimer =
      reconnect === null
        ? undefined
        : setTimeout(() => {
            stableTimer = undefined;
            if (socket === ws && socketOpen) failedAttempts = 0;
          }, reconnect.stableAfterMs);
  }

  /**
   * Schedules the next attempt. Exponential backoff with full jitter (AWS, "Exponential Backoff And Jitter"): a
   * uniform draw in [0, min(maxDelayMs, initialDelayMs * 2^(n-1))], so the clients of one restarted gateway
   * spread over the window instead of returning in step. `wait`: the gateway's Retry-After in ms, or 'ceiling'
   * for a 1013 without one (try again later: not sooner than the window); it is a floor under the draw.
   */
  function scheduleReconnect(wait: number | 'ceiling' | null): void {
    if (reconnect === null || state !== 'reconnecting') return;
    failedAttempts += 1;
    const attempt = failedAttempts;
    if (attempt > reconnect.maxAttempts) {
      finish(1006, `Gave up reconnecting after ${reconnect.maxAttempts} attempts`);
      return;
    }
    const ceilingMs = Math.min(reconnect.maxDelayMs, reconnect.initialDelayMs * 2 ** (attempt - 1));
    const floor = wait === 'ceiling' ? ceilingMs : (wait ?? 0);
    const delayMs = Math.max(floor, Math.random() * ceilingMs);
    emit('reconnecting', { attempt, delayMs, ceilingMs });
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      openSocket(Socket, url, options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs).then(
        (ws) => {
          if (state === 'closed') {
            ws.close(1000, 'Client closed');
            return;
          }
          attach(ws);
          void restoreSession().then(() => {
            if (state !== 'reconnecting' || socket !== ws) return;
            state = 'open';
            emit('reconnect', { attempt });
            for (const call of queued.splice(0)) call.send();
          });
        },
        (error: unknown) => {
          const failure = error instanceof ConnectFailure ? error : null;
          scheduleReconnect(failure?.retryAfterMs ?? (failure?.code === 1013 ? 'ceiling' : null));
        },
      );
    }, delayMs);
  }

  /** Logs in again on the new socket with the session the old one held, before any queued call goes out. */
  async function restoreSession(): Promise<void> {
    if (sessionToken === null) return;
    try {
      const reply = await send<WebAuthenticateUserReply>(
        'WebAuthenticateUser',
        { SessionToken: sessionToken },
        {},
      );
      if (!reply.Authenticated) throw new Error(reply.errormsg ?? 'Session no longer valid');
    } catch (error) {
      // a socket that died during the re-login says nothing about the session: keep it for the next attempt
      if (error instanceof OmsCallError && error.kind !== 'response') return;
      sessionToken = null;
      emit('reauthenticateFailed', { error });
    }
  }

  function startKeepalive(): void {
    const every = options.keepaliveMs ?? 0;
    if (every <= 0) return;
    const ws = socket;
    keepalive = setInterval(() => {
      send('Ping', {}, { timeoutMs: every }).catch((error: unknown) => {
        // an unanswered Ping means a dead path (half-open TCP, frozen peer): drop it so reconnect can work
        if (error instanceof OmsCallError && error.kind === 'timeout' && socket === ws) {
          dropSocket(ws, 4000, 'Keepalive Ping unanswered');
        }
      });
    }, every);
  }

  function stopKeepalive(): void {
    if (keepalive !== undefined) clearInterval(keepalive);
    keepalive = undefined;
  }

  function finish(code: number, reason: string): void {
    if (state === 'closed') return;
    state = 'closed';
    stopKeepalive();
    if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
    if (stableTimer !== undefined) clearTimeout(stableTimer);
    for (const call of queued.splice(0))
      call.reject(new OmsCallError('closed', '', { detail: 'Client closed' }));
    rejectAllPending('closed', 'Client closed');
    emit('close', { code, reason });
    resolveClosed();
  }

  /** Sends on the current socket; the caller has checked that it is open (or that this is the re-login). */
  function send<T>(name: string, payload: unknown, callOptions: CallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const signal = callOptions.signal;
      if (signal?.aborted) {
        reject(new OmsCallError('aborted', name, { detail: 'Aborted before sending' }));
        return;
      }
      if (socket.readyState !== OPEN) {
        reject(new OmsCallError('closed', name, { detail: 'Connection is not open' }));
        return;
      }
      const sequence = nextSequence;
      nextSequence += SEQUENCE_STEP;
      const call: PendingCall = {
        name,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      const timeoutMs = callOptions.timeoutMs ?? defaultTimeoutMs;
      if (timeoutMs > 0) {
        call.timer = setTimeout(() => {
          if (settle(sequence))
            reject(new OmsCallError('timeout', name, { detail: `No reply within ${timeoutMs} ms` }));
        }, timeoutMs);
      }
      if (signal !== undefined) {
        call.onAbort = () => {
          if (settle(sequence))
            reject(new OmsCallError('aborted', name, { detail: 'Aborted by the caller' }));
        };
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      pending.set(sequence, call);
      socket.send(
        JSON.stringify({ m: MessageType.Request, i: sequence, n: name, o: JSON.stringify(payload ?? {}) }),
      );
    });
  }

  function call<T>(name: string, payload: unknown = {}, callOptions: CallOptions = {}): Promise<T> {
    if (state === 'open') return send<T>(name, payload, callOptions);
    if (state === 'closed')
      return Promise.reject(new OmsCallError('closed', name, { detail: 'Client closed' }));
    // reconnecting: the call was never sent, so waiting for the new socket cannot run it twice
    return new Promise<T>((resolve, reject) => {
      const entry: QueuedCall = {
        send: () => {
          cleanup();
          send<T>(name, payload, { ...callOptions, timeoutMs: remaining() }).then(resolve, reject);
        },
        reject: (error) => {
          cleanup();
          reject(new OmsCallError(error.kind, name, { detail: error.detail }));
        },
      };
      const startedAt = Date.now();
      const timeoutMs = callOptions.timeoutMs ?? defaultTimeoutMs;
      const remaining = (): number => (timeoutMs > 0 ? Math.max(1, timeoutMs - (Date.now() - startedAt)) : 0);
      const drop = (kind: OmsCallErrorKind, detail: string): void => {
        const index = queued.indexOf(entry);
        if (index >= 0) queued.splice(index, 1);
        entry.reject(new OmsCallError(kind, name, { detail }));
      };
      const timer =
        timeoutMs > 0
          ? setTimeout(() => drop('timeout', `Not reconnected within ${timeoutMs} ms`), timeoutMs)
          : undefined;
      const onAbort = (): void => drop('aborted', 'Aborted by the caller');
      callOptions.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        callOptions.signal?.removeEventListener('abort', onAbort);
      };
      if (callOptions.signal?.aborted) {
        cleanup();
        reject(new OmsCallError('aborted', name, { detail: 'Aborted before sending' }));
        return;
      }
      queued.push(entry);
    });
  }

  async function login<T extends { Authenticated: boolean; SessionToken?: string }>(
    name: string,
    payload: unknown,
    callOptions?: CallOptions,
  ): Promise<T> {
    const reply = await call<T>(name, payload, callOptions);
    if (reply.Authenticated && typeof reply.SessionToken === 'string') sessionToken = reply.SessionToken;
    return reply;
  }

  attach(firstSocket);

  return {
    call,
    close: async () => {
      const ws = socketOpen ? socket : null;
      const socketGone = ws
        ? new Promise<void>((resolve) => socketCloseWaiters.push(resolve))
        : Promise.resolve();
      if (state !== 'closed') {
        finish(1000, 'Client closed');
        if (ws && ws.readyState !== CLOSING && ws.readyState !== CLOSED) ws.close(1000, 'Client closed');
      }
      await Promise.all([closedForGood, socketGone]);
    },
    get state() {
      return state;
    },
    get sessionToken() {
      return sessionToken;
    },
    setSessionToken: (token) => {
      sessionToken = token;
    },
    get pending() {
      return pending.size;
    },
    on: (event, listener) => {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener);
      return () => void set.delete(listener);
    },
    ping: (callOptions) => call('Ping', {}, callOptions),
    authenticateUser: (credentials, callOptions) => login('AuthenticateUser', credentials, callOptions),
    webAuthenticateUser: (credentials, callOptions) => login('WebAuthenticateUser', credentials, callOptions),
    logOut: async (callOptions) => {
      const reply = await call<StandardResponse>('LogOut', {}, callOptions);
      sessionToken = null;
      return reply;
    },
    resetPassword: (request, callOptions) => call('ResetPassword', request, callOptions),
    resetPassword2: (request, callOptions) => call('ResetPassword2', request, callOptions),
    getUserInfo: (request = {}, callOptions) => call('GetUserInfo', request, callOptions),
  };
}

/** A standard response object reporting failure (replies of other shapes pass through as values). */
function isFailedStandardResponse(payload: unknown): boolean {
  return (
    typeof payload === 'object' &&
    payload !== null &&
    (payload as { result?: unknown }).result === false &&
    typeof (payload as { errorcode?: unknown }).errorcode === 'number'
  );
}
