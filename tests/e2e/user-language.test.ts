// The user's own Language end to end: set with the real CLI on Redis, the reset and password-changed mails in it
// through the real SendGrid client to the local SendGrid server, and the mailed link opening the page in it in
// Chromium, whatever the browser's language; a user without one gets authreset's Accept-Language.
import type { Browser } from 'playwright-core';
import { hashApiToken, newApiToken } from '../../core/api-tokens';
import { buildTestPage, launchBrowser } from '../support/browser';
import type { BuiltPage } from '../support/browser';
import { runProgram } from '../support/bundle';
import { testRedisUrl, uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { freePort } from '../../testing/redis-server';
import { clientAs, loginWorks, startResetGateway } from '../support/reset';
import { resetLinkOf, startSendGridServer } from '../support/sendgrid-server';
import type { SendGridBody, SendGridServer } from '../support/sendgrid-server';

const NEW_PASSWORD = 'Apfelbaum unter Wasser';

const textOf = (message: SendGridBody, type: 'text/plain' | 'text/html'): string =>
  message.content?.find((content) => content.type === type)?.value ?? '';

describe("mail and page in the user's Language", () => {
  let browser: Browser;
  let built: BuiltPage;
  let sendgrid: SendGridServer;
  let gw: TestGateway;
  let env: Record<string, string>;

  beforeAll(async () => {
    [built, browser] = await Promise.all([buildTestPage(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    built?.remove();
  });
  beforeEach(async () => {
    sendgrid = await startSendGridServer();
    env = { REDIS_URL: testRedisUrl(), REDIS_PREFIX: uniquePrefix() };
    // the port first, so the mailed link (RESET_PAGE_URL's default) names the real one
    gw = await startResetGateway(
      {
        PORT: String(await freePort()),
        SENDGRID_API_KEY: sendgrid.apiKey,
        SENDGRID_BASE_URL: sendgrid.baseUrl,
        MAIL_FROM: 'security@oms.example',
        MAIL_RETRY_BASE_MS: '10',
        ...env,
      },
      { pageDir: built.dir },
    );
  });
  afterEach(async () => {
    await gw?.close();
    await sendgrid?.close();
  });

  /** `oms-gateway user add` (the shipped command's source, bundled) for a user of account 1. */
  async function addUser(userName: string, ...options: string[]): Promise<void> {
    const run = await runProgram(
      'gateway/cli/main.ts',
      ['user', 'add', '--username', userName, '--email', `${userName}@test.invalid`, '--account', '1'],
      env,
    );
    expect(run).toMatchObject({ code: 0, stderr: '' });
    if (options.length > 0) {
      const set = await runProgram(
        'gateway/cli/main.ts',
        ['user', 'set-language', userName, ...options],
        env,
      );
      expect(set).toMatchObject({ code: 0, stderr: '' });
    }
  }

  /** The next mail SendGrid accepts, after `before` accepted ones. */
  async function nextMail(before: number): Promise<SendGridBody> {
    return (await sendgrid.waitForMessages(before + 1))[before]!;
  }

  it("mails a German user's reset in German, and its link opens the German page in an English browser", async () => {
    await addUser('hans', 'de');
    const op = await clientAs(gw, 'op');
    expect(await op.call('ResetPassword', { UserName: 'hans' })).toMatchObject({ result: true });
    await op.close();
    const mail = await nextMail(0);
    expect(mail.subject).toBe('Passwort zurücksetzen');
    expect(mail.personalizations[0]?.to).toEqual([{ email: 'hans@test.invalid' }]);
    const text = textOf(mail, 'text/plain');
    expect(text).toContain('Hallo hans,');
    expect(text).toContain('Öffnen Sie diesen Link');
    expect(textOf(mail, 'text/html')).toContain('<html lang="de">');
    const { link } = resetLinkOf(mail);
    expect(new URLSearchParams(new URL(link).hash.slice(1)).get('lang')).toBe('de');

    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 720, height: 820 } });
    context.setDefaultTimeout(10_000);
    try {
      const page = await context.newPage();
      await page.goto(link);
      await page.getByRole('heading', { name: 'Neues Passwort wählen' }).waitFor();
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('de');
      await page.getByLabel('Neues Passwort', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('Neues Passwort bestätigen').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Neues Passwort speichern' }).click();
      await page.getByRole('heading', { name: 'Passwort geändert' }).waitFor();
    } finally {
      await context.close();
    }
    expect(await loginWorks(gw, 'hans', NEW_PASSWORD)).toBe(true);
    const changed = await nextMail(1);
    expect(changed.subject).toBe('Ihr Passwort wurde geändert');
    expect(textOf(changed, 'text/plain')).toContain('Das Passwort Ihres Kontos wurde soeben geändert.');
  });

  it("answers authreset in the user's Language, else in the request's Accept-Language, else in English", async () => {
    await addUser('hans', 'de');
    await addUser('marie');
    await addUser('john', 'none');
    const token = newApiToken();
    await gw.gateway.services.store.apiTokens.create(hashApiToken(token), { name: 'backoffice' });
    const authReset = async (email: string, acceptLanguage?: string): Promise<SendGridBody> => {
      const before = sendgrid.messages.length;
      const response = await fetch(`${gw.httpUrl}/api/User/authreset`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          requestToken: token,
          ...(acceptLanguage === undefined ? {} : { 'accept-language': acceptLanguage }),
        },
        body: JSON.stringify({ email }),
      });
      expect(response.status).toBe(200);
      return nextMail(before);
    };
    const hans = await authReset('hans@test.invalid', 'fr-FR,fr;q=0.9');
    expect(hans.subject).toBe('Passwort zurücksetzen');
    expect(resetLinkOf(hans).link).toMatch(/&lang=de$/);
    const marie = await authReset('marie@test.invalid', 'ja, fr-CA;q=0.8, en;q=0.5');
    expect(marie.subject).toBe('Réinitialisez votre mot de passe');
    expect(textOf(marie, 'text/plain')).toContain('Bonjour marie,');
    expect(resetLinkOf(marie).link).toMatch(/&lang=fr$/);
    const john = await authReset('john@test.invalid');
    expect(john.subject).toBe('Reset your password');
    expect(resetLinkOf(john).link).not.toContain('lang=');
  });
});
