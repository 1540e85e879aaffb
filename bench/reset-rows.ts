// The reset rows on the Redis gateway: ResetPassword at 50×10 (rounds, medians, CPU by process), its Redis round
// trips, known against unknown names, and the ResetPassword2 flood against argon2 alone before and after it.
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
  RESET2_CODES,
  RESET_BENCH_USERS,
  TIMING_CALLS,
} from './reset-bench';
import type { Argon2Ceiling, Drained, FloodResult, KnownVsUnknown, RoundTrips } from './reset-bench';
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

/** What the reset rows measured, when the Redis gateway ran them. */
export interface ResetMeasures {
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

/** ResetPassword 50×10 (rounds, medians), its Redis round trips, and ResetPassword2 against argon2 alone. */
export async function runResetRows(
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
