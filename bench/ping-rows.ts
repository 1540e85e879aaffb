// The Ping rows: every server under the same closed-loop loads, rounds rotated between servers, medians reported.
import { runLoad } from '../load/runner';
import type { LoadReport } from '../load/runner';
import type { Scenario } from '../load/scenario';
import { pingScenario } from '../load/scenarios/ping';
import { median } from './median';
import { cpuMicros } from './proc';
import type { ServerProcess } from './server-process';
import type { ServerKind } from './server-child';
import type { TopologyName } from './redis-topologies';

/** One measured row: a scenario at a load on a server. */
export interface BenchCase {
  readonly server: ServerKind;
  /** the Redis a reset row ran on; absent on the Ping rows */
  readonly topology?: TopologyName;
  readonly scenario: Scenario;
  readonly connections: number;
  readonly inflight: number;
}

export interface CaseResult extends BenchCase {
  /** medians over the rounds */
  readonly callsPerSecond: number;
  /** the server's CPU time (user + system) per call: steadier than calls/s when the load generator is the limit */
  readonly cpuMicrosPerCall: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly failedConnects: number;
}

export interface Round {
  readonly report: LoadReport;
  readonly serverCpuMicros: number;
}

/** The Ping loads, connections × calls in flight each. */
export const LOADS: readonly (readonly [number, number])[] = [
  [1, 1],
  [50, 10],
  [500, 1],
];

/** Medians over rounds (one noisy round does not decide), errors and failed connects summed. */
export function summarise(benchCase: BenchCase, rounds: readonly Round[]): CaseResult {
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

/**
 * Ping at every load on every running server. All servers are up at once (an idle one costs nothing), so rounds
 * can alternate between them: drift in the machine's load (other processes, CPU clocks) then spreads over all
 * servers instead of favouring one.
 */
export async function runPingRows(
  running: readonly ServerProcess[],
  options: { durationS: number; warmupS: number; roundCount: number; log: (line: string) => void },
): Promise<CaseResult[]> {
  const { durationS, warmupS, roundCount, log } = options;
  const results: CaseResult[] = [];
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
  return results;
}
