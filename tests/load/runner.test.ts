// The load runner against a real gateway: counts, errors by code, closed and open loop, bounded by --max-calls.
import { OmsCallError } from '../../client/node';
import { runLoad } from '../../load/runner';
import type { Progress } from '../../load/runner';
import { defineScenario } from '../../load/scenario';
import { builtInScenarios } from '../../load/scenarios';
import { loadScenario } from '../../load/scenario';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { freePort } from '../../testing/redis-server';

describe('load runner', () => {
  let gateway: TestGateway;

  beforeEach(async () => {
    gateway = await startGateway({ LOG_LEVEL: 'warn' });
  });

  afterEach(() => gateway.close());

  it('runs closed loop until --max-calls and counts every call, with no errors', async () => {
    const report = await runLoad({
      url: gateway.wsUrl,
      scenario: loadScenario('ping', builtInScenarios),
      connections: 3,
      inflight: 4,
      durationS: 30,
      maxCalls: 300,
    });
    expect(report.mode).toBe('closed');
    expect(report.connects).toEqual({ ok: 3, failed: 0, firstError: null });
    expect(report.totals).toMatchObject({ calls: 300, errors: 0 });
    expect(report.functions.map((row) => [row.name, row.calls, row.errorCount])).toEqual([['Ping', 300, 0]]);
    expect(report.functions[0]!.p50Ms).toBeGreaterThan(0);
    expect(report.functions[0]!.maxMs).toBeGreaterThanOrEqual(report.functions[0]!.p99Ms);
  });

  it('runs open loop on a timetable of --rate calls/s and sends exactly the scheduled calls', async () => {
    const report = await runLoad({
      url: gateway.wsUrl,
      scenario: loadScenario('ping', builtInScenarios),
      connections: 2,
      inflight: 2,
      durationS: 0.5,
      rate: 400,
    });
    expect(report.mode).toBe('open');
    expect(report.totals).toMatchObject({ calls: 200, errors: 0 });
  });

  it('counts failures by errorcode and by kind', async () => {
    const scenario = defineScenario({
      name: 'failing',
      steps: [
        // a bad payload answers m:1 with errorcode 100 (m:5 frames in a row would get the socket closed, by design)
        { name: 'BadPayload', weight: 1, run: (client) => client.call('Ping', [1]) },
        {
          name: 'Thrown',
          weight: 1,
          run: () => Promise.reject(new OmsCallError('timeout', 'Thrown', { detail: 'made up by the test' })),
        },
      ],
    });
    const report = await runLoad({
      url: gateway.wsUrl,
      scenario,
      connections: 1,
      inflight: 2,
      durationS: 30,
      maxCalls: 100,
    });
    const rows = Object.fromEntries(report.functions.map((row) => [row.name, row]));
    expect(report.totals).toMatchObject({ calls: 100, errors: 100 });
    expect(rows.BadPayload!.errors).toEqual({ '100': rows.BadPayload!.calls });
    expect(rows.Thrown!.errors).toEqual({ timeout: rows.Thrown!.calls });
  });

  it('runs the mixed scenario with its expected error answers counted as successes', async () => {
    const report = await runLoad({
      url: gateway.wsUrl,
      scenario: loadScenario('mixed', builtInScenarios),
      connections: 2,
      inflight: 2,
      durationS: 30,
      maxCalls: 400,
    });
    expect(report.totals).toMatchObject({ calls: 400, errors: 0 });
    expect(report.functions.map((row) => row.name).sort()).toEqual(
      ['Ping', 'Ping (bad payload → 100)', 'Unknown (→ 106)'].sort(),
    );
  });

  it('counts connections that fail to open and reports the first error', async () => {
    const report = await runLoad({
      url: `ws://127.0.0.1:${await freePort()}/`,
      scenario: loadScenario('ping', builtInScenarios),
      connections: 2,
      inflight: 1,
      durationS: 30,
      maxCalls: 10,
    });
    expect(report.connects.ok).toBe(0);
    expect(report.connects.failed).toBe(2);
    expect(report.connects.firstError).toMatch(/Could not connect/);
    expect(report.totals.calls).toBe(0);
  });

  it('reports progress each second while measuring', async () => {
    const seen: Progress[] = [];
    let resolveFirst!: () => void;
    const first = new Promise<void>((resolve) => (resolveFirst = resolve));
    const report = runLoad({
      url: gateway.wsUrl,
      scenario: loadScenario('ping', builtInScenarios),
      connections: 1,
      inflight: 1,
      durationS: 1.2,
      rate: 50,
      onProgress: (progress) => {
        seen.push(progress);
        resolveFirst();
      },
    });
    await first;
    await report;
    expect(seen[0]!.callsPerSecond).toBeGreaterThan(0);
    expect(seen[0]!.totalErrors).toBe(0);
  });
});
