// The reset page's routes and the WebSocket Origin check over real HTTP: content, security headers, 403 upgrades.
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { buildTestPage } from '../support/browser';
import type { BuiltPage } from '../support/browser';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { openClient } from '../support/ws-client';
import { closedAfterEach } from '../support/lifecycle';

/** GET with exact headers (fetch would not let a test set Host). */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function csp(connectSrc: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connectSrc}`,
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

describe('reset page routes', () => {
  let page: BuiltPage;

  beforeAll(async () => {
    page = await buildTestPage();
  });
  afterAll(() => page.remove());

  const start = async (env: Record<string, string> = {}, pageDir?: string): Promise<TestGateway> =>
    closedAfterEach(await startGateway(env, { pageDir: pageDir ?? page.dir }));

  it('serves the page as HTML with the configured password rules written in and no inline script', async () => {
    const { httpUrl } = await start({ PASSWORD_MIN_LENGTH: '12' });
    const response = await fetch(`${httpUrl}/reset`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();
    expect(html).toContain('<li>At least 12 and at most 128 characters</li>');
    expect(html).toContain('<li>Not a commonly used password</li>');
    expect(html).toContain('data-min-length="12"');
    expect(html).toContain('data-gateway-url=""');
    expect(html).not.toContain('{{');
    // every script has a src; no inline handlers
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script src="reset/app.js" defer>']);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/\sstyle=/i);
  });

  it('serves the bundled script and the stylesheet from the gateway itself', async () => {
    const { httpUrl } = await start();
    const script = await fetch(`${httpUrl}/reset/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const code = await script.text();
    expect(code).toContain('ResetPassword2');
    expect(code).not.toMatch(/require\(["']ws["']\)/);
    const style = await fetch(`${httpUrl}/reset/app.css`);
    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await style.text()).toContain('.card');
  });

  it('sends a strict CSP, no-referrer, no-store, nosniff and DENY framing with the page and each file', async () => {
    const { httpUrl, gateway } = await start();
    const host = `127.0.0.1:${gateway.address().port}`;
    for (const path of ['/reset', '/reset/app.js', '/reset/app.css']) {
      const response = await fetch(`${httpUrl}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toBe(csp(`ws://${host} wss://${host}`));
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
  });

  it('allows sockets only to the host the page was asked for, and ignores a Host that would smuggle CSP syntax', async () => {
    const { httpUrl } = await start({ RESET_PAGE_URL: 'https://oms.example.com/reset' });
    const named = await rawGet(`${httpUrl}/reset`, { host: 'Gateway.Example.com:8443' });
    expect(named.headers['content-security-policy']).toContain(
      'connect-src ws://gateway.example.com:8443 wss://gateway.example.com:8443;',
    );
    const smuggled = await rawGet(`${httpUrl}/reset`, { host: "evil.example; script-src 'unsafe-inline'" });
    expect(smuggled.status).toBe(200);
    // falls back to the host of RESET_PAGE_URL
    expect(smuggled.headers['content-security-policy']).toBe(
      csp('ws://oms.example.com wss://oms.example.com'),
    );
  });

  it('points the page and its connect-src at RESET_PAGE_GATEWAY_URL when set', async () => {
    const { httpUrl } = await start({ RESET_PAGE_GATEWAY_URL: 'wss://gw.example.com/WSGateway' });
    const response = await fetch(`${httpUrl}/reset`);
    expect(response.headers.get('content-security-policy')).toBe(csp('wss://gw.example.com'));
    expect(await response.text()).toContain('data-gateway-url="wss://gw.example.com/WSGateway"');
  });

  it('links the success state to RESET_SUCCESS_URL, HTML-escaped, and says to close the page when unset', async () => {
    const withUrl = await start({ RESET_SUCCESS_URL: 'https://app.example.com/login?next=1&from=reset' });
    expect(await (await fetch(`${withUrl.httpUrl}/reset`)).text()).toContain(
      '<a class="link-button" href="https://app.example.com/login?next=1&amp;from=reset" data-i18n="successContinue">Continue to sign in</a>',
    );
    await withUrl.close();
    const withoutUrl = await start();
    const html = await (await fetch(`${withoutUrl.httpUrl}/reset`)).text();
    expect(html).toContain('You can close this page now.');
    expect(html).not.toContain('Continue to sign in');
  });

  it('answers HEAD with the headers and no body, and other methods with 405', async () => {
    const { httpUrl } = await start();
    const head = await rawGet(`${httpUrl}/reset`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-security-policy']).toContain("default-src 'self'");
    expect(head.body).toBe('');
    expect((await fetch(`${httpUrl}/reset`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${httpUrl}/reset/other.js`)).status).toBe(404);
  });

  it('answers 503 on the page paths when the page was not built, logs why, and serves everything else', async () => {
    const { httpUrl, logs } = await start({}, `${page.dir}/missing`);
    const response = await fetch(`${httpUrl}/reset`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('The password reset page is not available.\n');
    await logs.waitFor((entry) => entry.msg === 'reset page not available: run `npm run build`');
    expect((await fetch(`${httpUrl}/healthz`)).status).toBe(200);
  });
});

describe('WebSocket Origin check', () => {
  it('refuses an upgrade from a foreign Origin with 403 before upgrading, and logs only the origin', async () => {
    const gw = closedAfterEach(await startGateway());
    await expect(openClient(gw.wsUrl, { origin: 'https://evil.example' })).rejects.toThrow(
      'upgrade refused: 403',
    );
    const line = await gw.logs.waitFor(
      (entry) => entry.msg === 'websocket upgrade refused: origin not allowed',
    );
    expect(line.origin).toBe('https://evil.example');
    expect(line.level).toBe('warn');
    expect(gw.gateway.connections.size).toBe(0);
  });

  it('accepts an upgrade without Origin, as trading clients and scripts send it', async () => {
    const gw = closedAfterEach(await startGateway());
    const client = await openClient(gw.wsUrl);
    expect(await client.call('Ping')).toEqual({ msg: 'PONG' });
    await client.close();
  });

  it('accepts the origin of RESET_PAGE_URL by default and the origins in ALLOWED_ORIGINS when set', async () => {
    const gw = closedAfterEach(await startGateway({ RESET_PAGE_URL: 'https://oms.example.com/reset' }));
    const fromPage = await openClient(gw.wsUrl, { origin: 'https://oms.example.com' });
    await fromPage.close();
    await expect(openClient(gw.wsUrl, { origin: 'https://app.example.com' })).rejects.toThrow('403');
    await gw.close();

    const listed = closedAfterEach(
      await startGateway({ ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com' }),
    );
    for (const origin of ['https://app.example.com', 'https://admin.example.com']) {
      const client = await openClient(listed.wsUrl, { origin });
      expect(await client.call('Ping')).toEqual({ msg: 'PONG' });
      await client.close();
    }
    await expect(openClient(listed.wsUrl, { origin: 'https://oms.example.com' })).rejects.toThrow('403');
  });

  it('accepts the gateway’s own page (Origin host equals Host) and refuses another port of the same machine', async () => {
    const gw = closedAfterEach(await startGateway({ RESET_PAGE_URL: 'https://oms.example.com/reset' }));
    const port = gw.gateway.address().port;
    const client = await openClient(gw.wsUrl, { origin: `http://127.0.0.1:${port}` });
    await client.close();
    await expect(openClient(gw.wsUrl, { origin: `http://127.0.0.1:${port + 1}` })).rejects.toThrow('403');
    await expect(openClient(gw.wsUrl, { origin: 'null' })).rejects.toThrow('403');
  });

  it('refuses the own host under the other scheme: an https page on a plain http request, and back', async () => {
    const gw = closedAfterEach(
      await startGateway({ RESET_PAGE_URL: 'https://oms.example.com/reset', TRUST_PROXY: 'loopback' }),
    );
    const own = `127.0.0.1:${gw.gateway.address().port}`;
    await expect(openClient(gw.wsUrl, { origin: `https://${own}` })).rejects.toThrow('403');
    // behind a trusted TLS terminator the request is https: the https page is the gateway's own, http is not
    const tls = { 'x-forwarded-proto': 'https' };
    const client = await openClient(gw.wsUrl, { origin: `https://${own}`, headers: tls });
    await client.close();
    await expect(openClient(gw.wsUrl, { origin: `http://${own}`, headers: tls })).rejects.toThrow('403');
    const refused = await fetch(`${gw.httpUrl}/AP/Ping`, {
      method: 'POST',
      headers: { origin: `http://${own}`, ...tls },
      body: '{}',
    });
    expect(refused.status).toBe(403);
  });
});
