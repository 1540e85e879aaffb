// The reset-request and reset-complete scenarios against a real gateway: counts and zero errors, bounded by --max-calls.
import { seedUsers } from '../../gateway/stores/seed-users';
import { runLoad } from '../../load/runner';
import { loadScenario } from '../../load/scenario';
import { builtInScenarios } from '../../load/scenarios';
import { outboxUrlOf } from '../../load/scenarios/reset-complete';
import { LOAD_SEED_DEFAULTS, loadSeedUsers } from '../../load/seed-users';
import { startGateway, testRedisUrl, uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { freePort } from '../../testing/redis-server';
import { ARGON2_TEST_ENV } from '../support/reset';
import { closedAfterEach } from '../support/lifecycle';

/** Limits raised as docs/client-and-load.md says a load test must: every user once, the operator many times. */
const LOAD_LIMITS_ENV = {
  ...ARGON2_TEST_ENV,
  LOG_LEVEL: 'warn',
  RESET_CALLER_LIMIT: '1000000',
} as const;

const USERS = 12;

const params = {
  operator: LOAD_SEED_DEFAULTS.operator,
  operatorPassword: LOAD_SEED_DEFAULTS.operatorPassword,
  users: LOAD_SEED_DEFAULTS.pattern,
  count: String(USERS),
};

async function startLoadGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const gw = await startGateway({ ...LOAD_LIMITS_ENV, ...env });
  await seedUsers(
    gw.gateway.services.store,
    gw.gateway.services.hasher,
    loadSeedUsers(USERS),
    gw.logs.logger,
  );
  return gw;
}

/** The audit records of one step that succeeded, by target. */
async function okTargets(gw: TestGateway, step: string): Promise<(number | null)[]> {
  const events = await gw.gateway.services.resets.recentAudit(1000);
  return events.filter((event) => event.step === step && event.outcome === 'ok').map((e) => e.targetUserId);
}

describe('reset scenarios', () => {
  it('reset-request asks ResetPassword for each seeded user once, round robin over every connection', async () => {
    const gw = closedAfterEach(await startLoadGateway());
    const report = await runLoad({
      url: gw.wsUrl,
      scenario: loadScenario('reset-request', builtInScenarios, params),
      connections: 3,
      inflight: 2,
      durationS: 60,
      maxCalls: USERS,
      params,
    });
    expect(report.connects).toEqual({ ok: 3, failed: 0, firstError: null });
    expect(report.totals).toMatchObject({ calls: USERS, errors: 0 });
    expect(report.functions.map((row) => [row.name, row.calls])).toEqual([['ResetPassword', USERS]]);
    const targets = await okTargets(gw, 'ResetPassword');
    expect(new Set(targets).size).toBe(USERS);
  });

  it('reset-request counts the target limit as errors 101 when users are asked again within the interval', async () => {
    const gw = closedAfterEach(await startLoadGateway());
    const report = await runLoad({
      url: gw.wsUrl,
      scenario: loadScenario('reset-request', builtInScenarios, { ...params, count: '2' }),
      connections: 1,
      inflight: 1,
      durationS: 60,
      maxCalls: 4,
      params,
    });
    expect(report.totals).toMatchObject({ calls: 4, errors: 2 });
    expect(report.functions[0]!.errors).toEqual({ '101': 2 });
  });

  it('reset-complete runs whole cycles with the codes read from the dev outbox', async () => {
    const gw = closedAfterEach(await startLoadGateway());
    const report = await runLoad({
      url: gw.wsUrl,
      scenario: loadScenario('reset-complete', builtInScenarios, params),
      connections: 2,
      inflight: 2,
      durationS: 60,
      maxCalls: 8,
      params,
    });
    expect(report.totals).toMatchObject({ calls: 8, errors: 0 });
    expect(await okTargets(gw, 'ResetPassword2')).toHaveLength(8);
  });

  it('reset-complete reads the codes from its own SendGrid-compatible sink, against a gateway on Redis', async () => {
    const port = await freePort();
    const gw = closedAfterEach(
      await startLoadGateway({
        REDIS_URL: testRedisUrl(),
        REDIS_PREFIX: uniquePrefix(),
        SENDGRID_API_KEY: 'SG.load-test',
        SENDGRID_BASE_URL: `http://127.0.0.1:${port}`,
        MAIL_FROM: 'no-reply@load.invalid',
      }),
    );
    const sinkParams = { ...params, sink: String(port) };
    const report = await runLoad({
      url: gw.wsUrl,
      scenario: loadScenario('reset-complete', builtInScenarios, sinkParams),
      connections: 2,
      inflight: 2,
      durationS: 60,
      maxCalls: 8,
      params: sinkParams,
    });
    expect(report.totals).toMatchObject({ calls: 8, errors: 0 });
    expect(await okTargets(gw, 'ResetPassword2')).toHaveLength(8);
  });

  it('finds the dev outbox beside the WebSocket URL', () => {
    expect(outboxUrlOf('ws://127.0.0.1:8080/WSGateway')).toBe('http://127.0.0.1:8080/dev/outbox');
    expect(outboxUrlOf('wss://[::1]:8443/')).toBe('https://[::1]:8443/dev/outbox');
  });
});
