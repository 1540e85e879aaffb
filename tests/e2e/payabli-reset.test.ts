// The Payabli-style reset end to end: a token from the real CLI, POST /api/User/authreset, the mail at a local
// SendGrid-compatible server, the OMS front end's POST /AP/ResetPassword2, and a login with the new password.
import { apiTokenKey } from '../../gateway/stores/redis/keys';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../support/bundle';
import { Redis } from 'ioredis';
import { hashApiToken } from '../../core/api-tokens';
import type { TestGateway } from '../support/gateway';
import { testRedisUrl } from '../support/gateway';
import { auditTrail, startResetGateway } from '../support/reset';
import { resetLinkOf, startSendGridServer } from '../support/sendgrid-server';
import type { SendGridServer } from '../support/sendgrid-server';

const PILGRIM_ORIGIN = 'https://pilgrim.example';
const NEW_PASSWORD = 'tangerine submarine orchestra';
const SUCCESS = { isSuccess: true, responseText: 'Success' };

let workDir: string;
let entryPointsFile: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'oms-payabli-'));
  entryPointsFile = join(workDir, 'entrypoints.json');
  await writeFile(
    entryPointsFile,
    JSON.stringify({
      pilgrim: { resetPageUrl: `${PILGRIM_ORIGIN}/account/reset`, fromName: 'Pilgrim Payments' },
    }),
  );
});
afterAll(() => rm(workDir, { recursive: true, force: true }));

/** The shipped command's source, bundled (tests/support/bundle.ts), run as a process. */
async function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string }> {
  const { code, stdout } = await runProgram('gateway/cli/main.ts', args, env);
  return { code, stdout };
}

describe('Payabli-style password reset end to end', () => {
  let sendgrid: SendGridServer;
  let gw: TestGateway;

  beforeEach(async () => {
    sendgrid = await startSendGridServer();
    gw = await startResetGateway({
      SENDGRID_API_KEY: sendgrid.apiKey,
      SENDGRID_BASE_URL: sendgrid.baseUrl,
      MAIL_FROM: 'security@oms.example',
      MAIL_RETRY_BASE_MS: '10',
      RESET_PAGE_URL: 'https://oms.example/reset',
      ENTRYPOINTS_FILE: entryPointsFile,
    });
  });
  afterEach(async () => {
    await gw.close();
    await sendgrid.close();
  });

  function authReset(token: string, email: string): Promise<Response> {
    return fetch(`${gw.httpUrl}/api/User/authreset`, {
      method: 'POST',
      body: JSON.stringify({ email, entry: 'pilgrim', entryType: 2 }),
      headers: { 'Content-Type': 'application/json', requestToken: token },
    });
  }

  async function ap(name: string, payload: unknown, headers: Record<string, string> = {}): Promise<Response> {
    // a Blob without a type: no Content-Type, as the OMS front end sends it
    return fetch(`${gw.httpUrl}/AP/${name}`, {
      method: 'POST',
      body: new Blob([JSON.stringify(payload)]),
      headers,
    });
  }

  it('a CLI token resets a password through the entry point’s page, and an unknown e-mail gets the same answer and no mail', async () => {
    const created = await runCli(['token', 'create', '--name', 'Pilgrim portal', '--entry', 'pilgrim'], {
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: gw.config.redis!.prefix,
    });
    expect(created.code).toBe(0);
    const printed = JSON.parse(created.stdout) as { Name: string; Entries: string[]; Token: string };
    expect(printed).toEqual({ Name: 'Pilgrim portal', Entries: ['pilgrim'], Token: expect.any(String) });
    const token = printed.Token;

    // only the token's SHA-256 reaches Redis: neither a key nor a value holds the token itself
    const redis = new Redis(testRedisUrl());
    try {
      const keys = await redis.keys(`${gw.config.redis!.prefix}api-token:*`);
      expect(keys).toEqual([`${gw.config.redis!.prefix}${apiTokenKey(hashApiToken(token))}`]);
      expect(JSON.stringify(await redis.hgetall(keys[0]!))).not.toContain(token);
    } finally {
      redis.disconnect();
    }

    // the unknown address first; the queue's shards keep no order between mails, so the first two mails are
    // matched by recipient (a mail to nobody would most likely be one of them; the flow contract proves none is queued)
    const unknown = await authReset(token, 'nobody@test.invalid');
    const known = await authReset(token, 'alice@test.invalid');
    expect(unknown.status).toBe(200);
    expect(known.status).toBe(200);
    expect(await unknown.text()).toBe(await known.text());
    expect(await (await authReset(token, 'bob@test.invalid')).json()).toEqual(SUCCESS);

    const first = await sendgrid.waitForMessages(2);
    const recipient = (message: (typeof first)[number]): string => message.personalizations[0]!.to[0]!.email;
    expect(first.map(recipient).sort()).toEqual(['alice@test.invalid', 'bob@test.invalid']);
    const toAlice = first.find((message) => recipient(message) === 'alice@test.invalid');
    expect(toAlice!.from).toEqual({ email: 'security@oms.example', name: 'Pilgrim Payments' });
    const link = resetLinkOf(toAlice!);
    expect(link.link.startsWith(`${PILGRIM_ORIGIN}/account/reset#UserId=`)).toBe(true);

    // the entry point's page, in the browser, posts the link's values to <base>/ResetPassword2
    const reset = await ap(
      'ResetPassword2',
      { PendingCode: link.pendingCode, Password: NEW_PASSWORD, UserId: link.userId },
      { Origin: PILGRIM_ORIGIN },
    );
    expect(reset.status).toBe(200);
    expect(reset.headers.get('access-control-allow-origin')).toBe(PILGRIM_ORIGIN);
    expect(await reset.json()).toMatchObject({ result: true, errorcode: 0 });

    const login = await ap('AuthenticateUser', { UserName: 'alice', Password: NEW_PASSWORD });
    expect(await login.json()).toMatchObject({ Authenticated: true });

    const audit = await auditTrail(gw, 20);
    expect(
      audit
        .filter((event) => event.step === 'User/authreset')
        .map((event) => [event.caller, event.reason])
        .sort(),
    ).toEqual([
      ['token:Pilgrim portal', 'mail queued'],
      ['token:Pilgrim portal', 'mail queued'],
      ['token:Pilgrim portal', 'unknown e-mail'],
    ]);
    expect(audit.find((event) => event.step === 'ResetPassword2')).toMatchObject({ outcome: 'ok' });

    const logs = gw.logs.lines.join('\n');
    for (const secret of [token, link.pendingCode, NEW_PASSWORD]) expect(logs).not.toContain(secret);
  });
});
