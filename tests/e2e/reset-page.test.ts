// The reset page in real headless Chromium against a real gateway, redis-server and the local SendGrid server:
// from an operator's ResetPassword through the mailed link to a new password, and every state the page can show.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { z } from 'zod';
import { ManualClock } from '../../core/ports/clock';
import type { Env } from '../../gateway/config';
import type { GatewayDeps } from '../../gateway/create-gateway';
import { defineHandler } from '../../handlers/context';
import { ping } from '../../handlers/ping';
import { OmsError } from '../../protocol/codes';
import { buildTestPage, launchBrowser, screenshot } from '../support/browser';
import type { BuiltPage } from '../support/browser';
import { deferred } from '../support/deferred';
import { uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { freePort } from '../../testing/redis-server';
import { clientAs, passwordOf, startResetGateway } from '../support/reset';
import { resetLinkOf, startSendGridServer } from '../support/sendgrid-server';
import type { SendGridServer } from '../support/sendgrid-server';
import { openClient } from '../support/ws-client';

const NEW_PASSWORD = 'tangerine submarine orchestra';

type PageState = 'form' | 'success' | 'invalid' | 'unreachable';

/** What a page did on the network and in its console, recorded from before it loads. */
interface PageWatch {
  readonly sockets: string[];
  readonly requests: string[];
  /** console errors (CSP violations land here) and uncaught exceptions */
  readonly errors: string[];
}

describe('reset page in a real browser', () => {
  let browser: Browser;
  let built: BuiltPage;
  let sendgrid: SendGridServer;
  let context: BrowserContext;
  const gateways: TestGateway[] = [];
  const servers: Server[] = [];

  beforeAll(async () => {
    [built, browser] = await Promise.all([buildTestPage(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    built?.remove();
  });
  beforeEach(async () => {
    sendgrid = await startSendGridServer();
    context = await browser.newContext({ viewport: { width: 720, height: 820 } });
    context.setDefaultTimeout(10_000);
  });
  afterEach(async () => {
    await context.close();
    await Promise.all(gateways.splice(0).map((gw) => gw.close()));
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
    await sendgrid.close();
  });

  /**
   * A gateway with the test users, mailing through the local SendGrid server, serving the page built for this
   * file. The port is chosen first so that the mailed link (RESET_PAGE_URL's default) names the real one.
   */
  async function gateway(
    env: Env = {},
    deps: GatewayDeps = {},
    options: { redis?: boolean } = {},
  ): Promise<TestGateway> {
    const port = env.PORT ?? String(await freePort());
    const gw = await startResetGateway(
      {
        PORT: port,
        SENDGRID_API_KEY: sendgrid.apiKey,
        SENDGRID_BASE_URL: sendgrid.baseUrl,
        MAIL_FROM: 'security@oms.example',
        MAIL_RETRY_BASE_MS: '10',
        ...env,
      },
      { pageDir: built.dir, ...deps },
      options,
    );
    gateways.push(gw);
    return gw;
  }

  /** An operator asks ResetPassword for `userName`; resolves with the link from the mail SendGrid received. */
  async function mailedLink(gw: TestGateway, userName: string): Promise<ReturnType<typeof resetLinkOf>> {
    const op = await clientAs(gw, 'op');
    const before = sendgrid.messages.length;
    expect(await op.call('ResetPassword', { UserName: userName })).toMatchObject({ result: true });
    await op.close();
    const messages = await sendgrid.waitForMessages(before + 1);
    return resetLinkOf(messages[before]!);
  }

  async function openPage(url: string): Promise<{ page: Page; watch: PageWatch }> {
    const page = await context.newPage();
    const watch: PageWatch = { sockets: [], requests: [], errors: [] };
    page.on('websocket', (socket) => watch.sockets.push(socket.url()));
    page.on('request', (request) => watch.requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') watch.errors.push(message.text());
    });
    page.on('pageerror', (error) => watch.errors.push(error.message));
    await page.goto(url);
    return { page, watch };
  }

  /** Waits for the page to show `state`, then returns the id of the focused element. */
  async function stateShown(page: Page, state: PageState): Promise<string> {
    await page.locator(`#app[data-state="${state}"]`).waitFor({ state: 'attached' });
    await page.locator(`#state-${state} h1`).waitFor({ state: 'visible' });
    return page.evaluate(() => document.activeElement?.id ?? '');
  }

  const passwordField = (page: Page) => page.getByLabel('New password', { exact: true });
  const confirmField = (page: Page) => page.getByLabel('Confirm new password');
  const submitButton = (page: Page) => page.getByRole('button', { name: 'Set new password' });

  async function fillPasswords(page: Page, password: string, confirmation = password): Promise<void> {
    await passwordField(page).fill(password);
    await confirmField(page).fill(confirmation);
  }

  /** ResetPassword2 calls the gateway counted, by errorcode. */
  async function resetPassword2Calls(gw: TestGateway): Promise<Record<string, number>> {
    const text = await (await fetch(gw.metricsUrl)).text();
    const counts: Record<string, number> = {};
    for (const match of text.matchAll(
      /^oms_calls_total\{function="ResetPassword2",errorcode="(\d+)"\} (\d+)$/gm,
    )) {
      counts[match[1]!] = Number(match[2]);
    }
    return counts;
  }

  async function loginWorks(gw: TestGateway, userName: string, password: string): Promise<boolean> {
    const client = await openClient(gw.wsUrl);
    const reply = (await client.call('AuthenticateUser', { UserName: userName, Password: password })) as {
      Authenticated: boolean;
    };
    await client.close();
    return reply.Authenticated;
  }

  it('takes the mailed link to a new password that AuthenticateUser accepts, sending nothing before submit', async () => {
    const gw = await gateway({ RESET_SUCCESS_URL: 'https://app.example.com/login' });
    const link = await mailedLink(gw, 'alice');
    expect(link.link).toBe(
      `${gw.httpUrl}/reset#UserId=${link.userId}&PendingCode=${encodeURIComponent(link.pendingCode)}`,
    );

    const { page, watch } = await openPage(link.link);
    expect(await stateShown(page, 'form')).toBe('form-heading');
    // the code is gone from the address bar and is nowhere in the document
    expect(page.url()).toBe(`${gw.httpUrl}/reset`);
    expect(await page.content()).not.toContain(link.pendingCode);
    // loading fetched the page and its two files, and opened no socket
    expect([...watch.requests].sort()).toEqual(
      [`${gw.httpUrl}/reset`, `${gw.httpUrl}/reset/app.css`, `${gw.httpUrl}/reset/app.js`].sort(),
    );
    expect(watch.sockets).toEqual([]);
    expect(gw.gateway.connections.size).toBe(0);
    // the rules are on screen before anything is typed
    expect(await page.locator('#rules').innerText()).toContain('At least 8 and at most 128 characters');
    await screenshot(page, 'reset-form');

    await fillPasswords(page, NEW_PASSWORD);
    await submitButton(page).click();
    expect(await stateShown(page, 'success')).toBe('success-heading');
    expect(await page.locator('#state-success').innerText()).toContain(
      'Your password has been changed. Sign in with your new password from now on.',
    );
    const next = page.getByRole('link', { name: 'Continue to sign in' });
    expect(await next.getAttribute('href')).toBe('https://app.example.com/login');
    await screenshot(page, 'reset-success');

    expect(watch.sockets).toEqual([`ws://127.0.0.1:${gw.gateway.address().port}/WSGateway`]);
    expect(await resetPassword2Calls(gw)).toEqual({ '0': 1 });
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
    expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(false);
    // no CSP violation, no script error
    expect(watch.errors).toEqual([]);
  });

  it('sends one ResetPassword2 for a double click on the submit button', async () => {
    const gw = await gateway();
    const link = await mailedLink(gw, 'bob');
    const { page, watch } = await openPage(link.link);
    await stateShown(page, 'form');
    await fillPasswords(page, NEW_PASSWORD);
    await submitButton(page).dblclick();
    await stateShown(page, 'success');
    expect(watch.sockets).toHaveLength(1);
    expect(await resetPassword2Calls(gw)).toEqual({ '0': 1 });
  });

  it('takes the OMS front end’s ?UserId&verifycode link, cleans the address bar, and works by keyboard alone', async () => {
    const gw = await gateway();
    const { userId, pendingCode } = await mailedLink(gw, 'carol');
    const { page } = await openPage(
      `${gw.httpUrl}/reset?UserId=${userId}&verifycode=${encodeURIComponent(pendingCode)}`,
    );
    expect(await stateShown(page, 'form')).toBe('form-heading');
    expect(page.url()).toBe(`${gw.httpUrl}/reset`);

    const focused = (): Promise<string> => page.evaluate(() => document.activeElement?.id ?? '');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('password');
    await page.keyboard.type(NEW_PASSWORD);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('confirm');
    await page.keyboard.type(NEW_PASSWORD);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('toggle');
    await page.keyboard.press('Space');
    expect(await page.locator('#toggle').getAttribute('aria-pressed')).toBe('true');
    expect(await passwordField(page).getAttribute('type')).toBe('text');
    expect(await confirmField(page).inputValue()).toBe(NEW_PASSWORD);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('submit');
    await page.keyboard.press('Enter');
    expect(await stateShown(page, 'success')).toBe('success-heading');
    expect(await loginWorks(gw, 'carol', NEW_PASSWORD)).toBe(true);
    // the code travelled in the query this time: the gateway still wrote it nowhere
    expect(gw.logs.lines.filter((line) => line.includes(pendingCode))).toEqual([]);
  });

  it('says the link is invalid or expired, and to ask for a new e-mail, when the code has run out', async () => {
    const clock = new ManualClock(Date.now());
    const gw = await gateway({ RESET_CODE_TTL_SECONDS: '600' }, { clock }, { redis: false });
    const link = await mailedLink(gw, 'alice');
    const { page } = await openPage(link.link);
    await stateShown(page, 'form');
    clock.advance(601_000);
    await fillPasswords(page, NEW_PASSWORD);
    await submitButton(page).click();
    expect(await stateShown(page, 'invalid')).toBe('invalid-heading');
    const text = await page.locator('#state-invalid').innerText();
    expect(text).toContain('This link is invalid or has expired');
    expect(text).toContain('Ask for a new password-reset e-mail');
    expect(await page.locator('#state-form').isHidden()).toBe(true);
    await screenshot(page, 'reset-invalid-link');
    expect(await resetPassword2Calls(gw)).toEqual({ '104': 1 });
    expect(await loginWorks(gw, 'alice', passwordOf('alice'))).toBe(true);
  });

  it('shows the invalid-link state at once, without contacting the gateway, for a missing or garbled link', async () => {
    const gw = await gateway();
    for (const suffix of [
      '',
      '#UserId=abc&PendingCode=0123456789abcdef',
      '#UserId=7&PendingCode=%3Cscript%3E',
    ]) {
      const { page, watch } = await openPage(`${gw.httpUrl}/reset${suffix}`);
      expect(await stateShown(page, 'invalid')).toBe('invalid-heading');
      expect(page.url()).toBe(`${gw.httpUrl}/reset`);
      expect(watch.sockets).toEqual([]);
      await page.close();
    }
    expect(gw.gateway.connections.size).toBe(0);
  });

  it('checks length and that the confirmation matches before sending anything, and says so to screen readers', async () => {
    const gw = await gateway();
    const link = await mailedLink(gw, 'alice');
    const { page, watch } = await openPage(link.link);
    await stateShown(page, 'form');

    await fillPasswords(page, 'short', 'short');
    await submitButton(page).click();
    const passwordError = page.locator('#password-error');
    expect(await passwordError.innerText()).toBe('Use at least 8 characters.');
    expect(await passwordField(page).getAttribute('aria-invalid')).toBe('true');
    expect(await passwordField(page).getAttribute('aria-describedby')).toBe('rules password-error');

    await fillPasswords(page, NEW_PASSWORD, `${NEW_PASSWORD}!`);
    expect(await passwordError.isHidden()).toBe(true); // typing clears the error it was about
    await submitButton(page).click();
    const confirmError = page.locator('#confirm-error');
    expect(await confirmError.innerText()).toBe('The two passwords do not match.');
    expect(await confirmError.getAttribute('role')).toBe('alert');
    expect(await confirmField(page).getAttribute('aria-invalid')).toBe('true');
    expect(await confirmField(page).getAttribute('aria-describedby')).toBe('confirm-error');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('confirm');
    await screenshot(page, 'reset-mismatch');

    expect(watch.sockets).toEqual([]);
    expect(await resetPassword2Calls(gw)).toEqual({});
  });

  it('shows why the gateway rejected a password, keeps the form, and takes a good one with the same link', async () => {
    const gw = await gateway();
    const link = await mailedLink(gw, 'alice');
    const { page } = await openPage(link.link);
    await stateShown(page, 'form');

    await fillPasswords(page, 'alice-in-wonderland');
    await submitButton(page).click();
    const passwordError = page.locator('#password-error');
    await passwordError.waitFor({ state: 'visible' });
    expect(await passwordError.innerText()).toBe(
      'Password must not be or contain your user name or e-mail address.',
    );
    expect(await page.locator('#app').getAttribute('data-state')).toBe('form');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    expect(await submitButton(page).isEnabled()).toBe(true);
    await screenshot(page, 'reset-rejected');

    await fillPasswords(page, NEW_PASSWORD);
    await submitButton(page).click();
    await stateShown(page, 'success');
    expect(await resetPassword2Calls(gw)).toEqual({ '100': 1, '0': 1 });
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
  });

  it('offers a retry when the gateway is unreachable, and the retry goes through once it is back', async () => {
    const env = { PORT: String(await freePort()), REDIS_PREFIX: uniquePrefix() };
    const first = await gateway(env);
    const link = await mailedLink(first, 'bob');
    const { page } = await openPage(link.link);
    await stateShown(page, 'form');
    await first.close();

    await fillPasswords(page, NEW_PASSWORD);
    await submitButton(page).click();
    expect(await stateShown(page, 'unreachable')).toBe('unreachable-heading');
    expect(await page.locator('#state-unreachable').innerText()).toContain(
      'Your password has not been changed yet. Check your connection and try again.',
    );
    await screenshot(page, 'reset-unreachable');

    const second = await gateway(env); // same port and Redis prefix: the code is still live
    await page.getByRole('button', { name: 'Try again' }).click();
    expect(await stateShown(page, 'success')).toBe('success-heading');
    expect(await loginWorks(second, 'bob', NEW_PASSWORD)).toBe(true);
  });

  it('shows that it is saving while the call is in flight, and a retryable error when the gateway fails', async () => {
    const release = deferred();
    const failing = defineHandler({
      name: 'ResetPassword2',
      input: z.object({ UserId: z.number(), Password: z.string(), PendingCode: z.string() }),
      access: 'public',
      run: async () => {
        await release.promise;
        throw new OmsError('ServerError', 'The user store did not answer');
      },
    });
    const gw = await gateway({}, { handlers: [ping, failing] }, { redis: false });
    const { page } = await openPage(`${gw.httpUrl}/reset#UserId=7&PendingCode=${'a'.repeat(36)}`);
    await stateShown(page, 'form');
    await fillPasswords(page, NEW_PASSWORD);
    await submitButton(page).click();

    const saving = page.getByRole('button', { name: 'Saving…' });
    await saving.waitFor({ state: 'visible' });
    expect(await saving.isDisabled()).toBe(true);
    expect(await saving.getAttribute('aria-busy')).toBe('true');
    expect(await page.locator('#status').innerText()).toBe('Saving your new password…');
    await screenshot(page, 'reset-saving');
    release.resolve();

    expect(await stateShown(page, 'unreachable')).toBe('unreachable-heading');
    expect(await page.locator('#unreachable-heading').innerText()).toBe('Something went wrong');
    expect(await page.locator('#unreachable-text').innerText()).toBe(
      'The user store did not answer. Your password has not been changed. Try again in a moment.',
    );
    expect(await page.getByRole('button', { name: 'Try again' }).isEnabled()).toBe(true);
    await screenshot(page, 'reset-server-error');
  });

  it('says it could not confirm the change when the socket drops before the answer', async () => {
    const release = deferred();
    const entered = deferred();
    const holding = defineHandler({
      name: 'ResetPassword2',
      input: z.object({ UserId: z.number(), Password: z.string(), PendingCode: z.string() }),
      access: 'public',
      run: async () => {
        entered.resolve();
        await release.promise;
        return { result: true, errormsg: null, errorcode: 0, detail: null };
      },
    });
    const gw = await gateway({}, { handlers: [ping, holding] }, { redis: false });
    const { page } = await openPage(`${gw.httpUrl}/reset#UserId=7&PendingCode=${'a'.repeat(36)}`);
    await stateShown(page, 'form');
    await fillPasswords(page, NEW_PASSWORD);
    await submitButton(page).click();
    await entered.promise;
    await Promise.all([...gw.gateway.connections].map((live) => live.close(1011, 'test drops the socket')));
    release.resolve();

    expect(await stateShown(page, 'unreachable')).toBe('unreachable-heading');
    expect(await page.locator('#unreachable-heading').innerText()).toBe('No answer from the server');
    expect(await page.locator('#unreachable-text').innerText()).toContain('We could not confirm the change.');
  });

  it('refuses a WebSocket that a page of another origin opens to the gateway', async () => {
    const gw = await gateway();
    const foreign = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<!doctype html><title>another site</title>');
    });
    servers.push(foreign);
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    const foreignOrigin = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
    const tryOpen = (url: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = new WebSocket(url);
        socket.onopen = () => {
          socket.close();
          resolve('open');
        };
        socket.onclose = (event) => resolve(`closed ${event.code}`);
      });

    const { page: foreignPage } = await openPage(`${foreignOrigin}/`);
    expect(await foreignPage.evaluate(tryOpen, gw.wsUrl)).toBe('closed 1006');
    const refused = await gw.logs.waitFor(
      (entry) => entry.msg === 'websocket upgrade refused: origin not allowed',
    );
    expect(refused.origin).toBe(foreignOrigin);

    // the same script from the gateway's own page is let in
    const { page: ownPage } = await openPage(`${gw.httpUrl}/reset`);
    expect(await ownPage.evaluate(tryOpen, gw.wsUrl)).toBe('open');
  });

  it('fits a phone-width screen without sideways scrolling and shows the rules before typing', async () => {
    const gw = await gateway();
    const link = await mailedLink(gw, 'alice');
    const phone = await browser.newContext({
      viewport: { width: 375, height: 740 },
      isMobile: true,
      hasTouch: true,
    });
    try {
      const page = await phone.newPage();
      await page.goto(link.link);
      await stateShown(page, 'form');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
      for (const control of [passwordField(page), confirmField(page), submitButton(page)]) {
        const box = (await control.boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(375);
        expect(box.height).toBeGreaterThanOrEqual(44); // a comfortable touch target
      }
      expect(await page.locator('#rules').isVisible()).toBe(true);
      await screenshot(page, 'reset-form-phone', null);
    } finally {
      await phone.close();
    }
  });
});
