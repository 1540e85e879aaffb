// How a load run reads: one progress line a second, a table per function at the end, or one JSON line.
import type { LoadReport, Progress } from './runner';

const ms = (value: number): string => value.toFixed(3);
const count = (value: number): string => Math.round(value).toLocaleString('en-US');

export function formatProgress(progress: Progress): string {
  return (
    `[${progress.elapsedS.toFixed(0).padStart(4)}s] ${count(progress.callsPerSecond).padStart(9)} calls/s` +
    `  errors ${count(progress.errors)} (total ${count(progress.totalErrors)})` +
    `  p50 ${ms(progress.p50Ms)} ms  p99 ${ms(progress.p99Ms)} ms  in flight ${progress.inflight}`
  );
}

export function formatErrors(errors: Readonly<Record<string, number>>): string {
  const entries = Object.entries(errors);
  return entries.length === 0 ? '0' : entries.map(([code, n]) => `${code}:${n}`).join(' ');
}

/** Lays out rows of cells in columns: the first left-aligned, the rest right-aligned. */
export function formatColumns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '),
    )
    .join('\n');
}

export function formatReport(report: LoadReport): string {
  const mode =
    report.mode === 'open'
      ? `open loop at ${count(report.rate ?? 0)} calls/s over ${report.connections} connections (≤ ${report.inflight} in flight each)`
      : `closed loop ${report.connections}×${report.inflight} (connections × in flight)`;
  const header =
    `scenario ${report.scenario}, ${mode}, ${report.elapsedS.toFixed(1)} s against ${report.url}\n` +
    `connects: ${report.connects.ok} ok, ${report.connects.failed} failed` +
    (report.connects.firstError ? ` (first: ${report.connects.firstError})` : '');
  const rows = [
    ['function', 'calls', 'calls/s', 'errors', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
    ...report.functions.map((row) => [
      row.name,
      count(row.calls),
      count(row.callsPerSecond),
      formatErrors(row.errors),
      ms(row.p50Ms),
      ms(row.p90Ms),
      ms(row.p99Ms),
      ms(row.maxMs),
    ]),
    [
      'total',
      count(report.totals.calls),
      count(report.totals.callsPerSecond),
      count(report.totals.errors),
      '',
      '',
      '',
      '',
    ],
  ];
  return `${header}\n\n${formatColumns(rows)}\n`;
}
