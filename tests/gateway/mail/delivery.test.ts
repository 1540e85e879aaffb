// The delivery loop: the queue, the real SendGrid client and the local v3 server, on the embedded store and on Redis.
import { singleNode } from '../../../gateway/stores/redis/connection';
import { systemClock } from '../../../core/ports/clock';
import { MailDelivery } from '../../../gateway/mail/delivery';
import type { MailDeliveryOptions } from '../../../gateway/mail/delivery';
import { DevOutbox } from '../../../gateway/mail/dev-outbox';
import type { ResetMailJob } from '../../../core/mail-job';
import type { Mailer } from '../../../core/ports/mailer';
import { SendGridMailer } from '../../../gateway/mail/sendgrid-mailer';
import { buildResetLink } from '../../../core/reset-link';
import { MemoryResetStore } from '../../../gateway/stores/memory/memory-reset-store';
import { hashPendingCode, newPendingCode } from '../../../core/pending-code';
import { openRedisResetStore } from '../../../gateway/stores/redis/redis-reset-store';
import type { ClaimedMail, ResetStore } from '../../../core/ports/reset-store';
import { uniquePrefix } from '../../support/gateway';
import { EACH_TOPOLOGY, useTestSingleNode } from '../../support/redis-test-topologies';
import type { TestTopology } from '../../support/redis-test-topologies';
import { captureLogs } from '../../support/logs';
import { pollUntil } from '../../support/poll-until';
import { startRedisServer } from '../../../testing/redis-server';
import { startTcpProxy } from '../../support/tcp-proxy';
import type { TcpProxy } from '../../support/tcp-proxy';
import type { LogCapture } from '../../support/logs';
import { resetLinkOf, sendGridError, startSendGridServer } from '../../support/sendgrid-server';
import type { SendGridServer } from '../../support/sendgrid-server';

function resetJob(userId: number, code: string): ResetMailJob {
  return {
    kind: 'reset',
    to: `user${userId}@example.test`,
    userId,
    userName: `user${userId}`,
    link: buildResetLink('https://example.test/reset', userId, code),
    expiresInMinutes: 30,
  };
}

/** Resolves once `count` log lines with this message were written (already or later). */
function logged(logs: LogCapture, msg: string, count = 1): Promise<unknown> {
  let seen = 0;
  return logs.waitFor((entry) => entry.msg === msg && ++seen === count);
}

const FAST: MailDeliveryOptions = { retryBaseMs: 5, retryMaxMs: 50, pollMs: 20 };

