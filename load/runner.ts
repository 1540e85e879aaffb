// The load runner: opens the connections, runs a scenario closed loop (K in flight each) or open loop (a fixed
// timetable of R calls/s), and measures latency so that a slow server cannot hide its queueing (no coordinated omission).
import { performance } from 'node:perf_hooks';
import { connect as connectNode, nodeWebSocket, OmsCallError } from '../client/node';
import type { ConnectOptions, OmsClient } from '../client/node';
import type { Scenario, ScenarioContext, ScenarioStep, SessionLink } from './scenario';
import { weightedPicker } from './scenario';
import { LoadStats } from './stats';
import type { StepSummary, WindowSummary } from './stats';

export const LIMITS = {
  maxDurationS: 3600,
  maxConnections: 50_000,
  maxInflight: 1000,
  maxRate: 1_000_000,
  maxCalls: 100_000_000,
} as const;

export interface LoadOptions {
  /** the target, or the first of `urls` */
  readonly url: string;
  /** several targets: connection n goes to urls[n mod length]; default [url] */
  readonly urls?: readonly string[];
  /** source addresses (ws's localAddress): connection n opens from sourceAddresses[n mod length]; default none */
  readonly sourceAddresses?: readonly string[];
  /** in a worker thread: this share's first connection index, and all connections of the run (default `connections`) */
  readonly connectionOffset?: number;
  readonly totalConnections?: number;
  /** resolves when measuring may start (the primary's go, once every worker is connected); default at once */
  readonly waitToMeasure?: () => Promise<void>;
  /** false: no progress timer of its own (a worker thread's windows are taken by the primary), default true */
  readonly progressTimer?: boolean;
  readonly scenario: Scenario;
  readonly connections: number;
  /** calls in flight per connection (closed loop), or the most a connection sends at once (open loop) */
  readonly inflight: number;
  /** measured seconds, after the warm-up */
  readonly durationS: number;
  /** open loop: calls per second over all connections; unset means closed loop */
  readonly rate?: number;
  /** stop after this many measured calls, default no bound besides the duration */
  readonly maxCalls?: number;
  /** seconds of the same load before measuring, not recorded, default 0 */
  readonly warmupS?: number;
  /** per-call timeout, default 10000 ms */
  readonly timeoutMs?: number;
  /** connections opened at once, default 100 */
  readonly connectConcurrency?: number;
  readonly params?: Readonly<Record<string, string>>;
  /** called when measuring starts (after the warm-up), e.g. to sample the server's CPU time */
  readonly onMeasureStart?: (live: LiveRun) => void;
  /** called once a second while measuring */
  readonly onProgress?: (progress: Progress) => void;
  /** how the runner connects, default client/node connect with `ws` */
  readonly connect?: (url: string, options: ConnectOptions) => Promise<OmsClient>;
}

/** The run while it measures, for whoever takes its windows (a worker thread). */
export interface LiveRun {
  readonly stats: LoadStats;
  /** calls in flight (step scenarios) or sockets open (session scenarios) */
  inflight(): number;
}

export interface Progress extends WindowSummary {
  readonly elapsedS: number;
  readonly callsPerSecond: number;
  readonly inflight: number;
  readonly totalCalls: number;
  readonly totalErrors: number;
}

export interface LoadReport {
  readonly scenario: string;
  readonly url: string;
  readonly urls: readonly string[];
  readonly mode: 'closed' | 'open' | 'session';
  readonly connections: number;
  readonly inflight: number;
  readonly rate: number | null;
  readonly connects: { readonly ok: number; readonly failed: number; readonly firstError: string | null };
  /** measured seconds, from the start of measuring to the last reply */
  readonly elapsedS: number;
  readonly totals: { readonly calls: number; readonly errors: number; readonly callsPerSecond: number };
  readonly functions: readonly StepSummary[];
  /** one entry per progress second, for the charts of --html */
  readonly timeline: readonly Progress[];
  /** worker threads that ran the sockets (1: in this thread) */
  readonly workers: number;
}

