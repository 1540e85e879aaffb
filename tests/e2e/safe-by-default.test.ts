// Issue 11, findings 1 and 4: the attacks on a default deployment (reset links from the dev outbox, demo users,
// ignored Redis variables, DNS rebinding, /metrics as an account oracle) performed against the gateway.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../gateway/config';
import type { Env } from '../../gateway/config';
import { ROOT } from '../support/bundle';
import { startGateway, testRedisUrl, uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { killGatewayProcesses, spawnGateway } from '../support/gateway-process';
import { ARGON2_TEST_ENV, loginWorks, passwordOf, startResetGateway } from '../support/reset';
import { resetLinkOf, startSendGridServer } from '../support/sendgrid-server';
import type { SendGridServer } from '../support/sendgrid-server';
import { openClient } from '../support/ws-client';

/** The ENV of the Dockerfile's final stage, read from the file so the test follows it. */
function dockerfileEnv(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
  const lines = text.split(/\r?\n/);
  const finalStage = lines.slice(lines.map((line) => /^FROM\s/i.test(line)).lastIndexOf(true));
  const env: Record<string, string> = {};
  for (const line of finalStage.filter((candidate) => /^ENV\s/i.test(candidate))) {
    for (const [, key, value] of line.matchAll(/(\w+)=(\S*)/g)) env[key!] = value!;
  }
  return env;
}

/** One raw HTTP/1.1 GET with exactly this Host header; resolves with the status code. */
function statusWithHost(port: number, path: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    socket.once('error', reject);
    socket.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0)));
  });
}

function configError(env: Env): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('the Docker image as built', () => {
  afterEach(() => killGatewayProcesses());

  it('refuses to start with no configuration (exit 2) and says what to set', async () => {
    const env = dockerfileEnv();
    expect(env.HOST).toBe('0.0.0.0');
    const gateway = await spawnGateway(env);
    expect(await gateway.exited).toBe(2);
    expect(gateway.stderr()).toContain('SENDGRID_API_KEY: required outside development mode');
    expect(gateway.stderr()).toContain('REDIS_URL: required outside development mode');
    expect(gateway.stderr()).toContain('RESET_PAGE_URL: required outside development mode');
    expect(gateway.lines.map((line) => line.msg)).not.toContain('gateway listening');
  });

  it('cannot be switched into development mode on its public bind', async () => {
    const gateway = await spawnGateway({ ...dockerfileEnv(), OMS_DEV: '1' });
    expect(await gateway.exited).toBe(2);
    expect(gateway.stderr()).toContain('OMS_DEV: development mode');
    expect(gateway.stderr()).toContain('HOST is 0.0.0.0');
  });

  it.each([
    ['REDIS_ULR', 'did you mean REDIS_URL?'],
    ['REDIS_CLUSTER_NODE', 'did you mean REDIS_CLUSTER_NODES?'],
    ['REDIS_HOST', 'remove it'],
  ])('refuses to start on the embedded store when given %s, naming it', async (name, hint) => {
    // development mode too: an ignored Redis variable used to mean demo users on the network
    const gateway = await spawnGateway({ OMS_DEV: '1', PORT: '0', [name]: 'redis://10.0.0.5:6379' });
    expect(await gateway.exited).toBe(2);
    expect(gateway.stderr()).toContain(`${name}: not a variable the gateway reads`);
    expect(gateway.stderr()).toContain(hint);
    expect(gateway.stderr()).not.toContain('10.0.0.5');
  });
});

