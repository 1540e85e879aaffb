// The yardstick for the load tool's own cost: a plain `ws` client that sends Ping frames and matches replies by i.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface MinimalResult {
  readonly calls: number;
  readonly elapsedS: number;
  readonly callsPerSecond: number;
}

/** Closed loop, `connections` × `inflight`, for `durationS`: only send, parse, match `i`, send again. */
export async function runMinimalLoader(options: {
  url: string;
  connections: number;
  inflight: number;
  durationS: number;
}): Promise<MinimalResult> {
  const sockets = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(options.url, { perMessageDeflate: false });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  let calls = 0;
  let running = true;
  const started = performance.now();
  let elapsedS = 0;
  const stop = setTimeout(() => {
    running = false;
    elapsedS = (performance.now() - started) / 1000;
  }, options.durationS * 1000);
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          let next = 2;
          let outstanding = 0;
          const send = (): void => {
            outstanding++;
            ws.send(`{"m":0,"i":${next},"n":"Ping","o":"{}"}`);
            next += 2;
          };
          ws.on('message', (data: Buffer) => {
            const frame = JSON.parse(data.toString('utf8')) as { i?: unknown };
            if (typeof frame.i !== 'number') return;
            outstanding--;
            if (running) {
              calls++;
              send();
            } else if (outstanding === 0) resolve();
          });
          for (let k = 0; k < options.inflight; k++) send();
        }),
    ),
  );
  clearTimeout(stop);
  for (const ws of sockets) ws.terminate();
  return { calls, elapsedS, callsPerSecond: calls / elapsedS };
}
