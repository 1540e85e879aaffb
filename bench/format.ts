// Formatting: the bench's tables (Ping rows, idle memory, targets) and the reset rows' lines, as plain text.
import { availableParallelism, cpus, loadavg } from 'node:os';
import { formatColumns } from '../load/report';
import type { LoadReport } from '../load/runner';
import type { MemoryResult } from './idle-memory';
import type { CaseResult } from './ping-rows';
import { DRAIN_CONCURRENCY } from './reset-bench';
import type { RoundTrips } from './reset-bench';
import { rateOf } from './reset-rows';
import type { NodeCpu, ResetMeasures } from './reset-rows';
import { TOPOLOGY_LABELS } from './redis-topologies';
import type { TopologyName } from './redis-topologies';
import type { ScaleRow } from './scale-rows';
import type { StormResult } from './storm-rows';
import type { TargetCheck } from './targets';

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
    `Redis round trips per ${name} call (1×1, ${trips.calls} calls, its mail sent by another process; p50 ` +
      `${trips.p50Ms.toFixed(2)} ms): ${total.toFixed(2)} = ${byConnection}`,
    `Redis commands per ${name} call (INFO commandstats, commands inside scripts counted too): ${commands}`,
  ].join('\n');
}

export function formatReset(reset: ResetMeasures, argon2Params: string): string {
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

const sum = (values: Readonly<Record<string, number>>): number =>
  Object.values(values).reduce((total, n) => total + n, 0);

function formatNodes(nodes: readonly NodeCpu[], unit: string, scale: number, digits: number): string {
  return nodes
    .map(
      (node) =>
        `:${node.port} ${node.role} ${(node.microsPerCall / scale).toFixed(digits)} ${unit} (${(node.share * 100).toFixed(0)}%)`,
    )
    .join(', ');
}

/**
 * The reset rows of every topology: one table side by side (ResetPassword 50×10 and the ResetPassword2 flood,
 * their round trips and commands per call, the busiest Redis node), then each topology's own lines.
 */
export function formatResets(
  resets: readonly ResetMeasures[],
  results: readonly CaseResult[],
  argon2Params: string,
): string {
  const rowOf = (topology: TopologyName) =>
    results.find((r) => r.scenario.name === 'reset-request' && r.topology === topology);
  const single = rowOf('single');
  const table = [
    [
      'reset rows on',
      'ResetPassword 50×10/s',
      '× one node',
      'p50 ms',
      'p99 ms',
      'round trips',
      'commands',
      '1×1 p50 ms',
      'ResetPassword2 20×10/s',
      'p50 ms',
      'p99 ms',
      'round trips',
      'commands',
      '1×1 p50 ms',
      'busiest Redis node',
    ],
    ...resets.map((reset) => {
      const row = rowOf(reset.topology);
      const flood = reset.flood.reset2.functions[0];
      const busiest = reset.requestNodes.reduce((a, b) => (b.share > a.share ? b : a));
      return [
        TOPOLOGY_LABELS[reset.topology],
        row ? Math.round(row.callsPerSecond).toLocaleString('en-US') : '',
        row && single ? (row.callsPerSecond / single.callsPerSecond).toFixed(2) : '',
        row ? row.p50Ms.toFixed(3) : '',
        row ? row.p99Ms.toFixed(3) : '',
        sum(reset.roundTrips.perCallByConnection).toFixed(2),
        sum(reset.roundTrips.commandsPerCall).toFixed(1),
        reset.roundTrips.p50Ms.toFixed(2),
        rateOf(reset.flood.reset2).toFixed(1),
        flood ? flood.p50Ms.toFixed(1) : '',
        flood ? flood.p99Ms.toFixed(1) : '',
        sum(reset.reset2RoundTrips.perCallByConnection).toFixed(2),
        sum(reset.reset2RoundTrips.commandsPerCall).toFixed(1),
        reset.reset2RoundTrips.p50Ms.toFixed(2),
        reset.requestNodes.length > 1 ? `${(busiest.share * 100).toFixed(0)}% (:${busiest.port})` : '',
      ];
    }),
  ];
  const blocks = resets.map((reset) =>
    [
      `Reset rows on ${TOPOLOGY_LABELS[reset.topology]}:`,
      `Redis CPU by node per ResetPassword call at 50×10: ${formatNodes(reset.requestNodes, 'µs', 1, 1)}; per ` +
        `ResetPassword2 call during the flood: ${formatNodes(reset.floodNodes, 'ms', 1000, 2)}`,
      formatReset(reset, argon2Params),
    ].join('\n'),
  );
  return [
    "Reset rows by Redis topology (round trips: socket writes per call, one call at a time, and that call's p50; " +
      "commands: INFO commandstats over the primaries, inside scripts too; the busiest node's share of the " +
      'redis-server CPU at 50×10)',
    formatColumns(table),
    ...blocks,
  ].join('\n\n');
}

export function formatTable(
  results: readonly CaseResult[],
  memory: readonly MemoryResult[],
  checks: readonly TargetCheck[],
  scale: readonly ScaleRow[] = [],
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
        r.topology === undefined || r.topology === 'single' ? r.server : `${r.server} (${r.topology})`,
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
  const scaleText = scale.length > 0 ? `${formatScale(scale)}\n\n` : '';
  return `${formatColumns(rows)}\n\n${formatColumns(memoryRows)}\n\n${scaleText}${formatColumns(targetRows)}\n`;
}

/** The scale rows: per server and idle count, memory per socket against the baseline's at that count, and more. */
export function formatScale(scale: readonly ScaleRow[]): string {
  const baselineOf = (row: ScaleRow) =>
    scale.find((b) => b.server === 'baseline' && b.idle === row.idle && row.idle > 0);
  const ratio = (a: number, b: number | undefined): string => (b === undefined ? '' : (a / b).toFixed(2));
  const rows = [
    [
      'server',
      'idle sockets',
      'KiB/connection',
      '× baseline',
      'heap KiB/connection',
      '× baseline',
      'Ping 50×1 p50 ms',
      'p99 ms',
      'event loop p99 ms',
      'max ms',
      'CPU ms/heartbeat',
      'failed connects',
      'dropped',
    ],
    ...scale.map((row) => {
      const base = baselineOf(row);
      return [
        row.server,
        row.idle.toLocaleString('en-US'),
        row.idle > 0 ? (row.bytesPerConnection / 1024).toFixed(2) : '',
        ratio(row.bytesPerConnection, base?.bytesPerConnection),
        row.idle > 0 ? (row.heapBytesPerConnection / 1024).toFixed(2) : '',
        ratio(row.heapBytesPerConnection, base?.heapBytesPerConnection),
        row.pingP50Ms.toFixed(3),
        row.pingP99Ms.toFixed(3),
        row.loopP99Ms.toFixed(1),
        row.loopMaxMs.toFixed(1),
        row.cpuMsPerInterval.toFixed(1),
        String(row.failedConnects),
        String(row.dropped),
      ];
    }),
  ];
  return formatColumns(rows);
}

export function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  return `${cpus().length} × ${model}, Node ${process.version}, ${process.platform}, load average at the end ${load}`;
}

