// A Redis Cluster that speaks only TLS (clients, replicas and the cluster bus), with a CA made by openssl in the
// test: the gateway on REDIS_CLUSTER_NODES with REDIS_TLS and REDIS_TLS_CA_FILE runs the reset flow and ends a
// session on a second gateway through the sharded revocation channel; with a CA that signed nothing there, it
// starts, answers 503 and 102, and keeps running.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { pollUntil } from '../support/poll-until';
import { makeTestCertificates, startRedisCluster } from '../support/redis-topology';
import type { RedisCluster, TestCertificates } from '../support/redis-topology';
import { TOPOLOGY_START_MS } from '../support/redis-test-topologies';
import {
  ARGON2_TEST_ENV,
  clientAs,
  loginWorks,
  nextOutboxLink,
  passwordOf,
  startResetGateway,
  submitLink,
} from '../support/reset';
import { openClient } from '../support/ws-client';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const NEW_PASSWORD = 'tangerine submarine orchestra';

describe('a Redis Cluster over TLS (REDIS_CLUSTER_NODES with REDIS_TLS)', () => {
  let dir: string;
  let certs: TestCertificates;
  let cluster: RedisCluster;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oms-tls-cluster-'));
    certs = await makeTestCertificates(dir);
    cluster = await startRedisCluster({
      tls: {
        caFile: certs.caFile,
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        clientCertFile: certs.clientCertFile,
        clientKeyFile: certs.clientKeyFile,
      },
    });
  }, TOPOLOGY_START_MS);
  afterAll(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const tlsEnv = (env: Record<string, string> = {}): Record<string, string> => ({
    REDIS_CLUSTER_NODES: cluster.nodesEnv,
    REDIS_TLS: 'true',
    REDIS_TLS_CA_FILE: certs.caFile,
    ...env,
  });
  const readyz = async (gw: TestGateway): Promise<number> => (await fetch(`${gw.httpUrl}/readyz`)).status;

  // the nodes have no plain port (--port 0), so every answer below came over TLS
  it('serves the reset flow, and a LogOut on one gateway ends the session on the other', async () => {
    const prefix = uniquePrefix();
    const a = closedAfterEach(
      await startResetGateway(tlsEnv({ REDIS_PREFIX: prefix }), {}, { redis: false }),
    );
    const b = closedAfterEach(
      await startGateway({ ...ARGON2_TEST_ENV, ...tlsEnv({ REDIS_PREFIX: prefix }) }),
    );
    // ready once each client has read the slot map over TLS
    await pollUntil(
      async () => (await readyz(a)) === 200 && (await readyz(b)) === 200,
      10_000,
      50,
      '/readyz 200',
    );

    const op = closedAfterEach(await clientAs(a, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    const link = await nextOutboxLink(a, 'alice@test.invalid');
    const page = closedAfterEach(await openClient(b.wsUrl));
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
    expect(await loginWorks(b, 'alice', NEW_PASSWORD)).toBe(true);

    const onB = closedAfterEach(await openClient(b.wsUrl));
    const { SessionToken } = (await onB.call('AuthenticateUser', {
      UserName: 'bob',
      Password: passwordOf('bob'),
    })) as { SessionToken: string };
    const resumed = closedAfterEach(await openClient(a.wsUrl));
    expect(await resumed.call('WebAuthenticateUser', { SessionToken })).toMatchObject({
      Authenticated: true,
    });
    const ended = b.logs.waitFor((entry) => entry.msg === 'session revoked: connection de-authenticated');
    expect(await resumed.call('LogOut', {})).toMatchObject({ result: true });
    await ended;
    expect(await onB.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
  });

  it('with a CA that signed none of the nodes: starts, answers /readyz 503 and calls 102, and keeps running', async () => {
    const gw = closedAfterEach(
      await startGateway({ ...ARGON2_TEST_ENV, ...tlsEnv({ REDIS_TLS_CA_FILE: certs.otherCaFile }) }),
    );
    expect(await readyz(gw)).toBe(503);
    const client = closedAfterEach(await openClient(gw.wsUrl));
    expect(await client.call('AuthenticateUser', { UserName: 'op', Password: 'whatever-1' })).toMatchObject({
      result: false,
      errorcode: 102,
    });
    // still serving after the refused handshakes
    expect(await readyz(gw)).toBe(503);
  });
});
