// A raw test client: sends exact bytes, queues every frame it receives, and waits for frames and close events.
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';

export interface ReceivedFrame {
  m: number;
  i: number;
  n: string;
  o: string;
}

export interface TestClient {
  readonly ws: WebSocket;
  /** Sends a string as is, or an object as JSON. */
  send(frame: string | object): void;
  /** The next frame received (in arrival order). */
  next(): Promise<ReceivedFrame>;
  /** Sends a request {m:0} and resolves with the reply's parsed `o`. */
  call(name: string, payload?: unknown, sequence?: number): Promise<unknown>;
  /** Resolves with the close code and reason once the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

let nextSequence = 2;

export async function openClient(url: string, options: ClientOptions = {}): Promise<TestClient> {
  const ws = new WebSocket(url, options);
  const queue: ReceivedFrame[] = [];
  const waiters: ((frame: ReceivedFrame) => void)[] = [];
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as ReceivedFrame;
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else queue.push(frame);
  });
  ws.on('error', () => undefined); // tests assert on 'close'; errors (resets) are followed by it
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused: ${response.statusCode}`)),
    );
  });
  const next = (): Promise<ReceivedFrame> => {
    const frame = queue.shift();
    return frame ? Promise.resolve(frame) : new Promise((resolve) => waiters.push(resolve));
  };
  const send = (frame: string | object): void =>
    ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  return {
    ws,
    send,
    next,
    call: async (name, payload = {}, sequence) => {
      const i = sequence ?? (nextSequence += 2);
      send({ m: 0, i, n: name, o: JSON.stringify(payload) });
      const reply = await next();
      if (reply.i !== i) throw new Error(`expected reply to ${i}, got ${JSON.stringify(reply)}`);
      return JSON.parse(reply.o) as unknown;
    },
    closed,
    close: async () => {
      if (ws.readyState !== WebSocket.CLOSED) ws.close();
      await closed;
    },
  };
}
