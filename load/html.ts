// `--html FILE`: one self-contained page of a load run (inline SVG charts drawn here, no script, no CDN).
import { formatErrors } from './report';
import type { LoadReport, Progress } from './runner';

interface Series {
  readonly label: string;
  readonly colour: string;
  readonly value: (progress: Progress) => number;
}

const WIDTH = 640;
const HEIGHT = 180;
const PAD = { left: 64, right: 16, top: 16, bottom: 28 };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round upper bound for the axis: 1, 2 or 5 times a power of ten. */
function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((step) => step * power >= value) ?? 10) * power;
}

const number = (value: number): string =>
  value >= 100 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(3)));

/** One chart: a polyline and a point per second for each series, with a y axis from 0 and seconds below. */
export function lineChart(
  title: string,
  unit: string,
  timeline: readonly Progress[],
  series: readonly Series[],
): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const maxX = Math.max(1, ...timeline.map((p) => p.elapsedS));
  const maxY = niceCeiling(Math.max(0, ...timeline.flatMap((p) => series.map((s) => s.value(p)))));
  const x = (seconds: number): number => PAD.left + (seconds / maxX) * plotW;
  const y = (value: number): number => PAD.top + plotH - (value / maxY) * plotH;
  const grid = [0, 0.5, 1]
    .map((f) => {
      const v = maxY * f;
      return (
        `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>` +
        `<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${number(v)}</text>`
      );
    })
    .join('');
  const xLabels = [0, maxX / 2, maxX]
    .map((s) => `<text x="${x(s).toFixed(1)}" y="${HEIGHT - 8}" text-anchor="middle">${number(s)} s</text>`)
    .join('');
  const lines = series
    .map((s) => {
      const points = timeline.map((p) => `${x(p.elapsedS).toFixed(1)},${y(s.value(p)).toFixed(1)}`);
      const dots = timeline
        .map(
          (p) =>
            `<circle class="point" data-series="${escapeHtml(s.label)}" cx="${x(p.elapsedS).toFixed(1)}" cy="${y(s.value(p)).toFixed(1)}" r="2.5" fill="${s.colour}"><title>${number(p.elapsedS)} s: ${number(s.value(p))} ${escapeHtml(unit)}</title></circle>`,
        )
        .join('');
      return `<polyline fill="none" stroke="${s.colour}" stroke-width="1.5" points="${points.join(' ')}"/>${dots}`;
    })
    .join('');
  const legend = series
    .map((s) => `<span class="key"><i style="background:${s.colour}"></i>${escapeHtml(s.label)}</span>`)
    .join(' ');
  return (
    `<figure><figcaption>${escapeHtml(title)} <small>(${escapeHtml(unit)})</small> ${legend}</figcaption>` +
    `<svg class="chart" data-chart="${escapeHtml(title)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(title)} per second">` +
    `${grid}${xLabels}${lines}</svg></figure>`
  );
}

function table(report: LoadReport): string {
  const ms = (value: number): string => value.toFixed(3);
  const rows = report.functions
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.name)}</td><td>${number(row.calls)}</td><td>${number(row.callsPerSecond)}</td>` +
        `<td>${escapeHtml(formatErrors(row.errors))}</td><td>${ms(row.p50Ms)}</td><td>${ms(row.p90Ms)}</td>` +
        `<td>${ms(row.p99Ms)}</td><td>${ms(row.maxMs)}</td></tr>`,
    )
    .join('');
  return (
    `<table><thead><tr><th>function</th><th>calls</th><th>calls/s</th><th>errors</th><th>p50 ms</th>` +
    `<th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr></thead><tbody>${rows}</tbody>` +
    `<tfoot><tr><td>total</td><td>${number(report.totals.calls)}</td><td>${number(report.totals.callsPerSecond)}</td>` +
    `<td>${number(report.totals.errors)}</td><td colspan="4"></td></tr></tfoot></table>`
  );
}

/** The whole page: what ran, four charts over the run's seconds, and the final table. */
export function formatHtmlReport(report: LoadReport): string {
  const t = report.timeline;
  const mode =
    report.mode === 'open'
      ? `open loop at ${number(report.rate ?? 0)} calls/s`
      : report.mode === 'closed'
        ? `closed loop ${report.connections}×${report.inflight}`
        : `${report.connections} connections`;
  const title = `Load run: ${report.scenario}, ${mode}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff;max-width:1340px}
h1{font-size:20px;margin:0 0 4px}p{margin:0 0 16px;color:#57606a}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(660px,1fr));gap:8px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}small{font-weight:400;color:#57606a}
.key{font-weight:400;margin-left:10px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg text{font-size:11px;fill:#57606a}.grid{stroke:#d0d7de;stroke-width:1}
table{border-collapse:collapse;margin-top:16px}th,td{padding:4px 10px;border-bottom:1px solid #d0d7de;text-align:right}
th:first-child,td:first-child{text-align:left}tfoot td{font-weight:600}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(report.urls.join(', '))} · ${report.elapsedS.toFixed(1)} s measured · ${report.workers} worker${report.workers === 1 ? '' : 's'} · connects ${report.connects.ok} ok, ${report.connects.failed} failed</p>
<div class="charts">
${lineChart('Calls per second', 'calls/s', t, [{ label: 'calls/s', colour: '#0969da', value: (p) => p.callsPerSecond }])}
${lineChart('Errors per second', 'errors/s', t, [{ label: 'errors', colour: '#cf222e', value: (p) => p.errors }])}
${lineChart('Latency', 'ms', t, [
  { label: 'p50', colour: '#1a7f37', value: (p) => p.p50Ms },
  { label: 'p99', colour: '#bf8700', value: (p) => p.p99Ms },
])}
${lineChart(report.mode === 'session' ? 'Sockets open' : 'Calls in flight', 'count', t, [{ label: 'in flight', colour: '#8250df', value: (p) => p.inflight }])}
</div>
${table(report)}
</body></html>
`;
}