/** The storm row, as lines. */
export function formatStorm(storm: StormResult): string {
  const seconds = (ms: number): string => (Number.isNaN(ms) ? 'never' : `${(ms / 1000).toFixed(2)} s`);
  const retried = Object.entries(storm.retried)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const commands = Object.entries(storm.redisCommandsByName)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${n.toFixed(2)}`)
    .join(', ');
  return [
    `Reconnect storm, ${storm.clients.toLocaleString('en-US')} clients (raw ws, all at once when the new process listens, retry after 50–150 ms): ` +
      `SIGTERM, new process on the same port ${seconds(storm.downMs)} later; after it listened ` +
      `50% back ${seconds(storm.backMs.p50)}, 99% ${seconds(storm.backMs.p99)}, 100% ${seconds(storm.backMs.p100)}; ` +
      `${storm.back} back, ${storm.lost} sessions lost, retried after listening: ${retried || 'none'}`,
    `per resume: gateway CPU ${storm.gatewayCpuMicrosPerResume.toFixed(1)} µs, clients' CPU ` +
      `${storm.clientCpuMicrosPerResume.toFixed(1)} µs, Redis commands ${storm.redisCommandsPerResume.toFixed(2)} ` +
      `(${commands}); Ping p99 of clients already back ${storm.pingP99Ms.toFixed(2)} ms (${storm.pings} Pings); ` +
      `new process's event-loop max ${storm.loopMaxMs.toFixed(0)} ms`,
  ].join('\n');
}
