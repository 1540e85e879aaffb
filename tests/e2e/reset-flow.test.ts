// The whole reset flow over real sockets, a real redis-server and the real @sendgrid/mail client talking to a
// local SendGrid-compatible server: the mail, the link, the new password, retries, restarts, and quiet logs.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGatewayProcesses, startGatewayProcess } from '../support/gateway-process';
import type { TestGateway } from '../support/gateway';
import { testRedisUrl, uniquePrefix } from '../support/gateway';
import {
  ARGON2_TEST_ENV,
  RESET_USERS,
  clientAs,
  loginWorks,
  passwordOf,
  startResetGateway,
  submitLink,
} from '../support/reset';
import { resetLinkOf, startSendGridServer } from '../support/sendgrid-server';
import type { SendGridServer } from '../support/sendgrid-server';
import { openClient } from '../support/ws-client';
import type { TestClient } from '../support/ws-client';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const NEW_PASSWORD = 'tangerine submarine orchestra';

describe('password reset end to end', () => {
  let sendgrid: SendGridServer;
  const gateways: TestGateway[] = [];
  const clients: TestClient[] = [];

  beforeEach(async () => {
    sendgrid = await startSendGridServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(gateways.splice(0).map((gw) => gw.close()));
    await sendgrid.close();
    await killGatewayProcesses();
  });

  function sendgridEnv(): Record<string, string> {
    return {
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_BASE_URL: sendgrid.baseUrl,
      MAIL_FROM: 'security@oms.example',
      MAIL_RETRY_BASE_MS: '10',
      RESET_PAGE_URL: 'https://oms.example/reset',
    };
  }

  async function gateway(env: Record<string, string> = {}): Promise<TestGateway> {
    const gw = await startResetGateway({ ...sendgridEnv(), ...env });
    gateways.push(gw);
    return gw;
  }

  async function socket(gw: TestGateway, as?: string): Promise<TestClient> {
    const client = as ? await clientAs(gw, as) : await openClient(gw.wsUrl);
    clients.push(client);
    return client;
  }

  it('operator asks, the mail arrives at SendGrid, the link sets the new password, the old one stops working', async () => {
    const gw = await gateway();
    const op = await socket(gw, 'op');
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);

    const [mail] = await sendgrid.waitForMessages(1);
    expect(sendgrid.requests[0]!.headers.authorization).toBe(`Bearer ${sendgrid.apiKey}`);
    expect(mail!.personalizations[0]!.to[0]!.email).toBe('alice@test.invalid');
    expect(mail!.from.email).toBe('security@oms.example');
    const link = resetLinkOf(mail!);
    expect(link.link.startsWith('https://oms.example/reset#UserId=')).toBe(true);
    expect(mail!.content!.find((part) => part.type === 'text/html')!.value).toContain(
      'https://oms.example/reset#UserId=',
    );

    const page = await socket(gw);
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
    expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(false);

    const [, changed] = await sendgrid.waitForMessages(2);
    expect(changed!.personalizations[0]!.to[0]!.email).toBe('alice@test.invalid');
    expect(JSON.stringify(changed)).not.toContain(link.pendingCode);
  });

  it('sends the link as dynamic template data when SENDGRID_TEMPLATE_ID is set', async () => {
    const gw = await gateway({ SENDGRID_TEMPLATE_ID: 'd-0123456789abcdef' });
    await (await socket(gw, 'op')).call('ResetPassword', { UserName: 'alice' });
    const [mail] = await sendgrid.waitForMessages(1);
    expect(mail!.template_id).toBe('d-0123456789abcdef');
    expect(mail!.personalizations[0]!.dynamic_template_data).toMatchObject({ user_name: 'alice' });
    expect(resetLinkOf(mail!).userId).toMatch(/^\d+$/);
  });

  it('retries a 500 and delivers the mail exactly once when SendGrid then answers 202', async () => {
    sendgrid.respondWith({ status: 500 }, { status: 503 });
    const gw = await gateway();
    await (await socket(gw, 'op')).call('ResetPassword', { UserName: 'alice' });
    await sendgrid.waitForMessages(1);
    await gw.logs.waitFor((line) => line.msg === 'mail sent');
    expect(sendgrid.requests.map((request) => request.status)).toEqual([500, 503, 202]);
    expect(await gw.gateway.services.resets.queuedMailCount()).toBe(0);
  });

  it('does not retry a 400: the mail is dead-lettered and logged, without its link', async () => {
    sendgrid.respondWith({
      status: 400,
      body: {
        errors: [{ message: 'The from address does not match a verified Sender Identity', field: 'from' }],
      },
    });
    const gw = await gateway();
    await (await socket(gw, 'op')).call('ResetPassword', { UserName: 'alice' });
    const logged = await gw.logs.waitFor(
      (line) => line.level === 'error' && String(line.msg).includes('dead'),
    );
    expect(sendgrid.requests).toHaveLength(1);
    const [dead] = await gw.gateway.services.resets.deadLetters(5);
    expect(dead).toMatchObject({ kind: 'reset', attempts: 1 });
    expect(JSON.stringify(dead)).not.toContain('PendingCode');
    expect(JSON.stringify(logged)).not.toContain('PendingCode');
  });

  it('delivers a mail whose gateway died mid-send once another gateway starts on the same Redis', async () => {
    // a SendGrid that takes the request and never answers: the mail is in flight when the gateway dies
    let arrived!: () => void;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const hung = createServer(() => arrived());
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const seedFile = join(mkdtempSync(join(tmpdir(), 'oms-seed-')), 'users.json');
    writeFileSync(seedFile, JSON.stringify(RESET_USERS));
    const prefix = uniquePrefix();
    const shared = {
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      MAIL_LEASE_MS: '300',
      ...ARGON2_TEST_ENV,
    };

    const first = await startGatewayProcess({
      ...sendgridEnv(),
      ...shared,
      SENDGRID_BASE_URL: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`,
      SEED_FILE: seedFile,
      LOG_LEVEL: 'info',
    });
    const op = await openClient(`ws://127.0.0.1:${first.port}/WSGateway`);
    await op.call('AuthenticateUser', { UserName: 'op', Password: passwordOf('op') });
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    await inFlight;
    first.child.kill('SIGKILL');
    await first.exited;
    await op.closed;
    hung.closeAllConnections();
    hung.close();

    const second = await gateway({ REDIS_PREFIX: prefix, MAIL_LEASE_MS: '300' });
    const [mail] = await sendgrid.waitForMessages(1);
    const link = resetLinkOf(mail!);
    const page = await socket(second);
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
  });

  it('lets a front-end gateway only queue (MAIL_DELIVERY_CONCURRENCY=0) while another on the same Redis sends', async () => {
    const prefix = uniquePrefix();
    const front = await gateway({ REDIS_PREFIX: prefix, MAIL_DELIVERY_CONCURRENCY: '0' });
    const op = await socket(front, 'op');
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    // nobody sends it yet: the front end has no delivery loop and no other gateway runs
    expect(await front.gateway.services.resets.queuedMailCount()).toBe(1);
    const metricsOf = async (gw: TestGateway): Promise<string> => (await fetch(gw.metricsUrl)).text();
    expect(await metricsOf(front)).toMatch(/^oms_mail_queue_depth 1$/m);
    const sender = await gateway({ REDIS_PREFIX: prefix });
    const [mail] = await sendgrid.waitForMessages(1);
    const page = await socket(front);
    expect(await submitLink(page, resetLinkOf(mail!), NEW_PASSWORD)).toEqual(OK);
    const [, changed] = await sendgrid.waitForMessages(2);
    expect(JSON.stringify(changed)).toContain('alice');
    expect(await loginWorks(front, 'alice', NEW_PASSWORD)).toBe(true);
    await sender.logs.waitFor((line) => line.msg === 'mail sent' && line.mail === 'password-changed');
    const sent = await metricsOf(sender);
    expect(sent).toMatch(/^oms_mail_deliveries_total\{kind="reset",outcome="sent"\} 1$/m);
    expect(sent).toMatch(/^oms_mail_deliveries_total\{kind="password-changed",outcome="sent"\} 1$/m);
    expect(sent).toMatch(/^oms_mail_queue_depth 0$/m);
    expect(await metricsOf(front)).toMatch(/^oms_password_hashes\{state="queued"\} 0$/m);
    expect(await metricsOf(front)).not.toMatch(/^oms_mail_deliveries_total\{/m);
  });

  it('writes no code, password, session token or API key to any log line', async () => {
    const gw = await gateway();
    const op = await socket(gw, 'op');
    const login = (await (
      await socket(gw)
    ).call('AuthenticateUser', { UserName: 'bob', Password: passwordOf('bob') })) as {
      SessionToken: string;
    };
    await op.call('ResetPassword', { UserName: 'bob' });
    const link = resetLinkOf((await sendgrid.waitForMessages(1))[0]!);
    const page = await socket(gw);
    await submitLink(page, link, 'short');
    await submitLink(page, link, NEW_PASSWORD, 'wrong-code');
    await submitLink(page, link, NEW_PASSWORD);
    await sendgrid.waitForMessages(2);
    await gw.logs.waitFor((line) => line.msg === 'mail sent' && line.mail === 'password-changed');
    const secrets = [
      link.pendingCode,
      NEW_PASSWORD,
      passwordOf('bob'),
      passwordOf('op'),
      login.SessionToken,
      sendgrid.apiKey,
    ];
    expect(gw.logs.lines.length).toBeGreaterThan(5);
    for (const line of gw.logs.lines) for (const secret of secrets) expect(line).not.toContain(secret);
  });
});
