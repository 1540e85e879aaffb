// The reset page in the user's language, in real Chromium: from the browser's languages (Accept-Language and
// navigator.languages), or from the link's lang, through a whole reset.
import type { Browser } from 'playwright-core';
import { buildTestPage, launchBrowser, screenshot } from '../support/browser';
import type { BuiltPage } from '../support/browser';
import type { TestGateway } from '../support/gateway';
import { freePort } from '../../testing/redis-server';
import { clientAs, loginWorks, nextOutboxLink, startResetGateway } from '../support/reset';

describe('the reset page in the user language', () => {
  let browser: Browser;
  let built: BuiltPage;
  let gw: TestGateway;

  beforeAll(async () => {
    [built, browser] = await Promise.all([buildTestPage(), launchBrowser()]);
    const port = String(await freePort());
    gw = await startResetGateway({ PORT: port }, { pageDir: built.dir }, { redis: false });
  });
  afterAll(async () => {
    await gw?.close();
    await browser?.close();
    built?.remove();
  });

  async function mailedLink(userName: string, email: string): Promise<string> {
    const op = await clientAs(gw, 'op');
    expect(await op.call('ResetPassword', { UserName: userName })).toMatchObject({ result: true });
    await op.close();
    return (await nextOutboxLink(gw, email)).link;
  }

  it('answers Accept-Language with the page in that language, and says it varies by it', async () => {
    const german = await fetch(`${gw.httpUrl}/reset`, {
      headers: { 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' },
    });
    expect(german.headers.get('vary')).toBe('Accept-Language');
    expect(german.headers.get('content-language')).toBe('de');
    const html = await german.text();
    expect(html).toContain('<html lang="de">');
    expect(html).toContain('Neues Passwort wählen');
    expect(html).toContain('<li>mindestens 8 und höchstens 128 Zeichen lang sein</li>');
    const unknown = await fetch(`${gw.httpUrl}/reset`, { headers: { 'accept-language': 'ja' } });
    expect(await unknown.text()).toContain('<html lang="en">');
  });

  it('shows a German browser the page and its own checks in German', async () => {
    const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 720, height: 820 } });
    try {
      const page = await context.newPage();
      await page.goto(await mailedLink('alice', 'alice@test.invalid'));
      await page.getByRole('heading', { name: 'Neues Passwort wählen' }).waitFor();
      await page.getByLabel('Neues Passwort', { exact: true }).fill('kurz');
      await page.getByLabel('Neues Passwort bestätigen').fill('kurz');
      await page.getByRole('button', { name: 'Neues Passwort speichern' }).click();
      expect(await page.locator('#password-error').innerText()).toBe('Verwenden Sie mindestens 8 Zeichen.');
      await screenshot(page, 'reset-form-de');
    } finally {
      await context.close();
    }
  });

  it("follows the link's lang over an English browser, through to the new password", async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 720, height: 820 } });
    context.setDefaultTimeout(10_000);
    try {
      const page = await context.newPage();
      await page.goto(`${await mailedLink('bob', 'bob@test.invalid')}&lang=es`);
      await page.getByRole('heading', { name: 'Elija una contraseña nueva' }).waitFor();
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('es');
      expect(await page.locator('#rules').innerText()).toContain(
        'tener al menos 8 y como máximo 128 caracteres',
      );
      await page.getByLabel('Contraseña nueva', { exact: true }).fill('naranja submarino orquesta');
      await page.getByLabel('Confirme la contraseña nueva').fill('naranja submarino orquesta');
      await page.getByRole('button', { name: 'Guardar contraseña nueva' }).click();
      await page.getByRole('heading', { name: 'Contraseña cambiada' }).waitFor();
      expect(await loginWorks(gw, 'bob', 'naranja submarino orquesta')).toBe(true);
    } finally {
      await context.close();
    }
  });
});
