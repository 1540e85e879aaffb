// The client for Node: the isomorphic client with the `ws` WebSocket plugged in (Node 20 has no global WebSocket).
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { connect as connectWith } from './oms-client';
import type { ConnectOptions, OmsClient, WebSocketConstructor, WebSocketLike } from './oms-client';

export * from './oms-client';

/**
 * `ws` behind the WHATWG surface the client uses, plus what browsers cannot see: an upgrade refused with 503 or
 * 429 closes as 1013 "Try Again Later" with the response's `Retry-After: N` as the reason, so the client waits
 * as long as the gateway asked.
 */
class NodeSocket implements WebSocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  private readonly ws: WebSocket;
  private refusal: { code: number; reason: string } | null = null;

  constructor(url: string, wsOptions?: NodeWebSocketOptions) {
    this.ws = new WebSocket(url, wsOptions);
    this.ws.on('open', () => this.onopen?.({}));
    this.ws.on('message', (data: Buffer, isBinary: boolean) =>
      this.onmessage?.({ data: isBinary ? data : data.toString('utf8') }),
    );
    this.ws.on('error', (error) => this.onerror?.(error));
    this.ws.on('close', (code: number, reason: Buffer) =>
      this.onclose?.(this.refusal ?? { code, reason: reason.toString('utf8') }),
    );
    this.ws.on('unexpected-response', (_request, response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const retryAfter = response.headers['retry-after'];
      const seconds = typeof retryAfter === 'string' && /^\d{1,6}$/.test(retryAfter) ? retryAfter : null;
      this.refusal =
        status === 503 || status === 429
          ? { code: 1013, reason: seconds === null ? `HTTP ${status}` : `Retry-After: ${seconds}` }
          : { code: 1006, reason: `HTTP ${status}` };
      response.resume();
      // with a listener here ws leaves the handshake to us: terminate aborts it and reports the close
      this.ws.terminate();
    });
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: string): void {
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

/** The `ws` client options nodeWebSocket passes on (own type: the package's types must not need @types/ws). */
export interface NodeWebSocketOptions {
  /** the local address to open from, e.g. 127.0.0.2 */
  readonly localAddress?: string;
}

/**
 * A WebSocket constructor for connect's `options.WebSocket`: `ws` with these options, e.g.
 * `nodeWebSocket({ localAddress: '127.0.0.2' })` to open from another source address (a load generator past
 * ~28,000 sockets to one address and port runs out of ephemeral ports).
 */
export function nodeWebSocket(wsOptions: NodeWebSocketOptions): WebSocketConstructor {
  return class extends NodeSocket {
    constructor(url: string) {
      super(url, wsOptions);
    }
  };
}

/** connect() of client/oms-client with `ws` as the WebSocket, unless options name another. */
export function connect(url: string, options: ConnectOptions = {}): Promise<OmsClient> {
  return connectWith(url, { WebSocket: NodeSocket, ...options });
}
