// Latency and error counts per step, in HdrHistograms (microseconds), plus a one-second window for progress lines.
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** The summary of one step (one function, usually) over the run. */
export interface StepSummary {
  readonly name: string;
  readonly calls: number;
  readonly callsPerSecond: number;
  /** errorcode (or local kind: timeout, closed, …) → count */
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCount: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

export interface WindowSummary {
  readonly calls: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function newHistogram(): Histogram {
  // 1 µs resolution, 3 significant digits, grows as needed (a timed-out call may take seconds)
  return build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3, autoResize: true });
}

const msOf = (micros: number): number => micros / 1000;

function summariseWindow(window: Histogram, errors: number): WindowSummary {
  return {
    calls: window.totalCount,
    errors,
    p50Ms: msOf(window.getValueAtPercentile(50)),
    p99Ms: msOf(window.getValueAtPercentile(99)),
  };
}

/** Merges the workers' windows of one second into one summary. */
export function mergeWindows(windows: readonly EncodedWindow[]): WindowSummary {
  const merged = newHistogram();
  let errors = 0;
  for (const window of windows) {
    merged.add(decodeFromCompressedBase64(window.histogram));
    errors += window.errors;
  }
  return summariseWindow(merged, errors);
}

class StepStats {
  readonly histogram = newHistogram();
  readonly errors = new Map<string, number>();
  errorCount = 0;
}

/** What a worker thread sends: its histograms encoded (HdrHistogram's compressed base64) and its error counts. */
export interface EncodedStep {
  readonly name: string;
  readonly histogram: string;
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCount: number;
}

export interface EncodedWindow {
  readonly histogram: string;
  readonly errors: number;
}

export class LoadStats {
  private readonly steps = new Map<string, StepStats>();
  private readonly window = newHistogram();
  private windowErrors = 0;

  private stepStats(step: string): StepStats {
    let stats = this.steps.get(step);
    if (stats === undefined) {
      stats = new StepStats();
      this.steps.set(step, stats);
    }
    return stats;
  }

  /** Records one finished step: its latency in ms and, when it failed, its error code. */
  record(step: string, latencyMs: number, errorCode?: string): void {
    const stats = this.stepStats(step);
    const micros = Math.max(1, Math.round(latencyMs * 1000));
    stats.histogram.recordValue(micros);
    this.window.recordValue(micros);
    if (errorCode !== undefined) {
      stats.errorCount++;
      this.windowErrors++;
      stats.errors.set(errorCode, (stats.errors.get(errorCode) ?? 0) + 1);
    }
  }

  /** Counts an error that has no latency (a call scheduled but never sent before the run ended). */
  recordUnsent(step: string, errorCode: string): void {
    this.record(step, 0, errorCode);
  }

  /** Summarises and clears the window since the last call (for the progress line each second). */
  takeWindow(): WindowSummary {
    const summary = summariseWindow(this.window, this.windowErrors);
    this.window.reset();
    this.windowErrors = 0;
    return summary;
  }

  /** Encodes and clears the window, for a worker thread's answer to the primary's tick. */
  takeEncodedWindow(): EncodedWindow {
    const encoded = { histogram: encodeIntoCompressedBase64(this.window), errors: this.windowErrors };
    this.window.reset();
    this.windowErrors = 0;
    return encoded;
  }

  /** The whole run so far, encoded, for a worker thread's final report. */
  encode(): EncodedStep[] {
    return [...this.steps.entries()].map(([name, stats]) => ({
      name,
      histogram: encodeIntoCompressedBase64(stats.histogram),
      errors: Object.fromEntries(stats.errors),
      errorCount: stats.errorCount,
    }));
  }

  /** Adds another worker's steps: the histograms merge, so the percentiles come from every worker's values. */
  merge(steps: readonly EncodedStep[]): void {
    for (const step of steps) {
      const stats = this.stepStats(step.name);
      stats.histogram.add(decodeFromCompressedBase64(step.histogram));
      stats.errorCount += step.errorCount;
      for (const [code, n] of Object.entries(step.errors)) {
        stats.errors.set(code, (stats.errors.get(code) ?? 0) + n);
      }
    }
  }

  summarise(elapsedSeconds: number): StepSummary[] {
    return [...this.steps.entries()].map(([name, stats]) => {
      const h = stats.histogram;
      return {
        name,
        calls: h.totalCount,
        callsPerSecond: elapsedSeconds > 0 ? h.totalCount / elapsedSeconds : 0,
        errors: Object.fromEntries(stats.errors),
        errorCount: stats.errorCount,
        p50Ms: msOf(h.getValueAtPercentile(50)),
        p90Ms: msOf(h.getValueAtPercentile(90)),
        p99Ms: msOf(h.getValueAtPercentile(99)),
        maxMs: msOf(h.maxValue),
        meanMs: msOf(h.mean),
      };
    });
  }
}
