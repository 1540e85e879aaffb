// The load tool over worker threads, several URLs and source addresses: merged histograms, one progress line a
// second, connections spread round robin, sockets that arrive from the given local addresses.
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { startBaselineServer } from '../../bench/baseline-server';
import type { BaselineServer } from '../../bench/baseline-server';
import { runParallel, split } from '../../load/parallel';
import type { Progress } from '../../load/runner';
import { LoadStats, mergeWindows } from '../../load/stats';
import { sourceAddressesFor } from '../../load/target';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from '../support/bundle';

/** load/worker.ts bundled with its packages (a worker thread in /tmp would not find node_modules). */
async function workerScript(): Promise<string> {
  const outfile = join(mkdtempSync(join(tmpdir(), 'oms-load-worker-')), 'worker.js');
  await build({
    entryPoints: [join(ROOT, 'load/worker.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // ws's optional native helpers
    external: ['bufferutil', 'utf-8-validate'],
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

describe('merged statistics', () => {
  it('merges two workers: the count is the sum and the percentiles come from both workers’ values', () => {
    const fast = new LoadStats();
    const slow = new LoadStats();
    for (let i = 0; i < 100; i++) fast.record('Ping', 1);
    for (let i = 0; i < 100; i++) slow.record('Ping', 100, i < 10 ? 'timeout' : undefined);
    const merged = new LoadStats();
    merged.merge(fast.encode());
    merged.merge(slow.encode());
    const [row] = merged.summarise(1);
    expect(row).toMatchObject({ name: 'Ping', calls: 200, errorCount: 10, errors: { timeout: 10 } });
    expect(row!.p50Ms).toBeCloseTo(1, 1);
    expect(row!.p99Ms).toBeCloseTo(100, 0);
    const window = mergeWindows([fast.takeEncodedWindow(), slow.takeEncodedWindow()]);
    expect(window).toMatchObject({ calls: 200, errors: 10 });
    expect(window.p99Ms).toBeCloseTo(100, 0);
  });

  it('splits connections and calls as evenly as possible', () => {
    expect(split(10, 3)).toEqual([4, 3, 3]);
    expect(split(2, 2)).toEqual([1, 1]);
  });
});

describe('source addresses', () => {
  it('spreads over 127.0.0.2… past 25,000 loopback sockets, and never for a remote or IPv6 target', () => {
    expect(sourceAddressesFor(25_000, ['ws://127.0.0.1:1/'], [])).toEqual([]);
    expect(sourceAddressesFor(60_000, ['ws://127.0.0.1:1/'], [])).toEqual([
      '127.0.0.2',
      '127.0.0.3',
      '127.0.0.4',
    ]);
    expect(sourceAddressesFor(60_000, ['ws://[::1]:1/'], [])).toEqual([]);
    expect(sourceAddressesFor(60_000, ['ws://10.0.0.1:1/'], [])).toEqual([]);
    expect(sourceAddressesFor(10, ['ws://127.0.0.1:1/'], ['127.0.0.9'])).toEqual(['127.0.0.9']);
  });
});

describe('load over workers and targets', () => {
  let servers: BaselineServer[] = [];

  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close()));
    servers = [];
  });

  it('runs two worker threads and reports every call once, with one progress line per second for the run', async () => {
    const echo = await startBaselineServer();
    servers.push(echo);
    const seen: Progress[] = [];
    const report = await runParallel({
      url: `ws://127.0.0.1:${echo.port}/`,
      scenario: 'ping',
      workers: 2,
      workerScript: await workerScript(),
      connections: 4,
      inflight: 1,
      durationS: 2.5,
      rate: 200,
      onProgress: (progress) => seen.push(progress),
    });
    expect(report.workers).toBe(2);
    expect(report.connects).toEqual({ ok: 4, failed: 0, firstError: null });
    // each worker scheduled half of the 500 calls of the timetable
    expect(report.totals).toMatchObject({ calls: 500, errors: 0 });
    // one line per second for the whole run, not one per worker
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(report.timeline).toEqual(seen);
    expect(seen.reduce((sum, p) => sum + p.callsPerSecond, 0)).toBeLessThanOrEqual(500);
    expect(new Set(seen.map((p) => Math.round(p.elapsedS))).size).toBe(seen.length);
  });

  it('spreads connections round robin over several URLs', async () => {
    const a = await startBaselineServer();
    const b = await startBaselineServer();
    servers.push(a, b);
    const counts = { a: 0, b: 0 };
    const report = await runParallel({
      url: `ws://127.0.0.1:${a.port}/`,
      urls: [`ws://127.0.0.1:${a.port}/`, `ws://127.0.0.1:${b.port}/`],
      scenario: 'ping',
      workers: 1,
      connections: 5,
      inflight: 1,
      durationS: 30,
      maxCalls: 50,
      onMeasureStart: () => {
        counts.a = a.connections();
        counts.b = b.connections();
      },
    });
    expect(report.totals.calls).toBe(50);
    expect(counts).toEqual({ a: 3, b: 2 });
  });

  it('opens the sockets from the given source addresses', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const from: string[] = [];
    wss.on('connection', (ws, request) => {
      from.push(request.socket.remoteAddress ?? '');
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { i: number };
        ws.send(JSON.stringify({ m: 1, i: frame.i, n: 'Ping', o: '{"msg":"PONG"}' }));
      });
    });
    try {
      const report = await runParallel({
        url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
        sourceAddresses: ['127.0.0.2', '127.0.0.3'],
        scenario: 'ping',
        workers: 1,
        connections: 4,
        inflight: 1,
        durationS: 30,
        maxCalls: 8,
      });
      expect(report.totals).toMatchObject({ calls: 8, errors: 0 });
      expect(from.sort()).toEqual(['127.0.0.2', '127.0.0.2', '127.0.0.3', '127.0.0.3']);
    } finally {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
