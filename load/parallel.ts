// Runs a load over several worker threads (the sockets split between them) and merges what they measured: one
// progress line a second for the whole run, one report whose percentiles come from every worker's histograms.
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildReport, runLoad } from './runner';
import type { LoadOptions, LoadReport, Progress } from './runner';
import { loadScenario } from './scenario';
import { builtInScenarios } from './scenarios';
import { LoadStats, mergeWindows } from './stats';
import type { EncodedStep, EncodedWindow } from './stats';

/** What a worker thread gets: its share of the run, and the scenario by name or path (a function cannot cross). */
export interface WorkerShare {
  readonly options: Omit<
    LoadOptions,
    'scenario' | 'onProgress' | 'onMeasureStart' | 'waitToMeasure' | 'connect'
  >;
  readonly scenario: string;
}

export type ToWorker = { type: 'go' } | { type: 'tick'; seq: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'window'; seq: number; window: EncodedWindow; inflight: number }
  | { type: 'done'; report: LoadReport; steps: EncodedStep[] }
  | { type: 'error'; message: string };

export interface ParallelOptions extends Omit<LoadOptions, 'scenario' | 'connect'> {
  /** a built-in scenario's name or a module path, loaded in each worker with `params` */
  readonly scenario: string;
  readonly workers: number;
  /** the compiled worker entry, default worker.js beside this file (dist/load/worker.js) */
  readonly workerScript?: string;
}

/** Splits `total` into `parts` integers as equal as possible, the larger first. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

/** The workers a run can use: at most the scenario's maxWorkers and one per connection. */
export function workersFor(options: {
  workers: number;
  scenario: string;
  params?: Readonly<Record<string, string>>;
  connections: number;
}): number {
  const scenario = loadScenario(options.scenario, builtInScenarios, options.params ?? {});
  return Math.max(1, Math.min(options.workers, options.connections, scenario.maxWorkers ?? Infinity));
}

/**
 * Runs the load with `workers` threads; 1 runs in this thread. Each worker opens its share of the connections
 * (the global connection index decides URL and source address, as in one thread), schedules its share of the
 * open-loop rate, and starts measuring when every worker is connected.
 */
export async function runParallel(options: ParallelOptions): Promise<LoadReport> {
  const workers = workersFor(options);
  const scenarioName = options.scenario;
  if (workers === 1) {
    const scenario = loadScenario(scenarioName, builtInScenarios, options.params ?? {});
    return runLoad({ ...options, scenario });
  }
  const script = options.workerScript ?? join(__dirname, 'worker.js');
  const connections = split(options.connections, workers);
  const maxCalls = options.maxCalls === undefined ? undefined : split(options.maxCalls, workers);
  let offset = 0;
  const shares: WorkerShare[] = connections.map((count, index) => {
    // plain data only: the callbacks stay here, where progress and measure start are the whole run's
    const share: WorkerShare = {
      scenario: scenarioName,
      options: {
        url: options.url,
        urls: options.urls,
        sourceAddresses: options.sourceAddresses,
        inflight: options.inflight,
        durationS: options.durationS,
        warmupS: options.warmupS,
        timeoutMs: options.timeoutMs,
        connectConcurrency: options.connectConcurrency,
        params: options.params,
        connections: count,
        connectionOffset: offset,
        totalConnections: options.connections,
        rate: options.rate === undefined ? undefined : (options.rate * count) / options.connections,
        maxCalls: maxCalls?.[index],
        progressTimer: false,
      },
    };
    offset += count;
    return share;
  });
  return runThreads(options, shares, script);
}

async function runThreads(
  options: ParallelOptions,
  shares: WorkerShare[],
  script: string,
): Promise<LoadReport> {
  const threads = shares.map((share) => new Worker(script, { workerData: share }));
  const reports: (LoadReport | null)[] = threads.map(() => null);
  const stats = new LoadStats();
  const timeline: Progress[] = [];
  let ready = 0;
  let seq = 0;
  let answers: { windows: EncodedWindow[]; inflight: number; waiting: Set<number> } | null = null;
  let started = 0;
  let totalCalls = 0;
  let totalErrors = 0;
  let ticker: ReturnType<typeof setInterval> | undefined;

  const emitTick = (): void => {
    if (answers === null || answers.waiting.size > 0) return;
    const window = mergeWindows(answers.windows);
    totalCalls += window.calls;
    totalErrors += window.errors;
    const progress: Progress = {
      ...window,
      elapsedS: (performance.now() - started) / 1000,
      callsPerSecond: window.calls,
      inflight: answers.inflight,
      totalCalls,
      totalErrors,
    };
    answers = null;
    timeline.push(progress);
    options.onProgress?.(progress);
  };

  const tick = (): void => {
    // a worker still busy with the last tick: its answer will come, this second is not asked twice
    if (answers !== null) return;
    const live = threads.map((_, i) => i).filter((i) => reports[i] === null);
    if (live.length === 0) return;
    seq++;
    answers = { windows: [], inflight: 0, waiting: new Set(live) };
    for (const i of live) threads[i]!.postMessage({ type: 'tick', seq } satisfies ToWorker);
  };

  try {
    await new Promise<void>((resolve, reject) => {
      threads.forEach((thread, index) => {
        thread.on('error', reject);
        thread.on('exit', (code) => {
          if (reports[index] === null)
            reject(new Error(`load worker ${index} exited with ${code} before its report`));
        });
        thread.on('message', (message: FromWorker) => {
          if (message.type === 'ready') {
            if (++ready < threads.length) return;
            options.onMeasureStart?.({ stats, inflight: () => 0 });
            started = performance.now();
            for (const other of threads) other.postMessage({ type: 'go' } satisfies ToWorker);
            ticker = setInterval(tick, 1000);
          } else if (message.type === 'window') {
            if (answers === null || message.seq !== seq) return;
            answers.windows.push(message.window);
            answers.inflight += message.inflight;
            answers.waiting.delete(index);
            emitTick();
          } else if (message.type === 'done') {
            reports[index] = message.report;
            stats.merge(message.steps);
            answers?.waiting.delete(index);
            emitTick();
            if (reports.every((report) => report !== null)) resolve();
          } else {
            reject(new Error(`load worker ${index}: ${message.message}`));
          }
        });
      });
    });
  } finally {
    clearInterval(ticker);
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
  const done = reports as LoadReport[];
  const connects = {
    ok: done.reduce((sum, report) => sum + report.connects.ok, 0),
    failed: done.reduce((sum, report) => sum + report.connects.failed, 0),
    firstError: done.find((report) => report.connects.firstError !== null)?.connects.firstError ?? null,
  };
  const elapsedS = Math.max(...done.map((report) => report.elapsedS));
  const scenario = { name: done[0]!.scenario, steps: [] };
  return buildReport(
    { ...options, scenario, totalConnections: options.connections },
    done[0]!.mode,
    stats,
    elapsedS,
    timeline,
    connects,
    threads.length,
  );
}
