// How the client comes back: full-jitter backoff over the window, an attempt count that survives sockets dropped
// at once, and the waits a gateway asks for (Retry-After on a refused upgrade, close code 1013).
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { connect } from '../../client/node';
import type { ClientEvents, OmsClient } from '../../client/node';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';

type Reconnecting = ClientEvents['reconnecting'];

/** The next `count` reconnecting events of a client. */
function nextReconnecting(client: OmsClient, count: number): Promise<Reconnecting[]> {
  return new Promise((resolve) => {
    const seen: Reconnecting[] = [];
    const off = client.on('reconnecting', (event) => {
      seen.push(event);
      if (seen.length === count) {
        off();
        resolve(seen);
      }
    });
  });
}

/**
 * A ws server whose first socket stays up until `dropFirst`, and whose later upgrades `later` answers:
 * accept and close at once with a code and reason, or refuse with an HTTP status and headers.
 */
async function scriptedServer(
  later: { close: [number, string] } | { refuse: string },
): Promise<{ url: string; dropFirst(code?: number, reason?: string): void; close(): Promise<void> }> {
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<Socket>();
  let first: WebSocket | undefined;
  const server: Server = createServer();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request, socket, head) => {
    if (first !== undefined && 'refuse' in later) {
      socket.end(`HTTP/1.1 ${later.refuse}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', () => undefined);
      if (first === undefined) first = ws;
      else if ('close' in later) ws.close(...later.close);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    dropFirst: (code = 1001, reason = 'Server restarting') => first?.close(code, reason),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

describe('reconnecting', () => {
  const clients: OmsClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });

  it('spreads 1,000 clients of a restarted gateway uniformly over the backoff window (full jitter)', async () => {
    const COUNT = 1000;
    const WINDOW_MS = 2000;
    // a thousand sockets from one address, none logged in: above the per-address cap and idle deadline defaults
    const env = { MAX_CONNECTIONS_PER_ADDRESS: String(COUNT), UNAUTHENTICATED_IDLE_MS: '0' };
    let gw: TestGateway = await startGateway(env);
    const port = new URL(gw.wsUrl).port;
    for (let i = 0; i < COUNT; i += 1) {
      clients.push(
        await connect(gw.wsUrl, { reconnect: { initialDelayMs: WINDOW_MS, maxDelayMs: WINDOW_MS } }),
      );
    }
    const firstDelays = Promise.all(clients.map((client) => nextReconnecting(client, 1)));
    const allBack = Promise.all(
      clients.map((client) => new Promise<void>((resolve) => client.on('reconnect', () => resolve()))),
    );
    await gw.close(); // closes every socket with 1001
    const delays = (await firstDelays).map(([event]) => event!);
    gw = await startGateway({ ...env, PORT: port });
    try {
      expect(new Set(delays.map((event) => `${event.attempt}/${event.ceilingMs}`))).toEqual(
        new Set([`1/${WINDOW_MS}`]),
      );
      // uniform over [0, window]: each tenth holds about 100 (σ ≈ 9.5); equal jitter would leave the first half empty
      const tenths = Array.from({ length: 10 }, () => 0);
      for (const { delayMs } of delays) tenths[Math.min(9, Math.floor((delayMs / WINDOW_MS) * 10))]! += 1;
      for (const count of tenths) {
        expect(count).toBeGreaterThan(COUNT / 10 / 2);
        expect(count).toBeLessThan((COUNT / 10) * 1.5);
      }
      await allBack;
      expect(clients.every((client) => client.state === 'open')).toBe(true);
      await Promise.all(clients.splice(0).map((client) => client.close()));
    } finally {
      await gw.close();
    }
  });

  it('keeps counting attempts while each new socket is dropped at once, so the backoff keeps growing', async () => {
    const server = await scriptedServer({ close: [1011, 'Overloaded'] });
    try {
      const client = await connect(server.url, { reconnect: { initialDelayMs: 10, maxDelayMs: 10_000 } });
      clients.push(client);
      const events = nextReconnecting(client, 5);
      server.dropFirst();
      const seen = await events;
      expect(seen.map((event) => event.attempt)).toEqual([1, 2, 3, 4, 5]);
      expect(seen.map((event) => event.ceilingMs)).toEqual([10, 20, 40, 80, 160]);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('waits at least the Retry-After of an upgrade refused with 503', async () => {
    const server = await scriptedServer({ refuse: '503 Service Unavailable\r\nRetry-After: 7' });
    try {
      const client = await connect(server.url, { reconnect: { initialDelayMs: 10, maxDelayMs: 100 } });
      clients.push(client);
      const events = nextReconnecting(client, 2);
      server.dropFirst();
      const [first, second] = await events;
      expect(first!.delayMs).toBeLessThanOrEqual(10);
      expect(second).toMatchObject({ attempt: 2 });
      expect(second!.delayMs).toBeGreaterThanOrEqual(7000);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('waits the Retry-After of a 1013 close, and the whole window of a 1013 without one', async () => {
    const server = await scriptedServer({ close: [1013, 'Retry-After: 3'] });
    try {
      const client = await connect(server.url, { reconnect: { initialDelayMs: 50, maxDelayMs: 50 } });
      clients.push(client);
      const events = nextReconnecting(client, 2);
      server.dropFirst(1013, 'Try again later');
      const [first, second] = await events;
      expect(first).toMatchObject({ attempt: 1, delayMs: 50, ceilingMs: 50 });
      expect(second!.delayMs).toBeGreaterThanOrEqual(3000);
      await client.close();
    } finally {
      await server.close();
    }
  });
});
