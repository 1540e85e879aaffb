// `npm run bench`: the gateway (embedded store and real Redis) against a bare ws baseline, same machine, same run,
// same load; one table of ratios to the baseline, and the targets checked against it.
import { formatLoginFlood, measureLoginFlood } from './login-flood-bench';
import type { LoginFloodResult } from './login-flood-bench';
import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { formatColumns } from '../load/report';
import { runLoad } from '../load/runner';
import type { LoadReport } from '../load/runner';
import type { Scenario } from '../load/scenario';
import { pingScenario } from '../load/scenarios/ping';
import {
  benchResetRequestScenario,
  floodResetPassword2,
  measureArgon2,
  measureRoundTrips,
  openBenchRedis,
  resetBenchEnv,
  resetPassword2Scenario,
  seedCodes,
  writeSeedFile,
  DRAIN_CONCURRENCY,
  measureKnownVsUnknown,
  RESET2_CODES,
  RESET_BENCH_USERS,
  TIMING_CALLS,
} from './reset-bench';
import type { Argon2Ceiling, Drained, FloodResult, KnownVsUnknown, RoundTrips } from './reset-bench';
import type { ChildMessage, ParentMessage, ServerKind } from './server-child';

/** One measured row: a scenario at a load on a server. */
interface BenchCase {
  readonly server: ServerKind;
  readonly scenario: Scenario;
  readonly connections: number;
  readonly inflight: number;
}

interface CaseResult extends BenchCase {
  /** medians over the rounds */
  readonly callsPerSecond: number;
  /** the server's CPU time (user + system) per call: steadier than calls/s when the load generator is the limit */
  readonly cpuMicrosPerCall: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly failedConnects: number;
}

