// The client for Node: the isomorphic client with the `ws` WebSocket plugged in (Node 20 has no global WebSocket).
import WebSocket from 'ws';
import { connect as connectWith } from './oms-client';
import type { ConnectOptions, OmsClient, WebSocketConstructor } from './oms-client';

export * from './oms-client';

/** connect() of client/oms-client with `ws` as the WebSocket, unless options name another. */
export function connect(url: string, options: ConnectOptions = {}): Promise<OmsClient> {
  // ws implements the WHATWG surface the client uses (onopen/onmessage/onclose/onerror, send, close, readyState)
  return connectWith(url, { WebSocket: WebSocket as unknown as WebSocketConstructor, ...options });
}
