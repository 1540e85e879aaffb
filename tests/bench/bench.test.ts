// `npm run bench --quick`: the bench runs every row once against real servers and reports them in its shape.
// Its figures mean nothing at that length, and no test asserts a time; this checks that the bench still works.
import { join } from 'node:path';
import { compileFolders, runFile } from '../support/bundle';
import type { ProgramRun } from '../support/bundle';

/** what bench/ imports, compiled as `npm run build` lays it out */
const SOURCES = ['bench', 'load', 'gateway', 'core', 'handlers', 'protocol', 'client', 'page', 'testing'];

async function runBench(args: readonly string[]): Promise<ProgramRun> {
  return runFile(join(await compileFolders(SOURCES), 'bench', 'bench.js'), args, {});
}

describe('npm run bench --quick', () => {
  it('measures every server at every load and checks each target it measured', async () => {
    const run = await runBench(['--quick', '--json']);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    // the report is the last line; the servers' warn logs share stdout
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    const rows = report.results.map(
      (r: { server: string; scenario: string; connections: number; inflight: number }) =>
        `${r.server} ${r.scenario} ${r.connections}×${r.inflight}`,
    );
    expect(rows).toEqual([
      'baseline ping 1×1',
      'gateway-memory ping 1×1',
      'gateway-redis ping 1×1',
      'baseline ping 50×10',
      'gateway-memory ping 50×10',
      'gateway-redis ping 50×10',
      'baseline ping 500×1',
      'gateway-memory ping 500×1',
      'gateway-redis ping 500×1',
      'gateway-redis reset-request 50×10',
    ]);
    for (const row of report.results) {
      expect(row.callsPerSecond).toBeGreaterThan(0);
      expect(row.cpuMicrosPerCall).toBeGreaterThan(0);
      expect(row.errors).toBe(0);
      expect(row.failedConnects).toBe(0);
    }
    expect(
      report.memory.map((m: { server: string; connections: number }) => [m.server, m.connections]),
    ).toEqual([
      ['baseline', 200],
      ['gateway-memory', 200],
      ['gateway-redis', 200],
    ]);
    // the scale rows: per server a row without idle sockets, then each count of --quick's 300,600 on top
    expect(report.scale.map((r: { server: string; idle: number }) => `${r.server} ${r.idle}`)).toEqual(
      ['baseline', 'gateway-memory', 'gateway-redis'].flatMap((server) =>
        [0, 300, 600].map((idle) => `${server} ${idle}`),
      ),
    );
    for (const row of report.scale) {
      expect(row.pingP99Ms).toBeGreaterThan(0);
      expect(row.loopMaxMs).toBeGreaterThanOrEqual(row.loopP99Ms);
      expect({ failed: row.failedConnects, dropped: row.dropped }).toEqual({ failed: 0, dropped: 0 });
    }
    // the storm: --quick's 300 clients, every one back on the new process with its session
    expect(report.storm).toMatchObject({ clients: 300, back: 300, lost: 0 });
    expect(report.storm.backMs.p100).toBeGreaterThanOrEqual(report.storm.backMs.p50);
    expect(report.storm.redisCommandsPerResume).toBeGreaterThan(0);
    expect(report.reset.roundTrips.calls).toBeGreaterThan(0);
    expect(report.loginFlood).not.toBeNull();
    // every target of the table was measured, each with a figure and a verdict
    expect(report.checks.length).toBe(24);
    for (const check of report.checks) {
      expect(check).toEqual({
        target: expect.any(String),
        actual: expect.any(String),
        ok: expect.any(Boolean),
      });
    }
    expect(report.checks.at(-1)).toEqual({
      target: 'zero failed connects and zero errors at every load',
      actual: '0',
      ok: true,
    });
  }, 300_000);
});
