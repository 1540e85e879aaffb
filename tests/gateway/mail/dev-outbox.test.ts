// The development outbox: logs each mail with its link and serves the last ones at GET /dev/outbox.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../../core/ports/clock';
import { DevOutbox, devOutboxRoute } from '../../../gateway/mail/dev-outbox';
import { renderMail } from '../../../gateway/mail/templates';
import { captureLogs } from '../../support/logs';

const mail = (userId: number) =>
  renderMail({
    kind: 'reset',
    to: `user${userId}@example.test`,
    userId,
    userName: `user${userId}`,
    link: `http://localhost:8080/reset#UserId=${userId}&PendingCode=code-${userId}`,
    expiresInMinutes: 30,
  });

describe('DevOutbox', () => {
  it('counts every mail as sent and logs it with its link, so a local user can open it', async () => {
    const logs = captureLogs();
    const outbox = new DevOutbox(logs.logger);
    expect(await outbox.send(mail(1))).toEqual({ status: 'sent' });
    const line = await logs.waitFor((entry) => String(entry.msg).startsWith('dev outbox'));
    expect(line).toMatchObject({
      level: 'info',
      mail: 'reset',
      to: 'user1@example.test',
      link: mail(1).link,
    });
  });

  it('lists the last mails newest first, keeping only as many as configured', async () => {
    const clock = new ManualClock();
    const outbox = new DevOutbox(captureLogs().logger, { keep: 2, clock });
    for (const userId of [1, 2, 3]) {
      await outbox.send(mail(userId));
      clock.advance(1000);
    }
    expect(outbox.list().map((entry) => entry.to)).toEqual(['user3@example.test', 'user2@example.test']);
    expect(outbox.list()[0]).toMatchObject({
      at: '2026-01-01T00:00:02.000Z',
      link: mail(3).link,
      subject: 'Reset your password',
    });
  });

  it('serves the outbox as JSON at GET /dev/outbox', async () => {
    const outbox = new DevOutbox(captureLogs().logger);
    await outbox.send(mail(4));
    const route = devOutboxRoute(outbox);
    expect(route).toMatchObject({ method: 'GET', path: '/dev/outbox' });
    const server = createServer(
      (request, response) => void route.handle(request, response, new URL('http://x/dev/outbox')),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/dev/outbox`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = (await response.json()) as { messages: { link: string }[] };
      expect(body.messages.map((m) => m.link)).toEqual([mail(4).link]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