describe('reset links and demo users outside development mode', () => {
  let sendgrid: SendGridServer;
  let gw: TestGateway | undefined;
  beforeEach(async () => {
    sendgrid = await startSendGridServer();
  });
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    await sendgrid.close();
  });

  it('refuses the configuration the takeover used: a public bind with a store and page but no SendGrid', () => {
    const message = configError({
      HOST: '0.0.0.0',
      REDIS_URL: testRedisUrl(),
      RESET_PAGE_URL: 'https://oms.example/reset',
      RESET_ALLOW_PUBLIC: 'true',
    });
    expect(message).toContain('SENDGRID_API_KEY: required outside development mode');
  });

  it('gives an attacker no /dev/outbox, no reset link in the log and no demo operator', async () => {
    gw = await startResetGateway({
      OMS_DEV: '',
      HOST: '0.0.0.0',
      RESET_ALLOW_PUBLIC: 'true',
      RESET_PAGE_URL: 'https://oms.example/reset',
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_BASE_URL: sendgrid.baseUrl,
      MAIL_FROM: 'security@oms.example',
      ...ARGON2_TEST_ENV,
    });
    expect(gw.config.dev).toBe(false);
    // the attack: a public ResetPassword for the Operator, then read the link where the dev outbox served it
    const attacker = await openClient(gw.wsUrl);
    expect(await attacker.call('ResetPassword', { UserName: 'op' })).toMatchObject({ result: true });
    const [mail] = await sendgrid.waitForMessages(1);
    const { pendingCode, userId } = resetLinkOf(mail!);
    const outbox = await fetch(`${gw.httpUrl}/dev/outbox`);
    expect(outbox.status).toBe(404);
    expect(await outbox.text()).not.toContain(pendingCode);
    expect(JSON.stringify(gw.logs.entries())).not.toContain(pendingCode);
    // without the code the attacker cannot finish the reset, and the operator keeps the password
    expect(
      await attacker.call('ResetPassword2', {
        UserId: Number(userId),
        PendingCode: 'A'.repeat(pendingCode.length),
        Password: 'attacker-owns-this-1',
      }),
    ).toMatchObject({ result: false });
    expect(await loginWorks(gw, 'op', passwordOf('op'))).toBe(true);
    // and the published demo passwords open nothing
    expect(await gw.gateway.services.store.users.findByName('operator')).toBeNull();
    expect(await loginWorks(gw, 'operator', 'demo-operator')).toBe(false);
    await attacker.close();
  });
});

describe('/metrics', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  const production = (env: Env = {}) =>
    startGateway({
      OMS_DEV: '',
      HOST: '0.0.0.0',
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: uniquePrefix(),
      RESET_PAGE_URL: 'https://oms.example/reset',
      SENDGRID_API_KEY: 'SG.not-used',
      SENDGRID_BASE_URL: 'http://127.0.0.1:9',
      MAIL_FROM: 'security@oms.example',
      ...env,
    });

  it('is not on the public port outside development mode, and answers on METRICS_PORT', async () => {
    gw = await production();
    expect((await fetch(`${gw.httpUrl}/metrics`)).status).toBe(404);
    const metricsPort = gw.gateway.metricsAddress()?.port;
    expect(metricsPort).toBeDefined();
    expect(metricsPort).not.toBe(gw.gateway.address().port);
    const response = await fetch(gw.metricsUrl);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('oms_mail_queue_depth');
  });

  it('with METRICS_TOKEN answers 401 without the bearer and 200 with it', async () => {
    const token = 'metrics-token-0123456789abcdef';
    gw = await production({ METRICS_TOKEN: token });
    const anonymous = await fetch(gw.metricsUrl);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(gw.metricsUrl, { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(
      401,
    );
    const scraped = await fetch(gw.metricsUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('oms_calls_total');
  });

  it('stops the metrics listener with the gateway', async () => {
    gw = await production();
    const port = gw.gateway.metricsAddress()!.port;
    await gw.close();
    gw = undefined;
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('development mode against DNS rebinding', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('serves the outbox and /metrics only to a loopback Host header', async () => {
    // METRICS_PORT unset: in development mode /metrics stays on the main port
    gw = await startGateway({ METRICS_PORT: '' });
    const port = gw.gateway.address().port;
    expect(gw.gateway.metricsAddress()).toBeNull();
    for (const path of ['/dev/outbox', '/metrics']) {
      expect(await statusWithHost(port, path, 'evil.example')).toBe(403);
      expect(await statusWithHost(port, path, `evil.example:${port}`)).toBe(403);
      expect(await statusWithHost(port, path, '127.0.0.1.evil.example')).toBe(403);
      for (const host of [
        'localhost',
        `localhost:${port}`,
        `127.0.0.1:${port}`,
        '127.1.2.3',
        `[::1]:${port}`,
      ]) {
        expect(await statusWithHost(port, path, host)).toBe(200);
      }
    }
    // the rest of the gateway is not a local-only route
    expect(await statusWithHost(port, '/healthz', 'evil.example')).toBe(200);
  });

  it('guards a loopback metrics listener without a token the same way', async () => {
    gw = await startGateway();
    const port = gw.gateway.metricsAddress()!.port;
    expect(await statusWithHost(port, '/metrics', 'evil.example')).toBe(403);
    expect(await statusWithHost(port, '/metrics', `127.0.0.1:${port}`)).toBe(200);
  });
});
