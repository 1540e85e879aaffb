// The idle-memory rows: a server's RSS and V8 heap growth per idle socket, each server in a fresh process.
import WebSocket from 'ws';
import { rssBytes } from './proc';
import type { ServerProcess } from './server-process';
import type { ServerKind } from './server-child';

export interface MemoryResult {
  readonly server: ServerKind;
  readonly connections: number;
  readonly failedConnects: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly bytesPerConnection: number;
  /** V8 heap in use per connection (after full GCs): part of the RSS figure, steadier */
  readonly heapBytesPerConnection: number;
  /** lowest and highest bytesPerConnection over the rounds */
  readonly spreadBytesPerConnection?: readonly [number, number];
}

export async function settledMemory(server: ServerProcess): Promise<{ rss: number; heapUsed: number }> {
  await server.request({ type: 'gc' }, 'gc-done');
  // twice: the first frees what only a second pass reclaims
  const { heapUsedBytes } = await server.request({ type: 'gc' }, 'gc-done');
  return { rss: rssBytes(server.pid), heapUsed: heapUsedBytes };
}

/**
 * Sockets per source address: one address reaches one server port from at most the 28,231 ports of Linux's
 * ephemeral range (32768–60999), so past this many the sockets come from 127.0.0.2, 127.0.0.3, …
 */
export const SOCKETS_PER_SOURCE_ADDRESS = 25_000;

/**
 * The source address of the `index`th socket: none given for the first 25,000 (the kernel picks 127.0.0.1 at
 * connect), then 127.0.0.2, …. Binding a source address picks the port at bind(), which searches the whole range
 * and cannot share a port between destinations: with thousands of sockets it cost the client milliseconds each.
 */
export function sourceAddress(index: number): string | undefined {
  const address = Math.floor(index / SOCKETS_PER_SOURCE_ADDRESS);
  return address === 0 ? undefined : `127.0.0.${1 + address}`;
}

/**
 * Opens `count` idle sockets, at most 200 connecting at once; a socket that closes before opening is a failure.
 * `first` numbers them after sockets already open, for their source addresses.
 */
export async function openIdle(
  server: ServerProcess,
  count: number,
  first = 0,
): Promise<{ sockets: WebSocket[]; failed: number }> {
  const sockets: WebSocket[] = [];
  let failed = 0;
  let next = 0;
  const openOne = (index: number): Promise<void> =>
    new Promise((resolve) => {
      const ws = new WebSocket(server.url, {
        perMessageDeflate: false,
        localAddress: sourceAddress(first + index),
      });
      let opened = false;
      ws.on('error', () => undefined);
      ws.once('open', () => {
        opened = true;
        sockets.push(ws);
        resolve();
      });
      ws.once('close', () => {
        if (!opened) failed++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: Math.min(200, count) }, async () => {
      while (next < count) await openOne(next++);
    }),
  );
  return { sockets, failed };
}

/** Closes the sockets and waits (bounded) until the server has let go of them all. */
export async function closeIdle(server: ServerProcess, sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) => new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.close()))),
  );
  await serverConnections(server, (n) => n === 0);
}

/** Polls the server's count of open sockets until it satisfies `done`, for at most 10 s. */
export async function serverConnections(
  server: ServerProcess,
  done: (count: number) => boolean,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done((await server.request({ type: 'stats' }, 'stats')).connections) && Date.now() < deadline);
}

/**
 * The server's RSS growth per idle socket. A first round of sockets opened and closed beforehand keeps one-time
 * costs (code compiled on the first connection, buffer pools) out of the per-socket figure.
 */
export async function measureIdleMemory(server: ServerProcess, count: number): Promise<MemoryResult> {
  const warm = await openIdle(server, Math.min(count, 500));
  await closeIdle(server, warm.sockets);
  const before = await settledMemory(server);
  const { sockets, failed } = await openIdle(server, count);
  // the server counts a socket a moment after the client sees it open
  await serverConnections(server, (n) => n >= sockets.length);
  const after = await settledMemory(server);
  await closeIdle(server, sockets);
  return {
    server: server.kind,
    connections: sockets.length,
    failedConnects: failed + warm.failed,
    rssBeforeBytes: before.rss,
    rssAfterBytes: after.rss,
    bytesPerConnection: sockets.length > 0 ? (after.rss - before.rss) / sockets.length : 0,
    heapBytesPerConnection: sockets.length > 0 ? (after.heapUsed - before.heapUsed) / sockets.length : 0,
  };
}

/** The median round by bytes per connection, with the spread of all rounds and the failures of all summed. */
export function medianMemory(runs: readonly MemoryResult[]): MemoryResult {
  const sorted = [...runs].sort((a, b) => a.bytesPerConnection - b.bytesPerConnection);
  return {
    ...sorted[Math.floor((sorted.length - 1) / 2)]!,
    failedConnects: runs.reduce((sum, run) => sum + run.failedConnects, 0),
    spreadBytesPerConnection: [sorted[0]!.bytesPerConnection, sorted[sorted.length - 1]!.bytesPerConnection],
  };
}

/**
 * Idle memory, each server in a fresh process of its own with nothing else running: a process that has served
 * load (or loaded the reset rows' 20,000 seed users) holds heap and allocator pages that move its RSS by more than
 * 5,000 idle sockets do, either way. Rounds alternate between servers; each server's median round (by bytes per
 * connection) is reported, since one RSS delta moves by whole allocator and heap pages.
 */
export async function runIdleMemoryRows(
  servers: readonly ServerKind[],
  start: (kind: ServerKind) => Promise<ServerProcess>,
  options: { idle: number; rounds: number; log: (line: string) => void },
): Promise<MemoryResult[]> {
  const runs = new Map<ServerKind, MemoryResult[]>(servers.map((kind) => [kind, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const kind of servers) {
      options.log(
        `${kind}: ${options.idle} idle connections (fresh process), round ${round + 1}/${options.rounds}…`,
      );
      const server = await start(kind);
      try {
        runs.get(kind)!.push(await measureIdleMemory(server, options.idle));
      } finally {
        await server.stop();
      }
    }
  }
  return [...runs.values()].map(medianMemory);
}
