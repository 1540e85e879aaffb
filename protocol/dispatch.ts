// The dispatcher: frame text in, reply frame text out. Knows nothing of sockets, so tests and HTTP call it too.
import { OmsError } from './codes';
import { decodeFrame, encodeFrame, FrameError, MessageType } from './frame';
import type { CallContext, Caller, Connection, HandlerDefinition } from './handler';
import { validatePayload } from './payload';
import { standardSuccess, toStandardResponse } from './standard-response';

/** What happened to one call, for metrics and logs. */
export interface CallOutcome {
  /** The canonical function name, or the name as sent when no handler has it. */
  readonly name: string;
  readonly connection: Connection;
  readonly errorcode: number;
  readonly detail: string | null;
  readonly seconds: number;
  readonly caller: Caller | null;
  /** The original error of a 102, for the log. */
  readonly unexpected?: unknown;
}

export interface DispatcherOptions<Services> {
  readonly services: Services;
  readonly onCall?: (outcome: CallOutcome) => void;
}

export interface InvokeResult {
  /** The reply payload: the handler's value, or a standard response object. */
  readonly payload: unknown;
  readonly errorcode: number;
}

export interface DispatchReply {
  readonly text: string;
  /** MessageType.Error for frames the gateway could not take (bad frame, unknown function). */
  readonly m: MessageType;
}

export interface Dispatcher {
  /** Decode a frame, run its handler, encode the reply frame. Never throws. */
  dispatch(text: string, connection: Connection, signal: AbortSignal): Promise<DispatchReply>;
  /** Run a function by name with a raw payload (`o`); unknown names throw OmsError 106. */
  invoke(name: string, o: unknown, connection: Connection, signal: AbortSignal): Promise<InvokeResult>;
  /** Whether a function of that name exists (case-insensitive). */
  has(name: string): boolean;
}

/** The refusal of a function name no handler has, on every transport (an `m: 5` frame, an HTTP 404). */
export function endpointNotFound(): OmsError {
  return new OmsError('OperationNotSupported', 'Endpoint Not Found');
}

/** An `m: 5` frame: the gateway could not take the request. */
export function errorReply(sequence: number, name: string, error: OmsError): DispatchReply {
  return {
    text: encodeFrame(MessageType.Error, sequence, name, toStandardResponse(error)),
    m: MessageType.Error,
  };
}

/** Indexes handlers by lower-cased name; a duplicate name is a programming error and stops start-up. */
export function indexHandlers<Services>(
  handlers: readonly HandlerDefinition<Services>[],
): ReadonlyMap<string, HandlerDefinition<Services>> {
  const byName = new Map<string, HandlerDefinition<Services>>();
  for (const handler of handlers) {
    const key = handler.name.toLowerCase();
    if (byName.has(key)) throw new Error(`Duplicate handler name: ${handler.name}`);
    byName.set(key, handler);
  }
  return byName;
}

export function isPermitted(
  access: HandlerDefinition<unknown>['access'],
  name: string,
  caller: Caller | null,
): boolean {
  if (access === 'public') return true;
  if (caller === null) return false;
  if (access === 'session') return true;
  return caller.permissions.some(
    (permission) => permission === name || access.permissions.includes(permission),
  );
}

export function createDispatcher<Services>(
  handlers: readonly HandlerDefinition<Services>[],
  options: DispatcherOptions<Services>,
): Dispatcher {
  const byName = indexHandlers(handlers);

  function findHandler(name: string): HandlerDefinition<Services> {
    const handler = byName.get(name.toLowerCase());
    if (!handler) throw endpointNotFound();
    return handler;
  }

  async function authorize(
    handler: HandlerDefinition<Services>,
    connection: Connection,
  ): Promise<Caller | null> {
    if (handler.access === 'public') return null;
    const caller = await connection.currentCaller();
    if (!isPermitted(handler.access, handler.name, caller)) {
      throw new OmsError('NotAuthorized', caller ? 'Permission denied' : 'Not logged in');
    }
    return caller;
  }

  async function runHandler(
    handler: HandlerDefinition<Services>,
    o: unknown,
    connection: Connection,
    signal: AbortSignal,
  ): Promise<{ payload: unknown; caller: Caller | null }> {
    const payload = validatePayload(o, handler.input);
    const caller = await authorize(handler, connection);
    const context: CallContext<Services> = { services: options.services, connection, caller, signal };
    const value = await handler.run(payload, context);
    return { payload: value === undefined ? standardSuccess() : value, caller };
  }

  function report(
    name: string,
    connection: Connection,
    started: bigint,
    errorcode: number,
    detail: string | null,
    caller: Caller | null,
    unexpected?: unknown,
  ): void {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    options.onCall?.({ name, connection, errorcode, detail, seconds, caller, unexpected });
  }

  async function invoke(
    name: string,
    o: unknown,
    connection: Connection,
    signal: AbortSignal,
  ): Promise<InvokeResult> {
    return invokeHandler(findHandler(name), o, connection, signal, process.hrtime.bigint());
  }

  async function invokeHandler(
    handler: HandlerDefinition<Services>,
    o: unknown,
    connection: Connection,
    signal: AbortSignal,
    started: bigint,
  ): Promise<InvokeResult> {
    try {
      const { payload, caller } = await runHandler(handler, o, connection, signal);
      report(handler.name, connection, started, 0, null, caller);
      return { payload, errorcode: 0 };
    } catch (error) {
      let unexpected: unknown;
      const response = toStandardResponse(error, (original) => (unexpected = original));
      report(handler.name, connection, started, response.errorcode, response.detail, null, unexpected);
      return { payload: response, errorcode: response.errorcode };
    }
  }

  async function dispatch(text: string, connection: Connection, signal: AbortSignal): Promise<DispatchReply> {
    const started = process.hrtime.bigint();
    // every refusal of a frame goes this one way: reported like a call, answered as an Error frame
    const refuse = (reported: string, sequence: number, name: string, error: OmsError): DispatchReply => {
      report(reported, connection, started, error.code, error.detail, null);
      return errorReply(sequence, name, error);
    };
    let frame;
    try {
      frame = decodeFrame(text);
    } catch (error) {
      const frameError = error as FrameError;
      return refuse(
        frameError.functionName || '(bad frame)',
        frameError.sequence,
        frameError.functionName,
        frameError,
      );
    }
    const notSupported = (): DispatchReply => refuse(frame.n, frame.i, frame.n, endpointNotFound());
    // the gateway serves no subscriptions: subscribe and unsubscribe of anything is "not supported"
    if (frame.m === MessageType.Subscribe || frame.m === MessageType.Unsubscribe) return notSupported();
    if (frame.m !== MessageType.Request) {
      return refuse(frame.n, frame.i, frame.n, new FrameError('Frame field "m" must be 0 (request), 2 or 4'));
    }
    // one lookup per call: the handler found here is the one run
    const handler = byName.get(frame.n.toLowerCase());
    if (handler === undefined) return notSupported();
    const { payload } = await invokeHandler(handler, frame.o, connection, signal, started);
    return { text: encodeFrame(MessageType.Reply, frame.i, frame.n, payload), m: MessageType.Reply };
  }

  return { dispatch, invoke, has: (name) => byName.has(name.toLowerCase()) };
}
