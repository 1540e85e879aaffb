// The reset rows on the Redis gateway, on each Redis topology: ResetPassword at 50×10 (rounds alternating between the
// topologies, medians, CPU by process and by Redis node), its Redis round trips, known against unknown names, and
// the ResetPassword2 flood against argon2 alone before and after it.
import { availableParallelism } from 'node:os';
import { runLoad } from '../load/runner';
import type { LoadReport } from '../load/runner';
import { summarise } from './ping-rows';
import type { CaseResult, Round } from './ping-rows';
import { cpuMicros } from './proc';
import {
  benchResetRequestScenario,
  floodResetPassword2,
  measureArgon2,
  measureKnownVsUnknown,
  measureRoundTrips,
  openBenchRedis,
  resetPassword2Scenario,
  seedCodes,
  TIMING_CALLS,
} from './reset-bench';
import type {
  Argon2Ceiling,
  BenchRedis,
  Drained,
  FloodResult,
  KnownVsUnknown,
  ResetSizes,
  RoundTrips,
} from './reset-bench';
import type { Scenario } from '../load/scenario';
import { TOPOLOGY_LABELS } from './redis-topologies';
import type { BenchNode, BenchTopology, TopologyName } from './redis-topologies';
import type { ServerProcess } from './server-process';

/** Successful calls per second of a run. */
export function rateOf(report: LoadReport): number {
  return report.elapsedS > 0 ? (report.totals.calls - report.totals.errors) / report.elapsedS : 0;
}

