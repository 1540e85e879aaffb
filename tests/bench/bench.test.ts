// `npm run bench --quick`: the bench runs every row once against real servers and reports them in its shape.
// Its figures mean nothing at that length, and no test asserts a time; this checks that the bench still works.
import { join } from 'node:path';
import { compileFolders, runFile } from '../support/bundle';
import type { ProgramRun } from '../support/bundle';

/** what bench/ imports, compiled as `npm run build` lays it out */
const SOURCES = ['bench', 'load', 'gateway', 'core', 'handlers', 'protocol', 'client', 'page', 'testing'];

/** The parts of the JSON report's reset rows the test reads. */
interface ResetReport {
  readonly topology: string;
  readonly requestNodes: readonly { readonly role: string }[];
  readonly roundTrips: {
    readonly calls: number;
    readonly perCallByConnection: Readonly<Record<string, number>>;
    readonly commandsPerCall: Readonly<Record<string, number>>;
  };
}

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
      (r: { server: string; topology?: string; scenario: string; connections: number; inflight: number }) =>
        `${r.server}${r.topology ? ` (${r.topology})` : ''} ${r.scenario} ${r.connections}×${r.inflight}`,
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
      'gateway-redis (single) reset-request 50×10',
      'gateway-redis (cluster) reset-request 50×10',
      'gateway-redis (single-wait) reset-request 50×10',
      'gateway-redis (cluster-wait) reset-request 50×10',
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
    // the reset rows on each topology: its nodes' CPU by role, and on the cluster the gateway's writes by node
    const resets = report.resets as ResetReport[];
    expect(resets.map((r) => [r.topology, r.requestNodes.map((node) => node.role).join(' ')])).toEqual([
      ['single', 'primary'],
      ['cluster', 'primary primary primary'],
      ['single-wait', 'primary replica'],
      ['cluster-wait', 'primary primary primary replica replica replica'],
    ]);
    const resetOn = (topology: string): ResetReport => resets.find((r) => r.topology === topology)!;
    for (const reset of resets) expect(reset.roundTrips.calls).toBeGreaterThan(0);
    expect(Object.keys(resetOn('cluster').roundTrips.perCallByConnection)).toContainEqual(
      expect.stringMatching(/^oms-gateway→:\d+$/),
    );
    // a target's limits share its user's slot: one script on the cluster too, so as many scripts as on one node
    expect(resetOn('cluster').roundTrips.commandsPerCall.evalsha).toBeCloseTo(
      resetOn('single').roundTrips.commandsPerCall.evalsha!,
      1,
    );
    // REDIS_WAIT_REPLICAS=1: a WAIT behind each ResetPassword's final writes, none without it
    expect(resetOn('single').roundTrips.commandsPerCall.wait).toBeUndefined();
    expect(resetOn('single-wait').roundTrips.commandsPerCall.wait).toBeGreaterThan(0);
    expect(resetOn('cluster-wait').roundTrips.commandsPerCall.wait).toBeGreaterThan(0);
    expect(report.loginFlood).not.toBeNull();
    // every target of the table was measured, each with a figure and a verdict
    expect(report.checks.length).toBe(26);
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
