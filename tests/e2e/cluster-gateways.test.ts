// Two gateways on one 3-primary Redis Cluster (REDIS_CLUSTER_NODES, one prefix): a reset begun on one and finished
// on the other, sessions ended across them over the sharded revocation channel, one code raced over both, the CLI
// on the cluster, and REDIS_WAIT_REPLICAS refusing when no primary has a replica.
import { runProgram } from '../support/bundle';
import type { ProgramRun } from '../support/bundle';
import { uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { closedAfterAll, closedAfterEach, openedForEach } from '../support/lifecycle';
import { TOPOLOGY_START_MS } from '../support/redis-test-topologies';
import { startRedisCluster } from '../support/redis-topology';
import type { RedisCluster } from '../support/redis-topology';
import {
  clientAs,
  loginWorks,
  passwordOf,
  raceOneCode,
  startResetGateway,
  submitLink,
} from '../support/reset';
import { resetLinkOf, startSendGridServer } from '../support/sendgrid-server';
import { openClient } from '../support/ws-client';
import type { TestClient } from '../support/ws-client';
import type { Env } from '../../gateway/config';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const NEW_PASSWORD = 'tangerine submarine orchestra';

describe('two gateways on one Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    closedAfterAll({ close: () => cluster.stop() });
  }, TOPOLOGY_START_MS);

  // either gateway's delivery loop may send a mail: both send to this one sink
  const sendgrid = openedForEach(() => startSendGridServer(), 'the SendGrid sink');

  /** The cluster, a key prefix and the mail sink, as a gateway's variables. */
  const clusterEnv = (prefix: string, env: Env = {}): Env => ({
    REDIS_CLUSTER_NODES: cluster.nodesEnv,
    REDIS_PREFIX: prefix,
    SENDGRID_API_KEY: sendgrid().apiKey,
    SENDGRID_BASE_URL: sendgrid().baseUrl,
    MAIL_FROM: 'security@oms.example',
    ...env,
  });

  /** Two reset gateways (RESET_USERS) on one fresh prefix, each listening for revocations; closed after the test. */
  async function twoGateways(env: Env = {}): Promise<[TestGateway, TestGateway]> {
    const prefix = uniquePrefix();
    const start = async (): Promise<TestGateway> =>
      closedAfterEach(await startResetGateway(clusterEnv(prefix, env), {}, { redis: false }));
    // one after the other: the second's seeding finds the first's users present
    const first = await start();
    const second = await start();
    await Promise.all([first, second].map((gw) => gw.gateway.services.store.sessions.whenListening()));
    return [first, second];
  }

  /** A socket logged in as `userName` on `gw`, with its SessionToken. */
  async function login(gw: TestGateway, userName: string): Promise<{ client: TestClient; token: string }> {
    const client = closedAfterEach(await openClient(gw.wsUrl));
    const reply = (await client.call('AuthenticateUser', {
      UserName: userName,
      Password: passwordOf(userName),
    })) as { Authenticated: boolean; SessionToken: string };
    expect(reply.Authenticated).toBe(true);
    return { client, token: reply.SessionToken };
  }

  const deauthenticated = (gw: TestGateway): Promise<unknown> =>
    gw.logs.waitFor((line) => line.msg === 'session revoked: connection de-authenticated');

  it('finishes on gateway B a reset asked on gateway A, and the new password logs in on both', async () => {
    const [a, b] = await twoGateways();
    const op = closedAfterEach(await clientAs(a, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    const [mail] = await sendgrid().waitForMessages(1);
    expect(mail!.personalizations[0]!.to[0]!.email).toBe('alice@test.invalid');

    const page = closedAfterEach(await openClient(b.wsUrl));
    expect(await submitLink(page, resetLinkOf(mail!), NEW_PASSWORD)).toEqual(OK);
    for (const gw of [a, b]) {
      expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
      expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(false);
    }

    // the deployment's keys are spread over the primaries, not kept on the first node the variable names
    const holding = await Promise.all(
      cluster.nodes.map(async (node) => {
        const [, keys] = await cluster
          .admin(node)
          .scan('0', 'MATCH', `${a.config.redis!.prefix}*`, 'COUNT', 10_000);
        return keys.length > 0;
      }),
    );
    expect(holding.filter(Boolean).length).toBeGreaterThan(1);
  });

  it('ends on gateway B a session that LogOut ended on gateway A', async () => {
    const [a, b] = await twoGateways();
    const onB = await login(b, 'bob');
    const bystander = await login(b, 'carol');
    const resumed = closedAfterEach(await openClient(a.wsUrl));
    expect(await resumed.call('WebAuthenticateUser', { SessionToken: onB.token })).toMatchObject({
      Authenticated: true,
    });

    expect(await resumed.call('LogOut', {})).toMatchObject({ result: true });
    await deauthenticated(b);
    expect(await onB.client.call('GetUserInfo', {})).toMatchObject({
      errorcode: 20,
      detail: 'Not logged in',
    });
    expect(await bystander.client.call('GetUserInfo', {})).toMatchObject({ UserName: 'carol' });
    // the token is gone for every gateway, not only the sockets that held it
    const again = closedAfterEach(await openClient(b.wsUrl));
    expect(await again.call('WebAuthenticateUser', { SessionToken: onB.token })).toMatchObject({
      Authenticated: false,
    });
  });

  it('lets exactly one of 50 concurrent uses of one code, spread over both gateways, succeed', async () => {
    // all 50 come from one address: its per-address limits (calls, hashes in flight) are raised out of the way
    const [a, b] = await twoGateways({
      RESET_COMPLETE_ADDRESS_LIMIT: '100',
      HASH_QUEUE_MAX_PER_ADDRESS: '64',
    });
    const op = closedAfterEach(await clientAs(a, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'bob' })).toEqual(OK);
    const link = resetLinkOf((await sendgrid().waitForMessages(1))[0]!);
    const sockets = await Promise.all(
      Array.from({ length: 10 }, async (_, n) => closedAfterEach(await openClient((n % 2 ? b : a).wsUrl))),
    );
    // 50 calls in flight at once: 5 pipelined on each of 10 sockets, half on each gateway
    const results = await raceOneCode(sockets, link, NEW_PASSWORD, 50);
    expect(results).toHaveLength(50);
    expect(results.filter((result) => result.result)).toEqual([OK]);
    expect(results.filter((result) => !result.result && result.errorcode === 104)).toHaveLength(49);
  });

  it('runs the CLI on the cluster: a user it adds logs in on A, and its lock ends the session on B', async () => {
    const [a, b] = await twoGateways();
    const env = { ...clusterEnv(a.config.redis!.prefix), ARGON2_MEMORY_KIB: '64', ARGON2_ITERATIONS: '1' };
    const cli = async (args: string[], input?: string): Promise<ProgramRun> => {
      const run = await runProgram('gateway/cli/main.ts', args, env, input);
      expect(run).toMatchObject({ code: 0 });
      return run;
    };
    await cli(
      ['user', 'add', '--username', 'zoe', '--email', 'zoe@example.com', '--password-stdin'],
      'zoe-pw-1\n',
    );
    await cli(['user', 'add-account', 'zoe', '7']);
    expect(JSON.parse((await cli(['user', 'show', 'zoe'])).stdout)).toMatchObject({
      UserName: 'zoe',
      AccountIds: [7],
      Locked: false,
    });
    expect(await loginWorks(a, 'zoe', 'zoe-pw-1')).toBe(true);

    const zoe = closedAfterEach(await openClient(b.wsUrl));
    expect(await zoe.call('AuthenticateUser', { UserName: 'zoe', Password: 'zoe-pw-1' })).toMatchObject({
      Authenticated: true,
    });
    const locked = await cli(['user', 'lock', 'zoe']);
    expect(JSON.parse(locked.stdout)).toMatchObject({ UserName: 'zoe', Locked: true });
    await deauthenticated(b);
    expect(await zoe.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
    expect(await loginWorks(a, 'zoe', 'zoe-pw-1')).toBe(false);
  });

  it('answers ResetPassword with 102 under REDIS_WAIT_REPLICAS=1, since no primary has a replica', async () => {
    const [a] = await twoGateways({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '100' });
    const op = closedAfterEach(await clientAs(a, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual({
      result: false,
      errormsg: 'Server Error',
      errorcode: 102,
      detail: 'Store unavailable; try again shortly',
    });
  });
});
