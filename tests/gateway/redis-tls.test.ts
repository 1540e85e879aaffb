// The gateway and its CLI on a Redis that speaks only TLS (rediss://), with a CA and client certificates made by
// openssl in the test: the reset flow works, and a CA or a client certificate that does not match fails clearly.
import { runProgram } from '../support/bundle';
import { startGateway, uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { startRedisTls } from '../support/redis-topology';
import type { RedisTlsNode } from '../support/redis-topology';
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

describe('Redis over TLS (rediss://)', () => {
  let redis: RedisTlsNode;
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    redis = await startRedisTls();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.close()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const tlsEnv = (env: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL: redis.url,
    REDIS_TLS_CA_FILE: redis.certs.caFile,
    REDIS_PREFIX: uniquePrefix(),
    ...env,
  });
  const readyz = async (gw: TestGateway): Promise<number> => (await fetch(`${gw.httpUrl}/readyz`)).status;

  // the node has no plain port (--port 0), so every answer below came over TLS
  it('serves a login and the whole reset flow with REDIS_TLS_CA_FILE', async () => {
    const gw = await startResetGateway(tlsEnv());
    gateways.push(gw);
    expect(await readyz(gw)).toBe(200);
    const op = await clientAs(gw, 'op');
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    const link = await nextOutboxLink(gw, 'alice@test.invalid');
    const page = await openClient(gw.wsUrl);
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
    expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(false);
    await Promise.all([op.close(), page.close()]);
  });

  it('with a CA that did not sign the server certificate: /readyz 503, calls 102, and the log says why', async () => {
    const gw = await startGateway({
      ...ARGON2_TEST_ENV,
      ...tlsEnv({ REDIS_TLS_CA_FILE: redis.certs.otherCaFile }),
    });
    gateways.push(gw);
    const lost = await gw.logs.waitFor((entry) => String(entry.msg).startsWith('redis connection lost'));
    // node:tls's verdict, e.g. SELF_SIGNED_CERT_IN_CHAIN: the operator sees it is the certificate, not the network
    expect(lost.err).toEqual({ code: expect.stringMatching(/CERT/) });
    expect(await readyz(gw)).toBe(503);
    const client = await openClient(gw.wsUrl);
    expect(await client.call('AuthenticateUser', { UserName: 'op', Password: 'whatever-1' })).toMatchObject({
      result: false,
      errorcode: 102,
    });
    await client.close();
  });

  it('shows the client certificate of REDIS_TLS_CERT_FILE; Redis refuses one that another CA signed', async () => {
    const withCert = await startGateway(
      tlsEnv({
        REDIS_TLS_CERT_FILE: redis.certs.clientCertFile,
        REDIS_TLS_KEY_FILE: redis.certs.clientKeyFile,
      }),
    );
    gateways.push(withCert);
    expect(await readyz(withCert)).toBe(200);

    const foreign = await startGateway(
      tlsEnv({
        REDIS_TLS_CERT_FILE: redis.certs.otherClientCertFile,
        REDIS_TLS_KEY_FILE: redis.certs.otherClientKeyFile,
      }),
    );
    gateways.push(foreign);
    await foreign.logs.waitFor((entry) => String(entry.msg).startsWith('redis connection lost'));
    expect(await readyz(foreign)).toBe(503);
  });

  it('runs the CLI user commands over TLS, and a gateway on the same Redis logs the user in', async () => {
    const env = { ...tlsEnv(), ARGON2_MEMORY_KIB: '64', ARGON2_ITERATIONS: '1' };
    const added = await runProgram(
      'gateway/cli/main.ts',
      ['user', 'add', '--username', 'tessa', '--email', 'tessa@example.com', '--password-stdin'],
      env,
      'tessa-pw-1\n',
    );
    expect(added).toMatchObject({ code: 0, stderr: '' });
    const listed = await runProgram('gateway/cli/main.ts', ['user', 'list'], env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ UserName: 'tessa', Email: 'tessa@example.com' });

    const gw = await startGateway(env);
    gateways.push(gw);
    expect(await loginWorks(gw, 'tessa', 'tessa-pw-1')).toBe(true);

    const wrongCa = await runProgram('gateway/cli/main.ts', ['user', 'list'], {
      ...env,
      REDIS_TLS_CA_FILE: redis.certs.otherCaFile,
    });
    expect(wrongCa).toMatchObject({ code: 1, stdout: '' });
    expect(wrongCa.stderr).toContain('does not answer');
  }, 60_000); // three CLI processes
});