/** @node-rs/argon2 alone: the ceiling ResetPassword2's hashes/s is held against. */
export interface Argon2Reference {
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
export interface FloodCpu {
  readonly gatewayEventLoop: number;
  /** the hash threads, and V8's helper threads */
  readonly gatewayOtherThreads: number;
  readonly redis: number;
  /** the load generator (this process), including the Pings alongside */
  readonly bench: number;
}

/** One Redis node's CPU over a row. */
export interface NodeCpu {
  readonly port: number;
  readonly role: BenchNode['role'];
  readonly microsPerCall: number;
  /** of all the row's redis-server CPU */
  readonly share: number;
}

/** What the reset rows measured on one topology. */
export interface ResetMeasures {
  readonly topology: TopologyName;
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
  /** the redis-server CPU of those rounds, by node */
  readonly requestNodes: readonly NodeCpu[];
  /** the same over the ResetPassword2 flood */
  readonly floodNodes: readonly NodeCpu[];
}

/** µs of CPU per call, by process. */
export interface RequestCpu {
  readonly gateway: number;
  readonly redis: number;
  /** the bench process: the load generator */
  readonly generator: number;
}

/** The gateway's argon2 parameters as configured by default (gateway/config.ts). */
export const ARGON2_PARAMS = 'm=19456 KiB, t=2, p=1 (the gateway defaults)';

/** ResetPassword2 calls whose Redis round trips are counted (each hashes, so few). */
const RESET2_ROUND_TRIP_CALLS = 50;

/** The Redis gateway on one topology, for the reset rows. */
export interface ResetTarget {
  readonly topology: BenchTopology;
  readonly server: ServerProcess;
}

export interface ResetRowOptions {
  readonly durationS: number;
  readonly warmupS: number;
  readonly roundCount: number;
  readonly resetDurationS: number;
  /** the seed users each gateway loaded, and the codes seeded among them */
  readonly sizes: ResetSizes;
  readonly log: (line: string) => void;
}

/** A topology's run of the rows: its gateway, the bench's access to its Redis and what its rounds summed. */
interface TopologyRun {
  readonly target: ResetTarget;
  readonly redis: BenchRedis;
  readonly scenario: Scenario;
  readonly label: string;
  readonly rounds: Round[];
  readonly split: { calls: number; gateway: number; generator: number; nodes: number[] };
  delivery: Drained;
}

const nodesCpu = (topology: BenchTopology): number[] => topology.nodes.map((node) => cpuMicros(node.pid));

function nodeShares(topology: BenchTopology, micros: readonly number[], calls: number): NodeCpu[] {
  const total = micros.reduce((sum, n) => sum + n, 0);
  return topology.nodes.map((node, i) => ({
    port: node.port,
    role: node.role,
    microsPerCall: micros[i]! / Math.max(1, calls),
    share: total > 0 ? micros[i]! / total : 0,
  }));
}

/**
 * ResetPassword 50×10 on every topology (rounds alternating between them, the first rotating, as the Ping rows
 * do: a drift in the shared machine's load then spreads over all of them), then on each in turn its Redis round
 * trips, known against unknown names and ResetPassword2 against argon2 alone.
 */
export async function runResetRows(
  targets: readonly ResetTarget[],
  options: ResetRowOptions,
): Promise<{ rows: CaseResult[]; resets: ResetMeasures[] }> {
  const runs: TopologyRun[] = targets.map((target) => ({
    target,
    redis: openBenchRedis(target.topology),
    scenario: benchResetRequestScenario(options.sizes),
    label: `gateway-redis (${TOPOLOGY_LABELS[target.topology.name]})`,
    rounds: [],
    split: { calls: 0, gateway: 0, generator: 0, nodes: target.topology.nodes.map(() => 0) },
    delivery: { mails: 0, seconds: 0 },
  }));
  try {
    for (let round = 0; round < options.roundCount; round++) {
      const order = runs.map((_, i) => runs[(i + round) % runs.length]!);
      for (const run of order) await requestRound(run, round, options);
    }
    const rows = runs.map((run) =>
      summarise(
        {
          server: 'gateway-redis',
          topology: run.target.topology.name,
          scenario: run.scenario,
          connections: 50,
          inflight: 10,
        },
        run.rounds,
      ),
    );
    const resets: ResetMeasures[] = [];
    for (const run of runs) resets.push(await measureTopology(run, options));
    return { rows, resets };
  } finally {
    await Promise.all(runs.map((run) => run.redis.close()));
  }
}

/** One round of ResetPassword 50×10 on one topology, its CPU by process and by node, then its mail sent. */
async function requestRound(run: TopologyRun, round: number, options: ResetRowOptions): Promise<void> {
  const { server, topology } = run.target;
  options.log(`${run.label}: ResetPassword 50×10, round ${round + 1}/${options.roundCount}…`);
  let cpuBefore = 0;
  let nodesBefore = nodesCpu(topology);
  let benchBefore = process.cpuUsage();
  const report = await runLoad({
    url: server.url,
    scenario: run.scenario,
    connections: 50,
    inflight: 10,
    durationS: options.durationS,
    warmupS: options.warmupS,
    timeoutMs: 10_000,
    onMeasureStart: () => {
      cpuBefore = cpuMicros(server.pid);
      nodesBefore = nodesCpu(topology);
      benchBefore = process.cpuUsage();
    },
  });
  const benchCpu = process.cpuUsage(benchBefore);
  const serverCpu = cpuMicros(server.pid) - cpuBefore;
  const nodesAfter = nodesCpu(topology);
  run.rounds.push({ report, serverCpuMicros: serverCpu });
  run.split.calls += report.totals.calls;
  run.split.gateway += serverCpu;
  run.split.generator += benchCpu.user + benchCpu.system;
  nodesAfter.forEach((after, i) => (run.split.nodes[i]! += after - nodesBefore[i]!));
  // the gateway only queues (MAIL_DELIVERY_CONCURRENCY=0, the front-end role): the bench sends the round's mail
  // before the next round, and times it
  const drained = await run.redis.drainMail();
  run.delivery = {
    mails: run.delivery.mails + drained.mails,
    seconds: run.delivery.seconds + drained.seconds,
  };
}

/** After the rounds, on one topology: round trips, known against unknown, and ResetPassword2 against argon2. */
async function measureTopology(run: TopologyRun, options: ResetRowOptions): Promise<ResetMeasures> {
  const { log } = options;
  const { label } = run;
  const { server, topology } = run.target;
  const benchRedis = run.redis;
  const { split } = run;
  const perCall = (micros: number): number => micros / Math.max(1, split.calls);
  const requestCpu: RequestCpu = {
    gateway: perCall(split.gateway),
    redis: perCall(split.nodes.reduce((sum, n) => sum + n, 0)),
    generator: perCall(split.generator),
  };
  const requestNodes = nodeShares(topology, split.nodes, split.calls);
  log(`${label}: Redis round trips of ResetPassword…`);
  const redisWrites = async () =>
    (await server.request({ type: 'redis-writes' }, 'redis-writes')).byLocalPort;
  const roundTrips = await measureRoundTrips(server.url, benchRedis, run.scenario, redisWrites, 200);
  log(`${label}: public ResetPassword, known against unknown names, ${TIMING_CALLS} each…`);
  // users below the ones seedCodes takes, each asked once
  const timing = await measureKnownVsUnknown(server.url, options.sizes.users - options.sizes.codes);
  await benchRedis.drainMail();
  const seeded = await seedCodes(benchRedis, options.sizes);
  // the last codes stay for ResetPassword2's round trips, after the flood
  const codes = seeded.slice(0, -RESET2_ROUND_TRIP_CALLS);
  await benchRedis.drainMail();
  const cores = availableParallelism();
  log(`@node-rs/argon2 alone, ${cores} in flight…`);
  const before = await measureArgon2(benchRedis.config, options.resetDurationS, cores);
  log(`${label}: ResetPassword2 flood with Ping alongside…`);
  const floodLoad = [20, 10] as const;
  const cpuNow = () => ({
    gatewayEventLoop: cpuMicros(server.pid, server.pid),
    gateway: cpuMicros(server.pid),
    nodes: nodesCpu(topology),
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
  log(`${label}: Redis round trips of ResetPassword2…`);
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
  const floodCalls = flood.reset2.totals.calls;
  const msPerCall = (micros: number): number => micros / 1000 / Math.max(1, floodCalls);
  const benchCpu = process.cpuUsage(cpuBefore.bench);
  const eventLoop = cpuAfter.gatewayEventLoop - cpuBefore.gatewayEventLoop;
  const floodNodeMicros = cpuAfter.nodes.map((after, i) => after - cpuBefore.nodes[i]!);
  const floodCpu: FloodCpu = {
    gatewayEventLoop: msPerCall(eventLoop),
    gatewayOtherThreads: msPerCall(cpuAfter.gateway - cpuBefore.gateway - eventLoop),
    redis: msPerCall(floodNodeMicros.reduce((sum, n) => sum + n, 0)),
    bench: msPerCall(benchCpu.user + benchCpu.system),
  };
  return {
    topology: topology.name,
    roundTrips,
    reset2RoundTrips,
    timing,
    argon2,
    flood,
    floodLoad,
    floodCpu,
    delivery: run.delivery,
    requestCpu,
    requestNodes,
    floodNodes: nodeShares(topology, floodNodeMicros, floodCalls),
  };
}
