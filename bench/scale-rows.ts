// The scale rows: one fresh process per server holding 5,000, then 10,000, then 19,000 idle sockets (the file limit
// here is 20,000), with at each count its memory per socket, Ping on 50 busy sockets beside the idle ones, the event
// loop's delay meanwhile, and the CPU one heartbeat interval costs.
import type WebSocket from 'ws';
import { runLoad } from '../load/runner';
import { pingScenario } from '../load/scenarios/ping';
import { openIdle, serverConnections, settledMemory } from './idle-memory';
import { cpuMicros } from './proc';
import type { ServerProcess } from './server-process';
import type { ServerKind } from './server-child';

/** The idle socket counts, in one process, each on top of the last. */
export const SCALE_COUNTS: readonly number[] = [5_000, 10_000, 19_000];

/**
 * The heartbeat of the scale rows' gateways (the gateway's default is 30 s): short, so that every measured window
 * holds whole heartbeat rounds, whose CPU the rows report and whose event-loop delay the Ping rows feel.
 */
export const SCALE_HEARTBEAT_MS = 2_000;

export interface ScaleOptions {
  readonly counts: readonly number[];
  /** measured seconds of each Ping run */
  readonly durationS: number;
  /** HEARTBEAT_INTERVAL_MS of the gateways, default SCALE_HEARTBEAT_MS */
  readonly heartbeatMs: number;
  readonly log: (line: string) => void;
}

/** Heartbeat rounds the CPU of one interval is measured over, with nothing else running. */
const HEARTBEAT_ROUNDS = 3;

/** The busy sockets beside the idle ones: 50 connections, one Ping in flight each (latency, not saturation). */
const BUSY = { connections: 50, inflight: 1 } as const;

export interface ScaleRow {
  readonly server: ServerKind;
  /** idle sockets open (0: the reference row, busy sockets only) */
  readonly idle: number;
  readonly bytesPerConnection: number;
  readonly heapBytesPerConnection: number;
  /** Ping on the busy sockets */
  readonly pingP50Ms: number;
  readonly pingP99Ms: number;
  readonly pingErrors: number;
  /** the server's event-loop delay over the Ping run */
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
  /** the server's CPU over one heartbeat interval, idle sockets only (the baseline has no heartbeat) */
  readonly cpuMsPerInterval: number;
  readonly failedConnects: number;
  /** idle sockets the server closed while they were held */
  readonly dropped: number;
}

export function scaleGatewayEnv(options: Pick<ScaleOptions, 'heartbeatMs'>): Record<string, string> {
  return { HEARTBEAT_INTERVAL_MS: String(options.heartbeatMs) };
}

async function busyPing(
  server: ServerProcess,
  durationS: number,
): Promise<
  Pick<ScaleRow, 'pingP50Ms' | 'pingP99Ms' | 'pingErrors' | 'loopP99Ms' | 'loopMaxMs'> & { failed: number }
> {
  let loopStart: Promise<unknown> = Promise.resolve();
  const report = await runLoad({
    url: server.url,
    scenario: pingScenario,
    ...BUSY,
    durationS,
    warmupS: 0.5,
    timeoutMs: 10_000,
    // the delay histogram restarts when measuring does
    onMeasureStart: () => void (loopStart = server.request({ type: 'loop-delay' }, 'loop-delay')),
  });
  await loopStart;
  const loop = await server.request({ type: 'loop-delay' }, 'loop-delay');
  const ping = report.functions[0];
  return {
    pingP50Ms: ping?.p50Ms ?? NaN,
    pingP99Ms: ping?.p99Ms ?? NaN,
    pingErrors: report.totals.errors,
    loopP99Ms: loop.p99Ms,
    loopMaxMs: loop.maxMs,
    failed: report.connects.failed,
  };
}

/** The server's CPU per heartbeat interval over a few intervals of idle sockets only, in ms. */
async function heartbeatCpu(server: ServerProcess, heartbeatMs: number): Promise<number> {
  const before = cpuMicros(server.pid);
  await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_ROUNDS * heartbeatMs));
  return (cpuMicros(server.pid) - before) / 1000 / HEARTBEAT_ROUNDS;
}

/** One server's rows: the reference without idle sockets, then each count of SCALE_COUNTS on top of the last. */
export async function measureScale(server: ServerProcess, options: ScaleOptions): Promise<ScaleRow[]> {
  const held: WebSocket[] = [];
  let dropped = 0;
  let failedConnects = 0;
  const rows: ScaleRow[] = [];
  try {
    // one-time costs (code compiled on the first connections) before the reference memory
    const warm = await openIdle(server, 500);
    for (const ws of warm.sockets) ws.close();
    await serverConnections(server, (n) => n === 0);
    const before = await settledMemory(server);
    // twice, the first discarded: the process's first load also compiles the Ping path, whose delays are not
    // what idle sockets cost
    await busyPing(server, options.durationS);
    const reference = await busyPing(server, options.durationS);
    rows.push({
      server: server.kind,
      idle: 0,
      bytesPerConnection: 0,
      heapBytesPerConnection: 0,
      ...reference,
      cpuMsPerInterval: await heartbeatCpu(server, options.heartbeatMs),
      failedConnects: warm.failed + reference.failed,
      dropped: 0,
    });
    for (const count of options.counts) {
      options.log(`${server.kind}: ${count.toLocaleString('en-US')} idle sockets in one process…`);
      const opened = await openIdle(server, count - held.length, held.length);
      failedConnects += opened.failed;
      for (const ws of opened.sockets) {
        held.push(ws);
        ws.once('close', () => dropped++);
      }
      await serverConnections(server, (n) => n >= held.length);
      const after = await settledMemory(server);
      const busy = await busyPing(server, options.durationS);
      const cpuMsPerInterval = await heartbeatCpu(server, options.heartbeatMs);
      rows.push({
        server: server.kind,
        idle: held.length,
        bytesPerConnection: (after.rss - before.rss) / held.length,
        heapBytesPerConnection: (after.heapUsed - before.heapUsed) / held.length,
        ...busy,
        cpuMsPerInterval,
        failedConnects: failedConnects + busy.failed,
        dropped,
      });
    }
  } finally {
    for (const ws of held) {
      ws.removeAllListeners('close');
      ws.terminate();
    }
  }
  return rows;
}

/** Every server's scale rows, each server in a fresh process of its own. */
export async function runScaleRows(
  servers: readonly ServerKind[],
  start: (kind: ServerKind, env: Record<string, string>) => Promise<ServerProcess>,
  options: ScaleOptions,
): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const kind of servers) {
    const server = await start(kind, scaleGatewayEnv(options));
    try {
      rows.push(...(await measureScale(server, options)));
    } finally {
      await server.stop();
    }
  }
  return rows;
}