interface Worker {
  readonly client: OmsClient;
  readonly context: ScenarioContext;
}

const now = (): number => performance.now();

function errorCodeOf(error: unknown): string {
  return error instanceof OmsCallError ? error.code : 'exception';
}

/** Opens `count` clients, at most `concurrency` at a time; failures are counted, not thrown. */
/** The context of this share's connection `index` (0-based within the share). */
function contextOf(options: LoadOptions, index: number): ScenarioContext {
  const urls = options.urls ?? [options.url];
  const connectionIndex = (options.connectionOffset ?? 0) + index;
  return {
    connectionIndex,
    connections: options.totalConnections ?? options.connections,
    url: urls[connectionIndex % urls.length]!,
    params: options.params ?? {},
    state: {},
  };
}

/** How connection `context` opens: its URL, its source address, the run's timeouts. */
function connectorOf(
  options: LoadOptions,
  context: ScenarioContext,
): (extra?: ConnectOptions) => Promise<OmsClient> {
  const connect = options.connect ?? connectNode;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const sources = options.sourceAddresses ?? [];
  const localAddress = sources.length === 0 ? undefined : sources[context.connectionIndex % sources.length];
  const WebSocket = localAddress === undefined ? undefined : nodeWebSocket({ localAddress });
  return (extra = {}) =>
    connect(context.url, {
      timeoutMs,
      connectTimeoutMs: timeoutMs,
      ...(WebSocket === undefined ? {} : { WebSocket }),
      ...extra,
    });
}

async function openConnections(
  options: LoadOptions,
): Promise<{ workers: Worker[]; failed: number; firstError: string | null }> {
  const workers: Worker[] = [];
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const openOne = async (index: number): Promise<void> => {
    const context = contextOf(options, index);
    let client: OmsClient | undefined;
    try {
      client = await connectorOf(options, context)();
      await options.scenario.setup?.(client, context);
      workers.push({ client, context });
    } catch (error) {
      failed++;
      firstError ??= error instanceof Error ? error.message : String(error);
      await client?.close();
    }
  };
  const lanes = Array.from(
    { length: Math.min(options.connectConcurrency ?? 100, options.connections) },
    async () => {
      while (next < options.connections) await openOne(next++);
    },
  );
  await Promise.all(lanes);
  workers.sort((a, b) => a.context.connectionIndex - b.context.connectionIndex);
  return { workers, failed, firstError };
}

/** One phase (warm-up or measured) of the chosen loop. Resolves when every call it started has finished. */
interface Phase {
  readonly durationMs: number;
  readonly maxCalls: number;
  readonly stats: LoadStats | null;
}

function runStep(
  worker: Worker,
  step: ScenarioStep,
  startedAt: number,
  stats: LoadStats | null,
): Promise<void> {
  return step.run(worker.client, worker.context).then(
    () => stats?.record(step.name, now() - startedAt),
    (error: unknown) => stats?.record(step.name, now() - startedAt, errorCodeOf(error)),
  );
}

/** Closed loop: every connection keeps K steps in flight; the next starts when one ends. */
async function closedLoop(
  workers: readonly Worker[],
  inflight: number,
  pick: () => ScenarioStep,
  phase: Phase,
) {
  const deadline = now() + phase.durationMs;
  let started = 0;
  const lane = async (worker: Worker): Promise<void> => {
    while (now() < deadline && started < phase.maxCalls) {
      started++;
      await runStep(worker, pick(), now(), phase.stats);
    }
  };
  await Promise.all(workers.flatMap((worker) => Array.from({ length: inflight }, () => lane(worker))));
}

/**
 * Open loop: call n is due at start + n / rate, on connection n mod C. Latency counts from when the call was
 * due, not from when it went out, so time a call waited behind a slow server (or behind this process) is
 * counted. A connection sends at most K at once; the rest wait in its queue, their clock already running.
 */
