// The benchmark's baseline: a bare `ws` server that answers OMS Ping frames, i.e. what the socket library alone can do.
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const PONG = JSON.stringify({ msg: 'PONG' });

export interface BaselineServer {
  readonly port: number;
  connections(): number;
  close(): Promise<void>;
}

/** Same socket settings as the gateway (no per-message deflate, same frame bound); parses a frame, echoes its i. */
export async function startBaselineServer(port = 0, maxPayload = 64 * 1024): Promise<BaselineServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer) => {
      let frame: { i?: unknown; n?: unknown };
      try {
        frame = JSON.parse(data.toString('utf8')) as typeof frame;
      } catch {
        return;
      }
      ws.send(JSON.stringify({ m: 1, i: frame.i, n: frame.n, o: PONG }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', () => resolve());
    wss.once('error', reject);
  });
  return {
    port: (wss.address() as AddressInfo).port,
    connections: () => wss.clients.size,
    close: () => {
      for (const ws of wss.clients) ws.terminate();
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
