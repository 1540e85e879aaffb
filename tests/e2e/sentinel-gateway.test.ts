// A gateway and the CLI on a Sentinel-watched primary (REDIS_SENTINELS, REDIS_SENTINEL_NAME): the whole reset flow,
// users the CLI adds and locks, and REDIS_WAIT_REPLICAS: true once the replica holds the code, 102 on a primary
// that has no replica to acknowledge it.
import { runProgram } from '../support/bundle';
import type { ProgramRun } from '../support/bundle';
import { uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { closedAfterAll, closedAfterEach } from '../support/lifecycle';
import { startRedisSentinel } from '../support/redis-topology';
import type { RedisSentinelSetup } from '../support/redis-topology';
import {
  clientAs,
  loginWorks,
  nextOutboxLink,
  passwordOf,
  startResetGateway,
  submitLink,
} from '../support/reset';
import { openClient } from '../support/ws-client';
import { userKeys } from '../../gateway/stores/redis/keys';
import type { Env } from '../../gateway/config';
import { standardSuccess } from '../../protocol/standard-response';
import { startRedisServer } from '../../testing/redis-server';

const OK = standardSuccess();
const NEW_PASSWORD = 'tangerine submarine orchestra';
/** Three sentinels that must see the replica and each other: a few seconds, longer on a loaded machine. */
const START_MS = 60_000;

describe('a gateway on Sentinels', () => {
  let setup: RedisSentinelSetup;

  beforeAll(async () => {
    setup = await startRedisSentinel();
    closedAfterAll({ close: () => setup.stop() });
  }, START_MS);

  /** The Sentinels and a fresh key prefix, as REDIS_* variables. */
  const sentinelEnv = (env: Env = {}): Env => ({
    REDIS_SENTINELS: setup.sentinelsEnv,
    REDIS_SENTINEL_NAME: setup.name,
    REDIS_PREFIX: uniquePrefix(),
    ...env,
  });

  /** A reset gateway (RESET_USERS) on the Sentinels' primary, closed after the test. */
  const gatewayOn = async (env: Env): Promise<TestGateway> =>
    closedAfterEach(await startResetGateway(env, {}, { redis: false }));

  /** ResetPassword for alice, the mailed link, ResetPassword2, and the logins after it. */
  async function fullReset(gw: TestGateway): Promise<void> {
    const op = closedAfterEach(await clientAs(gw, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    const link = await nextOutboxLink(gw, 'alice@test.invalid');
    const page = closedAfterEach(await openClient(gw.wsUrl));
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
    expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(false);
  }

  it('runs the whole reset (ResetPassword, the mailed link, ResetPassword2, login) on the primary the Sentinels name', async () => {
    const env = sentinelEnv();
    const gw = await gatewayOn(env);
    expect((await fetch(`${gw.httpUrl}/readyz`)).status).toBe(200);
    await fullReset(gw);
    const [, keys] = await setup
      .admin(setup.primary)
      .scan('0', 'MATCH', `${env.REDIS_PREFIX}*`, 'COUNT', 10_000);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('with REDIS_WAIT_REPLICAS=1 answers true once the replica holds the code, and the reset completes', async () => {
    const env = sentinelEnv({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1500' });
    const gw = await gatewayOn(env);
    const op = closedAfterEach(await clientAs(gw, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    // WAIT returned before the reply: the replica has the code already, no polling needed
    const alice = (await gw.gateway.services.store.users.findByName('alice'))!;
    const codeKey = `${env.REDIS_PREFIX}${userKeys(alice.userId).resetCode}`;
    expect(await setup.admin(setup.replica).exists(codeKey)).toBe(1);
    const link = await nextOutboxLink(gw, 'alice@test.invalid');
    const page = closedAfterEach(await openClient(gw.wsUrl));
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
  });

  it('runs the CLI on the Sentinels: a user it adds logs in, and once it locks the user the socket is refused', async () => {
    const env = { ...sentinelEnv(), ARGON2_MEMORY_KIB: '64', ARGON2_ITERATIONS: '1' };
    const cli = async (args: string[], input?: string): Promise<ProgramRun> => {
      const run = await runProgram('gateway/cli/main.ts', args, env, input);
      expect(run).toMatchObject({ code: 0 });
      return run;
    };
    await cli(
      ['user', 'add', '--username', 'sam', '--email', 'sam@example.com', '--password-stdin'],
      'sam-pw-1\n',
    );
    await cli(['user', 'grant', 'sam', 'Operator']);
    expect(JSON.parse((await cli(['user', 'show', 'sam'])).stdout)).toMatchObject({
      UserName: 'sam',
      Permissions: ['Operator'],
      Locked: false,
    });

    const gw = await gatewayOn(env);
    await gw.gateway.services.store.sessions.whenListening();
    const sam = closedAfterEach(await openClient(gw.wsUrl));
    expect(await sam.call('AuthenticateUser', { UserName: 'sam', Password: 'sam-pw-1' })).toMatchObject({
      Authenticated: true,
    });
    const locked = await cli(['user', 'lock', 'sam']);
    expect(JSON.parse(locked.stdout)).toMatchObject({ UserName: 'sam', Locked: true });
    expect(locked.stderr).toContain('ended 1 session(s) of sam');
    await gw.logs.waitFor((line) => line.msg === 'session revoked: connection de-authenticated');
    expect(await sam.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
    expect(await loginWorks(gw, 'sam', 'sam-pw-1')).toBe(false);
  });
});

describe('REDIS_WAIT_REPLICAS on a primary with no replica', () => {
  it('answers ResetPassword with errorcode 102: the code and the mail may not survive a failover', async () => {
    const redis = await startRedisServer();
    closedAfterEach({ close: () => redis.stop() });
    const gw = await startResetGateway(
      {
        REDIS_URL: redis.url,
        REDIS_PREFIX: uniquePrefix(),
        REDIS_WAIT_REPLICAS: '1',
        REDIS_WAIT_TIMEOUT_MS: '100',
      },
      {},
      { redis: false },
    );
    closedAfterEach(gw);
    const op = closedAfterEach(await clientAs(gw, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual({
      result: false,
      errormsg: 'Server Error',
      errorcode: 102,
      detail: 'Store unavailable; try again shortly',
    });
  });
});