interface MemoryResult {
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

interface TargetCheck {
  readonly target: string;
  readonly actual: string;
  readonly ok: boolean;
}

const SERVERS: readonly ServerKind[] = ['baseline', 'gateway-memory', 'gateway-redis'];
const LOADS: readonly (readonly [number, number])[] = [
  [1, 1],
  [50, 10],
  [500, 1],
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A throwaway redis-server (no persistence) on a free port, never the system one on 6379. */
async function startRedis(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('error', (error) => reject(new Error(`redis-server did not start: ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A server child with a request/reply helper over IPC. */
interface ServerProcess {
  readonly kind: ServerKind;
  readonly pid: number;
  readonly url: string;
  request<T extends ChildMessage['type']>(
    message: ParentMessage,
    reply: T,
  ): Promise<Extract<ChildMessage, { type: T }>>;
  stop(): Promise<void>;
}

async function startServer(
  kind: ServerKind,
  redisUrl: string,
  profileDir: string | undefined,
  gatewayEnv: Record<string, string> = {},
): Promise<ServerProcess> {
  const execArgv = ['--expose-gc', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const child: ChildProcess = fork(join(__dirname, 'server-child.js'), [kind], {
    execArgv,
    env: { ...process.env, BENCH_REDIS_URL: redisUrl, BENCH_GATEWAY_ENV: JSON.stringify(gatewayEnv) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: ChildMessage): void => {
        if (message.type === 'error') reject(new Error(`${kind}: ${message.message}`));
        else if (message.type === type) resolve(message as Extract<ChildMessage, { type: T }>);
        else return;
        child.off('message', onMessage);
      };
      child.on('message', onMessage);
    });
  const ready = await Promise.race([
    next('ready'),
    exited.then(() => Promise.reject(new Error(`${kind} server exited before it was ready`))),
  ]);
  return {
    kind,
    pid: child.pid!,
    url: `ws://127.0.0.1:${ready.port}/WSGateway`,
    request: (message, reply) => {
      const answer = next(reply);
      child.send(message);
      return answer;
    },
    stop: async () => {
      child.send({ type: 'stop' } satisfies ParentMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * CPU time (user + system) a process has used, from /proc/<pid>/stat, in microseconds; with `thread`, that one
 * thread's (/proc/<pid>/task/<tid>/stat; the main thread's tid is the pid).
 */
function cpuMicros(pid: number, thread?: number): number {
  // the fields after the command name (which may hold spaces, hence the last ')'); utime and stime are 14 and 15
  const stat = readFileSync(
    thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
    'utf8',
  );
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / CLOCK_TICKS_PER_SECOND) * 1e6;
}

/** USER_HZ: 100 on every Linux the gateway runs on (getconf CLK_TCK) */
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident memory of a process, from /proc/<pid>/status (VmRSS, in kB). */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`No VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

async function settledMemory(server: ServerProcess): Promise<{ rss: number; heapUsed: number }> {
  await server.request({ type: 'gc' }, 'gc-done');
  // twice: the first frees what only a second pass reclaims
  const { heapUsedBytes } = await server.request({ type: 'gc' }, 'gc-done');
  return { rss: rssBytes(server.pid), heapUsed: heapUsedBytes };
}

/** Opens `count` idle sockets, at most 200 connecting at once; a socket that closes before opening is a failure. */
async function openIdle(
  server: ServerProcess,
  count: number,
): Promise<{ sockets: WebSocket[]; failed: number }> {
  const sockets: WebSocket[] = [];
  let failed = 0;
  let next = 0;
  const openOne = (): Promise<void> =>
    new Promise((resolve) => {
      const ws = new WebSocket(server.url, { perMessageDeflate: false });
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
      while (next++ < count) await openOne();
    }),
  );
  return { sockets, failed };
}

/** Closes the sockets and waits (bounded) until the server has let go of them all. */
async function closeIdle(server: ServerProcess, sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) => new Promise<void>((resolve) => (ws.once('close', () => resolve()), ws.close()))),
  );
  await serverConnections(server, (n) => n === 0);
}

/** Polls the server's count of open sockets until it satisfies `done`, for at most 10 s. */
async function serverConnections(server: ServerProcess, done: (count: number) => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done((await server.request({ type: 'stats' }, 'stats')).connections) && Date.now() < deadline);
}

/**
 * The server's RSS growth per idle socket. A first round of sockets opened and closed beforehand keeps one-time
 * costs (code compiled on the first connection, buffer pools) out of the per-socket figure.
 */
async function measureIdleMemory(server: ServerProcess, count: number): Promise<MemoryResult> {
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
function medianMemory(runs: readonly MemoryResult[]): MemoryResult {
  const sorted = [...runs].sort((a, b) => a.bytesPerConnection - b.bytesPerConnection);
  return {
    ...sorted[Math.floor((sorted.length - 1) / 2)]!,
    failedConnects: runs.reduce((sum, run) => sum + run.failedConnects, 0),
    spreadBytesPerConnection: [sorted[0]!.bytesPerConnection, sorted[sorted.length - 1]!.bytesPerConnection],
  };
}

interface Round {
  readonly report: LoadReport;
  readonly serverCpuMicros: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Medians over rounds (one noisy round does not decide), errors and failed connects summed. */
function summarise(benchCase: BenchCase, rounds: readonly Round[]): CaseResult {
  return {
    ...benchCase,
    callsPerSecond: median(rounds.map((r) => r.report.totals.callsPerSecond)),
    cpuMicrosPerCall: median(rounds.map((r) => r.serverCpuMicros / Math.max(1, r.report.totals.calls))),
    p50Ms: median(rounds.map((r) => r.report.functions[0]?.p50Ms ?? NaN)),
    p99Ms: median(rounds.map((r) => r.report.functions[0]?.p99Ms ?? NaN)),
    errors: rounds.reduce((sum, r) => sum + r.report.totals.errors, 0),
    failedConnects: rounds.reduce((sum, r) => sum + r.report.connects.failed, 0),
  };
}

/** @node-rs/argon2 alone: the ceiling ResetPassword2's hashes/s is held against. */
interface Argon2Reference {
  /** one hash in flight per core, right before the flood */
  readonly before: Argon2Ceiling;
  /** the same right after it: the two bracket the flood, so a drift in the shared machine's load shows */
  readonly after: Argon2Ceiling;
  /** 4 in flight (the libuv threadpool's default size) */
  readonly fourSlots: Argon2Ceiling;
  /** argon2's best here: the higher of the mean of before and after, and fourSlots */
  readonly hashesPerSecond: number;
}

/** CPU per ResetPassword2 call during the flood, in ms, by where it was spent. */
interface FloodCpu {
  readonly gatewayEventLoop: number;
  /** the hash threads, and V8's helper threads */
  readonly gatewayOtherThreads: number;
  readonly redis: number;
  /** the load generator (this process), including the Pings alongside */
  readonly bench: number;
}

/** What the reset rows measured, when the Redis gateway ran them. */
interface ResetMeasures {
  readonly roundTrips: RoundTrips;
  /** the same for ResetPassword2 (1×1, with codes the flood left unused) */
  readonly reset2RoundTrips: RoundTrips;
  /** public ResetPassword, known against unknown names, interleaved */
  readonly timing: KnownVsUnknown;
  readonly argon2: Argon2Reference;
  readonly flood: FloodResult;
  readonly floodLoad: readonly [number, number];
  readonly floodCpu: FloodCpu;
  /** the mail the ResetPassword rounds queued, sent from the bench process between rounds */
  readonly delivery: Drained;
  /** CPU per ResetPassword call at 50×10, over the measured seconds of its rounds */
  readonly requestCpu: RequestCpu;
}

/** µs of CPU per call, by process. */
interface RequestCpu {
  readonly gateway: number;
  readonly redis: number;
  /** the bench process: the load generator */
  readonly generator: number;
}

/** The targets, each checked against this run's figures. */
function checkTargets(
  results: readonly CaseResult[],
  memory: readonly MemoryResult[],
  reset: ResetMeasures | null,
): TargetCheck[] {
  const find = (server: ServerKind, c: number, k: number) =>
    results.find((r) => r.server === server && r.connections === c && r.inflight === k);
  const checks: TargetCheck[] = [];
  for (const server of ['gateway-memory', 'gateway-redis'] as const) {
    const base50 = find('baseline', 50, 10);
    const gw50 = find(server, 50, 10);
    if (base50 && gw50) {
      const ratio = gw50.callsPerSecond / base50.callsPerSecond;
      checks.push({
        target: `${server}: Ping calls/s at 50×10 ≥ 70% of baseline`,
        actual: `${(ratio * 100).toFixed(0)}%`,
        ok: ratio >= 0.7,
      });
    }
    const base1 = find('baseline', 1, 1);
    const gw1 = find(server, 1, 1);
    if (base1 && gw1) {
      const delta = gw1.p50Ms - base1.p50Ms;
      checks.push({
        target: `${server}: Ping p50 at 1×1 within 0.05 ms of baseline`,
        actual: `${delta >= 0 ? '+' : ''}${delta.toFixed(3)} ms`,
        ok: delta <= 0.05,
      });
    }
    const baseMemory = memory.find((m) => m.server === 'baseline');
    const gwMemory = memory.find((m) => m.server === server);
    if (baseMemory && gwMemory) {
      const ratio = gwMemory.bytesPerConnection / baseMemory.bytesPerConnection;
      checks.push({
        target: `${server}: idle memory per connection ≤ 1.5× baseline`,
        actual: `${ratio.toFixed(3)}×`,
        ok: ratio <= 1.5,
      });
    }
  }
  const base50 = find('baseline', 50, 10);
  const reset50 = results.find((r) => r.scenario.name === 'reset-request' && r.connections === 50);
  if (base50 && reset50) {
    const ratio = reset50.callsPerSecond / base50.callsPerSecond;
    checks.push({
      target: 'gateway-redis: ResetPassword calls/s at 50×10 ≥ 35% of baseline Ping',
      actual: `${(ratio * 100).toFixed(0)}%`,
      ok: ratio >= 0.35,
    });
    const spread = reset50.p99Ms / reset50.p50Ms;
    checks.push({
      target: 'gateway-redis: ResetPassword p99 ≤ 3.5× its p50 at 50×10',
      actual: `${spread.toFixed(2)}×`,
      ok: spread <= 3.5,
    });
  }
  let resetFailures = 0;
  if (reset) {
    const trips = Object.values(reset.roundTrips.perCallByConnection).reduce((sum, n) => sum + n, 0);
    checks.push({
      target: 'gateway-redis: Redis round trips per ResetPassword call = 1',
      actual: `${trips.toFixed(1)} (mail sent by another process)`,
      ok: trips <= 1.05,
    });
    const hashRate = rateOf(reset.flood.reset2);
    const ratio = hashRate / reset.argon2.hashesPerSecond;
    checks.push({
      target: 'gateway-redis: ResetPassword2 hashes/s ≥ 90% of @node-rs/argon2 alone',
      actual: `${(ratio * 100).toFixed(0)}%`,
      ok: ratio >= 0.9,
    });
    const pingP99 = reset.flood.ping.functions[0]?.p99Ms ?? NaN;
    checks.push({
      target: 'Ping p99 on another connection during the ResetPassword2 flood < 20 ms',
      actual: `${pingP99.toFixed(2)} ms`,
      ok: pingP99 < 20,
    });
    for (const report of [reset.flood.reset2, reset.flood.ping]) {
      resetFailures += report.totals.errors + report.connects.failed;
    }
  }
  const failures =
    resetFailures +
    [...results, ...memory].reduce((sum, r) => sum + r.failedConnects + ('errors' in r ? r.errors : 0), 0);
  checks.push({
    target: 'zero failed connects and zero errors at every load',
    actual: String(failures),
    ok: failures === 0,
  });
  return checks;
}

/** Successful calls per second of a run. */
function rateOf(report: LoadReport): number {
  return report.elapsedS > 0 ? (report.totals.calls - report.totals.errors) / report.elapsedS : 0;
}

function formatRoundTrips(name: string, trips: RoundTrips): string {
  const total = Object.values(trips.perCallByConnection).reduce((sum, n) => sum + n, 0);
  const byConnection = Object.entries(trips.perCallByConnection)
    .map(([connection, n]) => `${connection} ${n.toFixed(2)}`)
    .join(', ');
  const commands = Object.entries(trips.commandsPerCall)
    .sort((a, b) => b[1] - a[1])
    .map(([command, n]) => `${command} ${n.toFixed(2)}`)
    .join(', ');
  return [
    `Redis round trips per ${name} call (1×1, ${trips.calls} calls, its mail sent by another process): ` +
      `${total.toFixed(2)} = ${byConnection}`,
    `Redis commands per ${name} call (INFO commandstats, commands inside scripts counted too): ${commands}`,
  ].join('\n');
}

function formatReset(reset: ResetMeasures, argon2Params: string): string {
  const { reset2, ping } = reset.flood;
  const cpu = reset.floodCpu;
  const row = (report: LoadReport, label: string): string[] => {
    const f = report.functions[0];
    return [
      label,
      `${report.connections}×${report.inflight}`,
      rateOf(report).toFixed(1),
      f ? f.p50Ms.toFixed(3) : '',
      f ? f.p99Ms.toFixed(3) : '',
      String(report.totals.errors),
      String(report.connects.failed),
    ];
  };
  const hashRows = [
    ['ResetPassword2 and argon2id', 'load (C×K)', 'per s', 'p50 ms', 'p99 ms', 'errors', 'failed connects'],
    ...(
      [
        [reset.argon2.before, 'before the flood'],
        [reset.argon2.after, 'after the flood'],
        [reset.argon2.fourSlots, 'libuv default'],
      ] as const
    ).map(([ceiling, when]) => [
      `@node-rs/argon2 alone, ${ceiling.slots} in flight (${when})`,
      '',
      ceiling.hashesPerSecond.toFixed(1),
      '',
      '',
      '0',
      '0',
    ]),
    row(reset2, 'gateway-redis ResetPassword2 (one hash each)'),
    row(ping, 'gateway-redis Ping on another socket, same time'),
  ];
  return [
    `CPU per ResetPassword call at 50×10, µs: gateway ${reset.requestCpu.gateway.toFixed(1)}, redis-server ` +
      `${reset.requestCpu.redis.toFixed(1)}, load generator ${reset.requestCpu.generator.toFixed(1)}; all ` +
      `on ${availableParallelism()} cores, so at most ` +
      `${((availableParallelism() * 1e6) / (reset.requestCpu.gateway + reset.requestCpu.redis + reset.requestCpu.generator)).toFixed(0)} calls/s here`,
    formatRoundTrips('ResetPassword', reset.roundTrips),
    `Mail delivery (claim, render, send to a dev outbox, complete; ${DRAIN_CONCURRENCY} at once, from the bench ` +
      `process after each ResetPassword round): ${reset.delivery.mails} mails, ` +
      `${(reset.delivery.mails / Math.max(0.001, reset.delivery.seconds)).toFixed(0)} mails/s`,
    formatRoundTrips('ResetPassword2', reset.reset2RoundTrips),
    `public ResetPassword, known minus unknown name over ${reset.timing.calls} interleaved calls each: median ` +
      `${reset.timing.medianDiffMicros.toFixed(0)} µs, z = ${reset.timing.z.toFixed(2)}; a Ping right after: ` +
      `${reset.timing.pingMedianDiffMicros.toFixed(0)} µs, z = ${reset.timing.pingZ.toFixed(2)} (target |z| < 2)`,
    '',
    `argon2id ${argon2Params}; ResetPassword2 ${reset.floodLoad[0]}×${reset.floodLoad[1]}, ${reset2.totals.calls} calls ` +
      `in ${reset2.elapsedS.toFixed(1)} s; ratio to argon2 alone at its best here ` +
      `(${reset.argon2.hashesPerSecond.toFixed(1)}/s) ${(rateOf(reset2) / reset.argon2.hashesPerSecond).toFixed(2)}`,
    formatColumns(hashRows),
    `CPU per ResetPassword2 call during the flood, ms: gateway event loop ${cpu.gatewayEventLoop.toFixed(2)}, ` +
      `gateway hash and helper threads ${cpu.gatewayOtherThreads.toFixed(2)}, redis-server ${cpu.redis.toFixed(2)}, ` +
      `load generator ${cpu.bench.toFixed(2)}`,
  ].join('\n');
}

function formatTable(
  results: readonly CaseResult[],
  memory: readonly MemoryResult[],
  checks: readonly TargetCheck[],
): string {
  const baselineOf = (r: CaseResult) =>
    results.find(
      (b) => b.server === 'baseline' && b.connections === r.connections && b.inflight === r.inflight,
    );
  const rows = [
    [
      'server',
      'load (C×K)',
      'calls/s',
      '× baseline',
      'server CPU µs/call',
      '× baseline',
      'p50 ms',
      'Δp50 ms',
      'p99 ms',
      'errors',
      'failed connects',
    ],
    ...results.map((r) => {
      const base = baselineOf(r);
      return [
        r.server,
        `${r.scenario.name} ${r.connections}×${r.inflight}`,
        Math.round(r.callsPerSecond).toLocaleString('en-US'),
        base ? (r.callsPerSecond / base.callsPerSecond).toFixed(2) : '',
        r.cpuMicrosPerCall.toFixed(1),
        base ? (r.cpuMicrosPerCall / base.cpuMicrosPerCall).toFixed(2) : '',
        r.p50Ms.toFixed(3),
        base ? (r.p50Ms - base.p50Ms).toFixed(3) : '',
        r.p99Ms.toFixed(3),
        String(r.errors),
        String(r.failedConnects),
      ];
    }),
  ];
  const baseMemory = memory.find((m) => m.server === 'baseline');
  const memoryRows = [
    [
      'server',
      'idle connections',
      'RSS before MiB',
      'RSS after MiB',
      'KiB/connection',
      'rounds min–max',
      '× baseline',
      'heap KiB/connection',
      'failed connects',
    ],
    ...memory.map((m) => [
      m.server,
      m.connections.toLocaleString('en-US'),
      (m.rssBeforeBytes / 2 ** 20).toFixed(1),
      (m.rssAfterBytes / 2 ** 20).toFixed(1),
      (m.bytesPerConnection / 1024).toFixed(2),
      m.spreadBytesPerConnection
        ? m.spreadBytesPerConnection.map((bytes) => (bytes / 1024).toFixed(2)).join('–')
        : '',
      baseMemory ? (m.bytesPerConnection / baseMemory.bytesPerConnection).toFixed(2) : '',
      (m.heapBytesPerConnection / 1024).toFixed(2),
      String(m.failedConnects),
    ]),
  ];
  const targetRows = [
    ['target', 'actual', ''],
    ...checks.map((c) => [c.target, c.actual, c.ok ? 'ok' : 'MISSED']),
  ];
  return `${formatColumns(rows)}\n\n${formatColumns(memoryRows)}\n\n${formatColumns(targetRows)}\n`;
}

function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  return `${cpus().length} × ${model}, Node ${process.version}, ${process.platform}, load average at the end ${load}`;
}

/** The gateway's argon2 parameters as configured by default (gateway/config.ts). */
const ARGON2_PARAMS = 'm=19456 KiB, t=2, p=1 (the gateway defaults)';

/** ResetPassword2 calls whose Redis round trips are counted (each hashes, so few). */
const RESET2_ROUND_TRIP_CALLS = 50;

/** ResetPassword 50×10 (rounds, medians), its Redis round trips, and ResetPassword2 against argon2 alone. */
async function runResetRows(
  server: ServerProcess,
  redis: { url: string; pid: number },
  options: {
    durationS: number;
    warmupS: number;
    roundCount: number;
    resetDurationS: number;
    log: (line: string) => void;
  },
): Promise<{ row: CaseResult; reset: ResetMeasures }> {
  const { log } = options;
  const benchRedis = openBenchRedis(redis.url);
  try {
    const scenario = benchResetRequestScenario();
    const rounds: Round[] = [];
    let delivery: Drained = { mails: 0, seconds: 0 };
    const split = { calls: 0, gateway: 0, redis: 0, generator: 0 };
    for (let round = 0; round < options.roundCount; round++) {
      log(`gateway-redis: ResetPassword 50×10, round ${round + 1}/${options.roundCount}…`);
      let cpuBefore = 0;
      let redisBefore = 0;
      let benchBefore = process.cpuUsage();
      const report = await runLoad({
        url: server.url,
        scenario,
        connections: 50,
        inflight: 10,
        durationS: options.durationS,
        warmupS: options.warmupS,
        timeoutMs: 10_000,
        onMeasureStart: () => {
          cpuBefore = cpuMicros(server.pid);
          redisBefore = cpuMicros(redis.pid);
          benchBefore = process.cpuUsage();
        },
      });
      const benchCpu = process.cpuUsage(benchBefore);
      rounds.push({ report, serverCpuMicros: cpuMicros(server.pid) - cpuBefore });
      split.calls += report.totals.calls;
      split.gateway += cpuMicros(server.pid) - cpuBefore;
      split.redis += cpuMicros(redis.pid) - redisBefore;
      split.generator += benchCpu.user + benchCpu.system;
      // the gateway only queues (MAIL_DELIVERY_CONCURRENCY=0, the front-end role): the bench sends the
      // round's mail before the next round, and times it
      const drained = await benchRedis.drainMail();
      delivery = { mails: delivery.mails + drained.mails, seconds: delivery.seconds + drained.seconds };
    }
    const row = summarise({ server: 'gateway-redis', scenario, connections: 50, inflight: 10 }, rounds);
    const perCall = (micros: number): number => micros / Math.max(1, split.calls);
    const requestCpu: RequestCpu = {
      gateway: perCall(split.gateway),
      redis: perCall(split.redis),
      generator: perCall(split.generator),
    };
    log('gateway-redis: Redis round trips of ResetPassword…');
    const redisWrites = async () =>
      (await server.request({ type: 'redis-writes' }, 'redis-writes')).byLocalPort;
    const roundTrips = await measureRoundTrips(server.url, benchRedis, scenario, redisWrites, 200);
    log(`gateway-redis: public ResetPassword, known against unknown names, ${TIMING_CALLS} each…`);
    // users below the ones seedCodes takes, each asked once
    const timing = await measureKnownVsUnknown(server.url, RESET_BENCH_USERS - RESET2_CODES);
    await benchRedis.drainMail();
    const seeded = await seedCodes(benchRedis);
    // the last codes stay for ResetPassword2's round trips, after the flood
    const codes = seeded.slice(0, -RESET2_ROUND_TRIP_CALLS);
    await benchRedis.drainMail();
    const cores = availableParallelism();
    log(`@node-rs/argon2 alone, ${cores} in flight…`);
    const before = await measureArgon2(benchRedis.config, options.resetDurationS, cores);
    log('gateway-redis: ResetPassword2 flood with Ping alongside…');
    const floodLoad = [20, 10] as const;
    const cpuNow = () => ({
      gatewayEventLoop: cpuMicros(server.pid, server.pid),
      gateway: cpuMicros(server.pid),
      redis: cpuMicros(redis.pid),
      bench: process.cpuUsage(),
    });
    const cpuBefore = cpuNow();
    const flood = await floodResetPassword2(
      server.url,
      codes,
      floodLoad[0],
      floodLoad[1],
      options.resetDurationS,
    );
    const cpuAfter = cpuNow();
    log('gateway-redis: Redis round trips of ResetPassword2…');
    await benchRedis.drainMail();
    const reset2RoundTrips = await measureRoundTrips(
      server.url,
      benchRedis,
      resetPassword2Scenario(seeded.slice(-RESET2_ROUND_TRIP_CALLS)),
      redisWrites,
      RESET2_ROUND_TRIP_CALLS,
    );
    log(`@node-rs/argon2 alone, ${cores} and 4 in flight…`);
    const after = await measureArgon2(benchRedis.config, options.resetDurationS, cores);
    const fourSlots = await measureArgon2(benchRedis.config, options.resetDurationS, 4);
    const argon2: Argon2Reference = {
      before,
      after,
      fourSlots,
      hashesPerSecond: Math.max(
        (before.hashesPerSecond + after.hashesPerSecond) / 2,
        fourSlots.hashesPerSecond,
      ),
    };
    const msPerCall = (micros: number): number => micros / 1000 / Math.max(1, flood.reset2.totals.calls);
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const eventLoop = cpuAfter.gatewayEventLoop - cpuBefore.gatewayEventLoop;
    const floodCpu: FloodCpu = {
      gatewayEventLoop: msPerCall(eventLoop),
      gatewayOtherThreads: msPerCall(cpuAfter.gateway - cpuBefore.gateway - eventLoop),
      redis: msPerCall(cpuAfter.redis - cpuBefore.redis),
      bench: msPerCall(benchCpu.user + benchCpu.system),
    };
    return {
      row,
      reset: {
        roundTrips,
        reset2RoundTrips,
        timing,
        argon2,
        flood,
        floodLoad,
        floodCpu,
        delivery,
        requestCpu,
      },
    };
  } finally {
    await benchRedis.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '0.5' },
      rounds: { type: 'string', default: '3' },
      idle: { type: 'string', default: '5000' },
      'idle-rounds': { type: 'string', default: '3' },
      only: { type: 'string' },
      profile: { type: 'string' },
      'no-reset': { type: 'boolean', default: false },
      'reset-duration': { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      'no-login-flood': { type: 'boolean', default: false },
    },
  });
  const resetRows = !values['no-reset'];
  const resetDurationS = Number(values['reset-duration']);
  const durationS = Number(values.duration);
  const warmupS = Number(values.warmup);
  const idle = Number(values.idle);
  const idleRounds = Number(values['idle-rounds']);
  const roundCount = Number(values.rounds);
  const servers = values.only ? (values.only.split(',') as ServerKind[]) : SERVERS;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const redis = await startRedis();
  const seedFile = resetRows ? writeSeedFile() : null;
  const results: CaseResult[] = [];
  const memory: MemoryResult[] = [];
  const running: ServerProcess[] = [];
  let reset: ResetMeasures | null = null;
  try {
    // idle memory first, each server in a fresh process of its own with nothing else running: a process that has
    // served load (or loaded the reset rows' 20,000 seed users) holds heap and allocator pages that move its RSS
    // by more than 5,000 idle sockets do, either way. The Redis gateway here as deployed, without the seed file.
    // Rounds alternate between servers; each server's median round (by bytes per connection) is reported, since
    // one RSS delta moves by whole allocator and heap pages.
    if (idle > 0) {
      const idleRuns = new Map<ServerKind, MemoryResult[]>(servers.map((kind) => [kind, []]));
      for (let round = 0; round < idleRounds; round++) {
        for (const kind of servers) {
          log(`${kind}: ${idle} idle connections (fresh process), round ${round + 1}/${idleRounds}…`);
          const server = await startServer(kind, redis.url, undefined);
          try {
            idleRuns.get(kind)!.push(await measureIdleMemory(server, idle));
          } finally {
            await server.stop();
          }
        }
      }
      for (const runs of idleRuns.values()) memory.push(medianMemory(runs));
    }
    // all servers up at once (an idle one costs nothing), so rounds can alternate between them: drift in the
    // machine's load (other processes, CPU clocks) then spreads over all servers instead of favouring one
    for (const kind of servers) {
      if (kind === 'gateway-redis' && seedFile) log(`gateway-redis: loading the seed users…`);
      const env = kind === 'gateway-redis' && seedFile ? resetBenchEnv(seedFile.path) : {};
      running.push(await startServer(kind, redis.url, values.profile, env));
    }
    for (const [connections, inflight] of LOADS) {
      const rounds = new Map<ServerKind, Round[]>(running.map((server) => [server.kind, []]));
      for (let round = 0; round < roundCount; round++) {
        // rotate who goes first, so no server always runs right after the same one
        const order = running.map((_, i) => running[(i + round) % running.length]!);
        for (const server of order) {
          log(`${server.kind}: Ping ${connections}×${inflight}, round ${round + 1}/${roundCount}…`);
          let cpuBefore = 0;
          const report = await runLoad({
            url: server.url,
            scenario: pingScenario,
            connections,
            inflight,
            durationS,
            warmupS,
            timeoutMs: 10_000,
            onMeasureStart: () => (cpuBefore = cpuMicros(server.pid)),
          });
          rounds.get(server.kind)!.push({ report, serverCpuMicros: cpuMicros(server.pid) - cpuBefore });
        }
      }
      for (const server of running) {
        const benchCase: BenchCase = { server: server.kind, scenario: pingScenario, connections, inflight };
        results.push(summarise(benchCase, rounds.get(server.kind)!));
      }
    }
    const redisGateway = running.find((server) => server.kind === 'gateway-redis');
    if (resetRows && redisGateway) {
      const measured = await runResetRows(redisGateway, redis, {
        durationS,
        warmupS,
        roundCount,
        resetDurationS,
        log,
      });
      results.push(measured.row);
      reset = measured.reset;
    }
  } finally {
    await Promise.all(running.map((server) => server.stop()));
    await redis.stop();
    seedFile?.remove();
  }

  let loginFlood: LoginFloodResult | null = null;
  if (!values['no-login-flood']) {
    log('gateway (embedded store): another login during a wrong-password flood…');
    loginFlood = await measureLoginFlood();
  }
  const loginFloodText = loginFlood ? `\n${formatLoginFlood(loginFlood)}\n` : '';

  const checks = checkTargets(results, memory, reset);
  if (values.json) {
    const plain = results.map(({ scenario, ...rest }) => ({ ...rest, scenario: scenario.name }));
    process.stdout.write(
      `${JSON.stringify({ machine: machine(), results: plain, memory, reset, loginFlood, checks })}\n`,
    );
  } else {
    const resetText = reset ? `\n${formatReset(reset, ARGON2_PARAMS)}\n` : '';
    process.stdout.write(
      `machine: ${machine()}\n\n${formatTable(results, memory, checks)}${resetText}${loginFloodText}`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