describe('mail delivery', () => {
  let server: SendGridServer;
  let logs: LogCapture;
  const cleanups: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    server = await startSendGridServer();
    logs = captureLogs();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await server.close();
  });

  function sendGrid(): Mailer {
    return new SendGridMailer({
      apiKey: server.apiKey,
      baseUrl: server.baseUrl,
      from: 'no-reply@example.test',
    });
  }

  function memoryStore(): ResetStore {
    const store = new MemoryResetStore(systemClock);
    cleanups.push(() => store.close());
    return store;
  }

  function redisStore(prefix: string, topology: TestTopology): ResetStore {
    const store = openRedisResetStore(topology.options(prefix), logs.logger);
    cleanups.push(() => store.close());
    return store;
  }

  function started(
    store: ResetStore,
    options: MailDeliveryOptions = FAST,
    mailer: Mailer = sendGrid(),
  ): MailDelivery {
    const delivery = new MailDelivery(store, mailer, logs.logger, options);
    delivery.start();
    cleanups.push(() => delivery.stop());
    return delivery;
  }

  it('sends a queued reset mail once and removes it from the queue', async () => {
    const store = memoryStore();
    started(store);
    const code = newPendingCode();
    await store.issueCode(7, hashPendingCode(code), 60_000, resetJob(7, code));
    const [message] = await server.waitForMessages(1);
    expect(resetLinkOf(message!)).toMatchObject({ userId: '7', pendingCode: code });
    await logged(logs, 'mail sent');
    expect(await store.queuedMailCount()).toBe(0);
    expect(server.requests).toHaveLength(1);
  });

  it('delivers exactly once when the server answers 500, 500, then 202', async () => {
    server.respondWith({ status: 500 }, { status: 500 });
    const store = memoryStore();
    const outcomes: string[] = [];
    started(store, { ...FAST, onOutcome: (kind, outcome) => outcomes.push(`${kind} ${outcome}`) });
    await store.enqueueMail(resetJob(8, newPendingCode()));
    await logged(logs, 'mail sent');
    expect(outcomes).toEqual(['reset retry', 'reset retry', 'reset sent']);
    expect(server.requests.map((r) => r.status)).toEqual([500, 500, 202]);
    expect(server.messages).toHaveLength(1);
    expect(logs.entries().filter((e) => e.msg === 'mail send failed; will retry')).toHaveLength(2);
  });

  it('retries after a 429', async () => {
    server.respondWith({ status: 429, body: sendGridError('too many requests') });
    const store = memoryStore();
    started(store);
    await store.enqueueMail(resetJob(9, newPendingCode()));
    await logged(logs, 'mail sent');
    expect(server.requests.map((r) => r.status)).toEqual([429, 202]);
  });

  it('does not retry a 400: it logs the rejection and dead-letters the mail', async () => {
    server.respondWith({
      status: 400,
      body: sendGridError('The from address does not match a verified Sender Identity', 'from'),
    });
    const store = memoryStore();
    const outcomes: string[] = [];
    started(store, { ...FAST, onOutcome: (kind, outcome) => outcomes.push(`${kind} ${outcome}`) });
    await store.enqueueMail(resetJob(10, newPendingCode()));
    const rejected = await logs.waitFor((e) => e.msg === 'mail rejected by the provider; not retried');
    expect(rejected).toMatchObject({
      level: 'error',
      userId: 10,
      reason: expect.stringMatching(/^HTTP 400: from: The from address/),
    });
    await logged(logs, 'mail dead-lettered');
    expect(outcomes).toEqual(['reset rejected']);
    expect(server.requests.map((r) => r.status)).toEqual([400]);
    expect(await store.deadLetters(5)).toEqual([
      expect.objectContaining({ userId: 10, attempts: 1, kind: 'reset' }),
    ]);
    expect(await store.queuedMailCount()).toBe(0);
  });

  it('dead-letters a mail that still fails after the last attempt', async () => {
    server.respondWith({ status: 503 }, { status: 503 }, { status: 503 });
    const store = memoryStore();
    const outcomes: string[] = [];
    started(store, {
      ...FAST,
      maxAttempts: 3,
      onOutcome: (kind, outcome) => outcomes.push(`${kind} ${outcome}`),
    });
    await store.enqueueMail(resetJob(11, newPendingCode()));
    await logged(logs, 'mail dead-lettered');
    expect(outcomes).toEqual(['reset retry', 'reset retry', 'reset dead']);
    expect(server.requests.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(await store.deadLetters(1)).toEqual([
      expect.objectContaining({ attempts: 3, reason: 'HTTP 503' }),
    ]);
  });

  it('wakes at once for a mail queued in this process, however long its poll interval', async () => {
    const store = memoryStore();
    started(store, { ...FAST, pollMs: 3_600_000 });
    await store.enqueueMail(resetJob(12, newPendingCode()));
    await server.waitForMessages(1);
  });

  it('stops promptly while idle and sends nothing after stop', async () => {
    const store = memoryStore();
    const delivery = new MailDelivery(store, sendGrid(), logs.logger, { ...FAST, pollMs: 3_600_000 });
    delivery.start();
    await delivery.stop();
    await store.enqueueMail(resetJob(13, newPendingCode()));
    expect(await store.queuedMailCount()).toBe(1);
    started(store);
    await server.waitForMessages(1);
    expect(server.requests).toHaveLength(1);
  });

  it('lets stop wait for a send in flight, which then completes', async () => {
    const store = memoryStore();
    const delivery = new MailDelivery(store, sendGrid(), logs.logger, FAST);
    delivery.start();
    await store.enqueueMail(resetJob(14, newPendingCode()));
    await server.waitForRequests(1);
    await delivery.stop();
    expect(logs.entries().filter((e) => e.msg === 'mail sent')).toHaveLength(1);
    expect(await store.queuedMailCount()).toBe(0);
  });

  it('sends through the dev outbox too, whose log line is the only one with the link', async () => {
    const store = memoryStore();
    const outbox = new DevOutbox(logs.logger);
    started(store, FAST, outbox);
    const code = newPendingCode();
    await store.issueCode(15, hashPendingCode(code), 60_000, resetJob(15, code));
    await logged(logs, 'mail sent');
    expect(outbox.list().map((entry) => entry.link)).toEqual([resetJob(15, code).link]);
    const withCode = logs.lines.filter((line) => line.includes(code));
    expect(withCode).toHaveLength(1);
    expect(withCode[0]).toContain('dev outbox');
  });

  it('never logs a code or a link while retrying, rejecting or delivering', async () => {
    const codes = [newPendingCode(), newPendingCode()];
    const store = memoryStore();
    started(store);
    // a server that echoes the link back in its error text must not get it into the logs either
    server.respondWith({ status: 500, body: sendGridError(`failed for ${resetJob(16, codes[0]!).link}`) });
    await store.issueCode(16, hashPendingCode(codes[0]!), 60_000, resetJob(16, codes[0]!));
    await logged(logs, 'mail sent');
    server.respondWith({
      status: 400,
      body: sendGridError(`bad link ${resetJob(17, codes[1]!).link} ${codes[1]}`),
    });
    await store.issueCode(17, hashPendingCode(codes[1]!), 60_000, resetJob(17, codes[1]!));
    await logged(logs, 'mail dead-lettered');
    expect(logs.entries().map((e) => e.msg)).toEqual(
      expect.arrayContaining(['mail send failed; will retry', 'mail rejected by the provider; not retried']),
    );
    for (const line of logs.lines) {
      for (const code of codes) expect(line).not.toContain(code);
      expect(line).not.toContain('PendingCode=');
      expect(line).not.toContain(server.apiKey);
    }
  });

  for (const [where, useTopology] of EACH_TOPOLOGY) {
    describe(where, () => {
      const topology = useTopology();
      it('delivers mail queued while no gateway was running once one starts', async () => {
        const prefix = uniquePrefix();
        const before = redisStore(prefix, topology);
        const code = newPendingCode();
        await before.issueCode(20, hashPendingCode(code), 60_000, resetJob(20, code));
        await before.close(); // the gateway that queued it is gone
        const after = redisStore(prefix, topology);
        started(after);
        const [message] = await server.waitForMessages(1);
        expect(resetLinkOf(message!).pendingCode).toBe(code);
        await logged(logs, 'mail sent');
        expect(await after.queuedMailCount()).toBe(0);
      });

      it('sends a mail again after the lease of a gateway that died while sending it', async () => {
        const prefix = uniquePrefix();
        const crashed = redisStore(prefix, topology);
        await crashed.enqueueMail(resetJob(21, newPendingCode()));
        const claim = await crashed.claimMail(200); // claimed, and then the gateway died: never completed
        expect(claim.mail).not.toBeNull();
        started(redisStore(prefix, topology));
        await server.waitForMessages(1);
        const delivered = await logs.waitFor((e) => e.msg === 'mail sent');
        expect(delivered).toMatchObject({ mailId: claim.mail!.id, attempt: 2 });
      });

      it('delivers each mail once with two gateways on one Redis', async () => {
        const prefix = uniquePrefix();
        const [a, b] = [redisStore(prefix, topology), redisStore(prefix, topology)];
        started(a);
        started(b);
        const jobs = Array.from({ length: 20 }, (_, i) => resetJob(100 + i, newPendingCode()));
        await Promise.all(jobs.map((job, i) => (i % 2 === 0 ? a : b).enqueueMail(job)));
        await logged(logs, 'mail sent', 20);
        const sentTo = server.messages.map((m) => m.personalizations[0]!.to[0]!.email);
        expect(sentTo.sort()).toEqual(jobs.map((job) => job.to).sort());
        expect(await a.queuedMailCount()).toBe(0);
      });
    });
  }

  describe('on Redis', () => {
    const single = useTestSingleNode();
    /** A store on its own redis-server behind a proxy the test cuts, so what is sent meanwhile is lost. */
    async function storeBehindProxy(): Promise<{ store: ResetStore; proxy: TcpProxy }> {
      const redis = await startRedisServer();
      cleanups.push(() => redis.stop());
      const proxy = await startTcpProxy(redis.port);
      cleanups.push(() => proxy.close());
      const store = openRedisResetStore(
        {
          topology: singleNode(`redis://127.0.0.1:${proxy.port}`),
          prefix: uniquePrefix(),
          commandTimeoutMs: 200,
        },
        logs.logger,
      );
      cleanups.push(() => store.close());
      return { store, proxy };
    }

    it('completes a mail SendGrid accepted while Redis was unreachable, and sends it only once', async () => {
      const { store, proxy } = await storeBehindProxy();
      // Redis goes away at the moment SendGrid accepts the mail, before the gateway hears the 202
      server.respondWith({ status: 202, before: () => proxy.cut() });
      // a lease short enough that, without the retries, the mail would go out again within the test
      started(store, { ...FAST, leaseMs: 5000, concurrency: 1 });
      await store.enqueueMail(resetJob(41, newPendingCode()));
      const failed = await logs.waitFor(
        (e) => e.msg === 'mail queue unreachable after a send; trying again while the lease lasts',
      );
      expect(failed).toMatchObject({ level: 'warn', userId: 41, attempt: 1 });
      proxy.restore(); // back before the lease ends
      const sent = await logs.waitFor((e) => e.msg === 'mail sent');
      expect(sent).toMatchObject({ userId: 41, attempt: 1 });
      expect(await store.queuedMailCount()).toBe(0);
      expect(server.messages).toHaveLength(1);
      expect(server.requests).toHaveLength(1);
    });

    it('stops trying to complete when the lease runs out, says so, and goes on delivering', async () => {
      const { store, proxy } = await storeBehindProxy();
      server.respondWith({ status: 202, before: () => proxy.cut() });
      started(store, { ...FAST, leaseMs: 1000, concurrency: 1 });
      await store.enqueueMail(resetJob(42, newPendingCode()));
      const gaveUp = await logs.waitFor(
        (e) => e.msg === 'mail queue unreachable until the lease ran out; the mail may be sent again',
      );
      // which attempt gave up depends on how far the 1 s lease got on a loaded machine, not on the behaviour
      expect(gaveUp).toMatchObject({ level: 'error', userId: 42, attempt: expect.any(Number) });
      proxy.restore();
      await logs.waitFor((e) => e.msg === 'redis connection restored');
      // the outage did not stall the loop: the next mail goes out, and the first one is not lost (a try
      // that ioredis still held may complete it late; else it is claimed and sent again, the README's window)
      await store.enqueueMail(resetJob(43, newPendingCode()));
      await logs.waitFor((e) => e.msg === 'mail sent' && e.userId === 43);
      await pollUntil(async () => (await store.queuedMailCount()) === 0, 5000, 20, 'the queue to drain');
      const to42 = server.messages.filter((m) => m.personalizations[0]!.to[0]!.email === resetJob(42, '').to);
      expect(to42.length).toBeGreaterThanOrEqual(1);
    });

    it('neither completes nor resends a mail whose lease another gateway took over', async () => {
      const prefix = uniquePrefix();
      const slow = redisStore(prefix, single);
      const other = redisStore(prefix, single);
      let taken: ClaimedMail | null = null;
      // the send outlives the slow gateway's lease, and the other gateway claims the job meanwhile
      server.respondWith({
        status: 202,
        before: () =>
          pollUntil(
            async () => (taken = (await other.claimMail(30_000)).mail) !== null,
            5000,
            20,
            'the other gateway to claim the job',
          ),
      });
      started(slow, { ...FAST, leaseMs: 300, concurrency: 1 });
      await slow.enqueueMail(resetJob(44, newPendingCode()));
      const warned = await logs.waitFor(
        (e) => e.msg === 'mail sent, but its lease was taken over before it was completed',
      );
      expect(warned).toMatchObject({ level: 'warn', userId: 44, attempt: 1 });
      // the job is still queued, held by the other gateway, whose token alone completes it
      expect(await slow.queuedMailCount()).toBe(1);
      expect(taken).toMatchObject({ attempt: 2, job: { userId: 44 } });
      expect(await other.completeMail(taken!)).toBe(true);
      expect(await slow.queuedMailCount()).toBe(0);
      expect(server.requests).toHaveLength(1);
      expect(logs.entries().filter((e) => e.msg === 'mail sent')).toHaveLength(0);
    });

    it('logs once when Redis goes away and delivers again once it is back', async () => {
      const redis = await startRedisServer();
      let running = redis;
      cleanups.push(() => running.stop());
      const store = openRedisResetStore(
        { topology: singleNode(redis.url), prefix: uniquePrefix(), commandTimeoutMs: 200 },
        logs.logger,
      );
      cleanups.push(() => store.close());
      started(store);
      await redis.stop();
      await logs.waitFor((e) => e.msg === 'mail queue unreachable; mail waits until it returns');
      running = await redis.restart();
      await logs.waitFor((e) => e.msg === 'mail queue reachable again');
      await store.enqueueMail(resetJob(40, newPendingCode()));
      await server.waitForMessages(1);
      expect(
        logs.entries().filter((e) => e.msg === 'mail queue unreachable; mail waits until it returns'),
      ).toHaveLength(1);
    });
  });
});
