// The real @sendgrid/mail client against the local v3 server: what it sends and how each answer is classified.
import { SendGridMailer } from '../../../gateway/mail/sendgrid-mailer';
import { renderMail } from '../../../gateway/mail/templates';
import { freePort } from '../../../testing/redis-server';
import { resetLinkOf, sendGridError, startSendGridServer } from '../../support/sendgrid-server';
import type { SendGridServer } from '../../support/sendgrid-server';

const CODE = '0f8fad5b-d9cb-469f-a165-70867728950e';
const resetMail = renderMail({
  kind: 'reset',
  to: 'ada@example.test',
  userId: 7,
  userName: 'Ada',
  link: `https://example.test/reset#UserId=7&PendingCode=${CODE}`,
  expiresInMinutes: 30,
});

describe('SendGridMailer', () => {
  let server: SendGridServer;
  let mailer: SendGridMailer;

  beforeEach(async () => {
    server = await startSendGridServer();
    mailer = new SendGridMailer({
      apiKey: server.apiKey,
      baseUrl: server.baseUrl,
      from: 'no-reply@example.test',
    });
  });
  afterEach(() => server.close());

  it('sends the mail to /v3/mail/send with the key, both bodies and click tracking off, and counts 202 as sent', async () => {
    expect(await mailer.send(resetMail)).toEqual({ status: 'sent' });
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/v3/mail/send', status: 202 });
    expect(request!.headers.authorization).toBe(`Bearer ${server.apiKey}`);
    const [message] = server.messages;
    expect(message).toMatchObject({
      personalizations: [{ to: [{ email: 'ada@example.test' }] }],
      from: { email: 'no-reply@example.test' },
      subject: 'Reset your password',
      tracking_settings: { click_tracking: { enable: false, enable_text: false } },
    });
    expect(message!.content!.map((c) => c.type)).toEqual(['text/plain', 'text/html']);
    expect(resetLinkOf(message!)).toMatchObject({ userId: '7', pendingCode: CODE });
  });

  it('counts any 2xx as sent', async () => {
    server.respondWith({ status: 200, body: { id: 'x' } });
    expect(await mailer.send(resetMail)).toEqual({ status: 'sent' });
  });

  it('sends the sender name when one is configured', async () => {
    const named = new SendGridMailer({
      apiKey: server.apiKey,
      baseUrl: server.baseUrl,
      from: 'a@example.test',
      fromName: 'OMS',
    });
    await named.send(resetMail);
    expect(server.messages[0]!.from).toEqual({ email: 'a@example.test', name: 'OMS' });
  });

  it('sends a dynamic template with the link, user name and expiry as template data', async () => {
    const templated = new SendGridMailer({
      apiKey: server.apiKey,
      baseUrl: server.baseUrl,
      from: 'no-reply@example.test',
      templateId: 'd-0123456789abcdef',
    });
    expect(await templated.send(resetMail)).toEqual({ status: 'sent' });
    const [message] = server.messages;
    expect(message!.template_id).toBe('d-0123456789abcdef');
    expect(message!.personalizations[0]!.dynamic_template_data).toEqual({
      link: resetMail.link,
      user_name: 'Ada',
      expires_in_minutes: 30,
      language: 'en',
    });
    expect(message!.content).toBeUndefined();
    expect(resetLinkOf(message!).pendingCode).toBe(CODE);
  });

  it("gives a dynamic template the user's language, and the link that opens the page in it", async () => {
    const templated = new SendGridMailer({
      apiKey: server.apiKey,
      baseUrl: server.baseUrl,
      from: 'no-reply@example.test',
      templateId: 'd-0123456789abcdef',
    });
    const german = renderMail({
      kind: 'reset',
      to: 'hans@example.test',
      userId: 8,
      userName: 'hans',
      link: `https://example.test/reset#UserId=8&PendingCode=${CODE}`,
      expiresInMinutes: 30,
      language: 'de',
    });
    expect(await templated.send(german)).toEqual({ status: 'sent' });
    expect(server.messages[0]!.personalizations[0]!.dynamic_template_data).toEqual({
      link: `https://example.test/reset#UserId=8&PendingCode=${CODE}&lang=de`,
      user_name: 'hans',
      expires_in_minutes: 30,
      language: 'de',
    });
  });

  it('uses the built-in text for the password-changed mail even with a reset template configured', async () => {
    const templated = new SendGridMailer({
      apiKey: server.apiKey,
      baseUrl: server.baseUrl,
      from: 'a@example.test',
      templateId: 'd-1',
    });
    await templated.send(
      renderMail({ kind: 'password-changed', to: 'ada@example.test', userId: 7, userName: 'Ada' }),
    );
    expect(server.messages[0]).toMatchObject({ subject: 'Your password was changed' });
    expect(server.messages[0]!.template_id).toBeUndefined();
  });

  it('asks for a retry on 500 and on 503', async () => {
    server.respondWith({ status: 500 }, { status: 503, body: sendGridError('Service Unavailable') });
    expect(await mailer.send(resetMail)).toEqual({ status: 'retry', reason: 'HTTP 500' });
    expect(await mailer.send(resetMail)).toEqual({
      status: 'retry',
      reason: 'HTTP 503: Service Unavailable',
    });
  });

  it('asks for a retry on 429, keeping the Retry-After delay', async () => {
    server.respondWith({
      status: 429,
      body: sendGridError('too many requests'),
      headers: { 'retry-after': '3' },
    });
    expect(await mailer.send(resetMail)).toEqual({
      status: 'retry',
      reason: 'HTTP 429: too many requests',
      retryAfterMs: 3000,
    });
  });

  it("rejects on 400 with SendGrid's error text, never echoing the link or the code", async () => {
    server.respondWith({
      status: 400,
      body: sendGridError(`bad content ${resetMail.link} and ${CODE}`, 'content'),
    });
    const outcome = await mailer.send(resetMail);
    expect(outcome).toEqual({
      status: 'reject',
      reason: 'HTTP 400: content: bad content [link] and [redacted]',
    });
  });

  it('rejects when the key is refused (401)', async () => {
    const wrongKey = new SendGridMailer({
      apiKey: 'SG.wrong',
      baseUrl: server.baseUrl,
      from: 'a@example.test',
    });
    const outcome = await wrongKey.send(resetMail);
    expect(outcome).toMatchObject({ status: 'reject', reason: expect.stringMatching(/^HTTP 401/) });
    expect(JSON.stringify(outcome)).not.toContain('SG.wrong');
  });

  it('asks for a retry when nothing answers', async () => {
    const nowhere = new SendGridMailer({
      apiKey: server.apiKey,
      baseUrl: `http://127.0.0.1:${await freePort()}`,
      from: 'a@example.test',
    });
    expect(await nowhere.send(resetMail)).toMatchObject({
      status: 'retry',
      reason: expect.stringMatching(/ECONNREFUSED/),
    });
  });

  it('keeps separate keys and base URLs for two mailers in one process', async () => {
    const other = await startSendGridServer('SG.other-key');
    try {
      const second = new SendGridMailer({
        apiKey: other.apiKey,
        baseUrl: other.baseUrl,
        from: 'b@example.test',
      });
      expect(await mailer.send(resetMail)).toEqual({ status: 'sent' });
      expect(await second.send(resetMail)).toEqual({ status: 'sent' });
      expect(server.messages.map((m) => m.from.email)).toEqual(['no-reply@example.test']);
      expect(other.messages.map((m) => m.from.email)).toEqual(['b@example.test']);
    } finally {
      await other.close();
    }
  });
});