async function openLoop(
  workers: readonly Worker[],
  inflight: number,
  rate: number,
  pick: () => ScenarioStep,
  phase: Phase,
  drainMs: number,
): Promise<void> {
  const start = now();
  const total = Math.min(phase.maxCalls, Math.floor((rate * phase.durationMs) / 1000));
  const intervalMs = 1000 / rate;
  const queues = workers.map(() => [] as { step: ScenarioStep; dueAt: number }[]);
  const running = workers.map(() => 0);
  let scheduled = 0;
  let finished = 0;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => (done = resolve));

  const launch = (index: number): void => {
    const queue = queues[index]!;
    while (running[index]! < inflight && queue.length > 0) {
      const { step, dueAt } = queue.shift()!;
      running[index]!++;
      void runStep(workers[index]!, step, dueAt, phase.stats).then(() => {
        running[index]!--;
        finished++;
        if (finished === total) done();
        else launch(index);
      });
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = (): void => {
    const current = now();
    while (scheduled < total && start + scheduled * intervalMs <= current) {
      const index = scheduled % workers.length;
      queues[index]!.push({ step: pick(), dueAt: start + scheduled * intervalMs });
      scheduled++;
      launch(index);
    }
    if (scheduled < total) timer = setTimeout(tick, Math.max(0, start + scheduled * intervalMs - now()));
  };
  if (total === 0) return;
  tick();

  // after the last due time, give the backlog a bounded time to finish; what never went out is an error
  const lastDue = start + (total - 1) * intervalMs;
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const drained = new Promise<'late'>((resolve) => {
    drainTimer = setTimeout(() => resolve('late'), Math.max(0, lastDue - now()) + drainMs);
  });
  const outcome = await Promise.race([allDone, drained]);
  clearTimeout(timer);
  clearTimeout(drainTimer);
  if (outcome === 'late') {
    for (const queue of queues) {
      for (const { step } of queue.splice(0)) phase.stats?.recordUnsent(step.name, 'unsent');
    }
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxCalls = options.maxCalls ?? LIMITS.maxCalls;
  const session = options.scenario.session?.bind(options.scenario);
  const pick = session === undefined ? weightedPicker(options.scenario.steps) : null;
  await options.scenario.start?.();
  try {
    return pick === null
      ? await runSessions(options, session!)
      : await runStarted(options, pick, timeoutMs, maxCalls);
  } finally {
    await options.scenario.stop?.();
  }
}

async function runStarted(
  options: LoadOptions,
  pick: () => ScenarioStep,
  timeoutMs: number,
  maxCalls: number,
): Promise<LoadReport> {
  const opened = await openConnections(options);
  const { workers } = opened;
  const stats = new LoadStats();
  const runPhase = (phase: Phase): Promise<void> =>
    options.rate === undefined
      ? closedLoop(workers, options.inflight, pick, phase)
      : openLoop(workers, options.inflight, options.rate, pick, phase, timeoutMs);

  let elapsedS = 0;
  let timeline: readonly Progress[] = [];
  try {
    if (workers.length > 0 && (options.warmupS ?? 0) > 0) {
      await runPhase({ durationMs: options.warmupS! * 1000, maxCalls, stats: null });
    }
    await options.waitToMeasure?.();
    const inflight = (): number => workers.reduce((sum, worker) => sum + worker.client.pending, 0);
    options.onMeasureStart?.({ stats, inflight });
    const started = now();
    const progress = startProgress(options, stats, started, inflight);
    try {
      if (workers.length > 0) await runPhase({ durationMs: options.durationS * 1000, maxCalls, stats });
    } finally {
      progress.stop();
    }
    elapsedS = (now() - started) / 1000;
    timeline = progress.timeline;
  } finally {
    await Promise.all(workers.map((worker) => worker.client.close()));
  }
  return buildReport(options, options.rate === undefined ? 'closed' : 'open', stats, elapsedS, timeline, {
    ok: workers.length,
    failed: opened.failed,
    firstError: opened.firstError,
  });
}

/** The progress timer: one window a second, summed into the totals, kept for the report's timeline. */
function startProgress(
  options: LoadOptions,
  stats: LoadStats,
  started: number,
  inflight: () => number,
): { stop(): void; readonly timeline: Progress[] } {
  const timeline: Progress[] = [];
  if (options.progressTimer === false) return { stop: () => undefined, timeline };
  let totalCalls = 0;
  let totalErrors = 0;
  const timer = setInterval(() => {
    const window = stats.takeWindow();
    totalCalls += window.calls;
    totalErrors += window.errors;
    const progress: Progress = {
      ...window,
      elapsedS: (now() - started) / 1000,
      callsPerSecond: window.calls,
      inflight: inflight(),
      totalCalls,
      totalErrors,
    };
    timeline.push(progress);
    options.onProgress?.(progress);
  }, 1000);
  return { stop: () => clearInterval(timer), timeline };
}

export function buildReport(
  options: LoadOptions,
  mode: LoadReport['mode'],
  stats: LoadStats,
  elapsedS: number,
  timeline: readonly Progress[],
  connects: LoadReport['connects'],
  workers = 1,
): LoadReport {
  const functions = stats.summarise(elapsedS);
  const calls = functions.reduce((sum, row) => sum + row.calls, 0);
  const errors = functions.reduce((sum, row) => sum + row.errorCount, 0);
  return {
    scenario: options.scenario.name,
    url: options.url,
    urls: options.urls ?? [options.url],
    mode,
    connections: options.totalConnections ?? options.connections,
    inflight: options.inflight,
    rate: options.rate ?? null,
    connects,
    elapsedS,
    totals: { calls, errors, callsPerSecond: elapsedS > 0 ? calls / elapsedS : 0 },
    functions,
    timeline,
    workers,
  };
}

/**
 * Session scenarios (connect, storm): every connection runs the scenario's session while measuring; connects
 * take turns (connectConcurrency at once), the rest of the session is the scenario's. A session that throws
 * counts as a failed connection.
 */
async function runSessions(
  options: LoadOptions,
  session: NonNullable<Scenario['session']>,
): Promise<LoadReport> {
  const stats = new LoadStats();
  const clients = new Set<OmsClient>();
  let ok = 0;
  let failed = 0;
  let firstError: string | null = null;
  await options.waitToMeasure?.();
  const inflight = (): number => [...clients].filter((client) => client.state === 'open').length;
  options.onMeasureStart?.({ stats, inflight });
  const started = now();
  const progress = startProgress(options, stats, started, inflight);
  let endTimer: ReturnType<typeof setTimeout> | undefined;
  const ended = new Promise<void>((resolve) => (endTimer = setTimeout(resolve, options.durationS * 1000)));
  const turns = turnstile(options.connectConcurrency ?? 100);
  const runOne = async (index: number): Promise<void> => {
    const context = contextOf(options, index);
    const open = connectorOf(options, context);
    const track = (client: OmsClient): OmsClient => {
      clients.add(client);
      client.on('close', () => clients.delete(client));
      return client;
    };
    const link: SessionLink = {
      context,
      connect: (extra) => turns(async () => track(await open(extra))),
      connectNow: async (extra) => track(await open(extra)),
      record: (name, startedAt, error) =>
        stats.record(name, now() - startedAt, error === undefined ? undefined : errorCodeOf(error)),
      at: (seconds) =>
        new Promise((resolve) => setTimeout(resolve, Math.max(0, started + seconds * 1000 - now()))),
      ended,
      now,
    };
    try {
      await session(link);
      ok++;
    } catch (error) {
      failed++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections }, (_, index) => runOne(index)));
  } finally {
    clearTimeout(endTimer);
    progress.stop();
    await Promise.all([...clients].map((client) => client.close()));
  }
  const elapsedS = (now() - started) / 1000;
  return buildReport(options, 'session', stats, elapsedS, progress.timeline, { ok, failed, firstError });
}

/** Runs at most `limit` of the given tasks at once, in the order they asked. */
function turnstile(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
