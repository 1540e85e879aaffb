// The connect and storm scenarios against a real gateway, and the --html page of a run in a real Chromium.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { seedUsers } from '../../gateway/stores/seed-users';
import { formatHtmlReport } from '../../load/html';
import { runLoad } from '../../load/runner';
import { loadScenario } from '../../load/scenario';
import { builtInScenarios } from '../../load/scenarios';
import { LOAD_SEED_DEFAULTS, loadSeedUsers } from '../../load/seed-users';
import { launchBrowser } from '../support/browser';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { ARGON2_TEST_ENV } from '../support/reset';

/** Every connection logs in as the seeded load operator. */
const LOGIN = { users: LOAD_SEED_DEFAULTS.operator, password: LOAD_SEED_DEFAULTS.operatorPassword };

describe('session scenarios', () => {
  let gateway: TestGateway;

  beforeEach(async () => {
    // the load comes from one address as one user: its logins in flight are above the per-address hash bound's
    // default, and above the 10 attempts per name and address (taken before the password is checked, given
    // back when it is right), so a slow machine's storm, whose 20 logins overlap, had one refused
    gateway = await startGateway({
      ...ARGON2_TEST_ENV,
      LOG_LEVEL: 'warn',
      HASH_QUEUE_MAX_PER_ADDRESS: '64',
      LOGIN_LIMIT_ATTEMPTS: '64',
    });
    const { store, hasher } = gateway.gateway.services;
    await seedUsers(store, hasher, loadSeedUsers(1), gateway.logs.logger);
  });

  afterEach(() => gateway.close());

  it('connect: every connection connects, logs in, holds for the run and closes', async () => {
    let openDuringRun = 0;
    const report = await runLoad({
      url: gateway.wsUrl,
      scenario: loadScenario('connect', builtInScenarios, LOGIN),
      connections: 3,
      inflight: 1,
      durationS: 1.2,
      onProgress: () => (openDuringRun = Math.max(openDuringRun, gateway.gateway.connections.size)),
    });
    expect(report.mode).toBe('session');
    expect(report.connects).toEqual({ ok: 3, failed: 0, firstError: null });
    const rows = Object.fromEntries(report.functions.map((row) => [row.name, row]));
    expect(rows.connect).toMatchObject({ calls: 3, errorCount: 0 });
    expect(rows.AuthenticateUser).toMatchObject({ calls: 3, errorCount: 0 });
    expect(rows.close).toMatchObject({ calls: 3, errorCount: 0 });
    expect(openDuringRun).toBe(3);
    expect(report.timeline.length).toBeGreaterThanOrEqual(1);
  });

  it('connect: resumes a given SessionToken, and counts a refused one as a failed connection', async () => {
    const report = await runLoad({
      url: gateway.wsUrl,
      scenario: loadScenario('connect', builtInScenarios, { token: 'not-a-session' }),
      connections: 2,
      inflight: 1,
      durationS: 0.2,
    });
    expect(report.connects.failed).toBe(2);
    expect(report.functions.find((row) => row.name === 'WebAuthenticateUser')).toMatchObject({
      calls: 2,
      errorCount: 2,
    });
  });

  it('storm: drops every socket at once, reconnects and resumes, and measures each one back', async () => {
    const report = await runLoad({
      url: gateway.wsUrl,
      scenario: loadScenario('storm', builtInScenarios, { ...LOGIN, at: '0.3' }),
      connections: 20,
      inflight: 1,
      durationS: 5,
    });
    expect(report.connects).toEqual({ ok: 20, failed: 0, firstError: null });
    const back = report.functions.find((row) => row.name === 'back')!;
    expect(back).toMatchObject({ calls: 20, errorCount: 0 });
    expect(back.p99Ms).toBeGreaterThanOrEqual(back.p50Ms);
    // 20 logins and 20 resumes: the sessions were resumed, not created again
    expect(report.functions.find((row) => row.name === 'AuthenticateUser')).toMatchObject({ calls: 20 });
  });
});

describe('--html', () => {
  it('writes a page whose SVG charts have one point per second, shown in Chromium', async () => {
    const gateway = await startGateway({ LOG_LEVEL: 'warn' });
    let report;
    try {
      report = await runLoad({
        url: gateway.wsUrl,
        scenario: loadScenario('ping', builtInScenarios),
        connections: 2,
        inflight: 1,
        durationS: 3.5,
        rate: 100,
      });
    } finally {
      await gateway.close();
    }
    const seconds = report.timeline.length;
    expect(seconds).toBeGreaterThanOrEqual(1);
    const file = join(mkdtempSync(join(tmpdir(), 'oms-load-html-')), 'report.html');
    writeFileSync(file, formatHtmlReport(report));
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(pathToFileURL(file).href);
      const charts = await page.locator('svg.chart').evaluateAll((svgs) =>
        svgs.map((svg) => ({
          name: svg.getAttribute('data-chart'),
          series: [
            ...new Set([...svg.querySelectorAll('circle.point')].map((c) => c.getAttribute('data-series'))),
          ],
          points: svg.querySelectorAll('circle.point').length,
        })),
      );
      expect(charts).toEqual([
        { name: 'Calls per second', series: ['calls/s'], points: seconds },
        { name: 'Errors per second', series: ['errors'], points: seconds },
        { name: 'Latency', series: ['p50', 'p99'], points: 2 * seconds },
        { name: 'Calls in flight', series: ['in flight'], points: seconds },
      ]);
      expect(await page.locator('tfoot td').nth(1).textContent()).toBe(String(report.totals.calls));
      // self-contained: nothing but the file itself was loaded
      expect(requests).toEqual([pathToFileURL(file).href]);
    } finally {
      await browser.close();
    }
  });
});
