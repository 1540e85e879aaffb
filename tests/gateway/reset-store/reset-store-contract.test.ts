// One contract for both reset stores (embedded memory and Redis): pending codes, the mail queue, the audit stream.
import { singleNode } from '../../../gateway/stores/redis/connection';
import { ManualClock } from '../../../core/ports/clock';
import type { MailJob } from '../../../core/mail-job';
import { MemoryResetStore } from '../../../gateway/stores/memory/memory-reset-store';
import { hashPendingCode, newPendingCode } from '../../../core/pending-code';
import { openRedisResetStore } from '../../../gateway/stores/redis/redis-reset-store';
import type { AuditEvent, ResetStore } from '../../../core/ports/reset-store';
import { createLogger } from '../../../gateway/logger';
import { testRedisUrl, uniquePrefix } from '../../support/gateway';
import { useTestCluster, useTestSentinel } from '../../support/redis-test-topologies';
import { pollUntil } from '../../support/poll-until';

interface Harness {
  readonly store: ResetStore;
  /** Lets `ms` pass as the store sees it, then resolves once `settled` holds. */
  elapse(ms: number, settled: () => Promise<boolean>): Promise<void>;
  close(): Promise<void>;
}

const AUDIT_MAXLEN = 10;

function resetJob(userId: number, code: string): MailJob {
  return {
    kind: 'reset',
    to: `user${userId}@example.test`,
    userId,
    userName: `user${userId}`,
    link: `https://reset.example.test/#UserId=${userId}&PendingCode=${code}`,
    expiresInMinutes: 30,
  };
}

const changedJob = (userId: number): MailJob => ({
  kind: 'password-changed',
  to: `user${userId}@example.test`,
  userId,
  userName: `user${userId}`,
});

function describeResetStore(name: string, open: () => Harness): void {
  describe(`${name} reset store`, () => {
    let harness: Harness;
    let store: ResetStore;
    const code = newPendingCode();
    const hash = hashPendingCode(code);

    beforeEach(() => {
      harness = open();
      store = harness.store;
    });
    afterEach(() => harness.close());

    describe('pending codes', () => {
      it('accepts the issued code once and then answers none (reuse fails)', async () => {
        await store.issueCode(1, hash, 60_000, resetJob(1, code));
        expect(await store.checkCode(1, hash)).toBe('valid');
        expect(await store.consumeCode(1, hash)).toBe('consumed');
        expect(await store.consumeCode(1, hash)).toBe('none');
        expect(await store.checkCode(1, hash)).toBe('none');
      });

      it('answers none for a user who has no code', async () => {
        expect(await store.consumeCode(2, hash)).toBe('none');
        expect(await store.checkCode(2, hash)).toBe('none');
      });

      it('lets exactly one of 50 concurrent consumes with one code succeed', async () => {
        await store.issueCode(3, hash, 60_000, resetJob(3, code));
        const results = await Promise.all(Array.from({ length: 50 }, () => store.consumeCode(3, hash)));
        expect(results.filter((r) => r === 'consumed')).toHaveLength(1);
        expect(results.filter((r) => r === 'none')).toHaveLength(49);
      });

      it('invalidates the first code when a second one is issued', async () => {
        const second = hashPendingCode(newPendingCode());
        await store.issueCode(4, hash, 60_000, resetJob(4, code));
        await store.issueCode(4, second, 60_000, resetJob(4, 'second'));
        expect(await store.consumeCode(4, hash)).not.toBe('consumed');
        expect(await store.consumeCode(4, second)).toBe('consumed');
      });

      it('refuses an address the code after its fifth wrong try, and keeps it live for another address', async () => {
        await store.issueCode(5, hash, 60_000, resetJob(5, code));
        const wrong = hashPendingCode('not-the-code');
        for (let i = 0; i < 5; i += 1) expect(await store.consumeCode(5, wrong, 5, 'stranger')).toBe('wrong');
        expect(await store.consumeCode(5, hash, 5, 'stranger')).toBe('wrong');
        expect(await store.checkCode(5, hash, 5, 'stranger')).toBe('wrong');
        expect(await store.consumeCode(5, hash, 5, 'owner')).toBe('consumed');
      });

      it('survives 50 wrong codes from one address and many more from 20 others, for the owner', async () => {
        await store.issueCode(11, hash, 60_000, resetJob(11, code));
        const guesses: Promise<string>[] = Array.from({ length: 50 }, (_, i) =>
          store.consumeCode(11, hashPendingCode(`guess-${i}`), 5, 'stranger'),
        );
        for (let a = 0; a < 20; a += 1) {
          for (let i = 0; i < 6; i += 1)
            guesses.push(store.checkCode(11, hashPendingCode(`guess-${a}-${i}`), 5, `stranger-${a}`));
        }
        expect(new Set(await Promise.all(guesses))).toEqual(new Set(['wrong']));
        expect(await store.consumeCode(11, hash, 5, 'owner')).toBe('consumed');
      });

      it('still accepts the code after four wrong tries', async () => {
        await store.issueCode(6, hash, 60_000, resetJob(6, code));
        const wrong = hashPendingCode('not-the-code');
        for (let i = 0; i < 4; i += 1) expect(await store.consumeCode(6, wrong)).toBe('wrong');
        expect(await store.consumeCode(6, hash)).toBe('consumed');
      });

      it('counts wrong checks as wrong tries, but never uses a right code when checking', async () => {
        await store.issueCode(7, hash, 60_000, resetJob(7, code));
        expect(await store.checkCode(7, hash)).toBe('valid');
        expect(await store.checkCode(7, hash)).toBe('valid');
        const wrong = hashPendingCode('guess');
        for (let i = 0; i < 4; i += 1) expect(await store.checkCode(7, wrong)).toBe('wrong');
        expect(await store.consumeCode(7, wrong)).toBe('wrong');
        // five wrong tries from the default address: refused to it, live for another
        expect(await store.checkCode(7, hash)).toBe('wrong');
        expect(await store.checkCode(7, hash, 5, 'another')).toBe('valid');
      });

      it('starts a new code with no wrong tries counted', async () => {
        const wrong = hashPendingCode('guess');
        await store.issueCode(8, hashPendingCode('old'), 60_000, resetJob(8, 'old'));
        for (let i = 0; i < 4; i += 1) await store.consumeCode(8, wrong);
        await store.issueCode(8, hash, 60_000, resetJob(8, code));
        for (let i = 0; i < 4; i += 1) expect(await store.consumeCode(8, wrong)).toBe('wrong');
        expect(await store.consumeCode(8, hash)).toBe('consumed');
      });

      it("does not count one user's wrong tries against another user's code", async () => {
        await store.issueCode(9, hash, 60_000, resetJob(9, code));
        await store.issueCode(10, hash, 60_000, resetJob(10, code));
        for (let i = 0; i < 5; i += 1) await store.consumeCode(9, hashPendingCode('guess'));
        expect(await store.consumeCode(10, hash)).toBe('consumed');
      });

      it('forgets a code when its TTL runs out', async () => {
        await store.issueCode(11, hash, 400, resetJob(11, code));
        expect(await store.checkCode(11, hash)).toBe('valid');
        await harness.elapse(400, async () => (await store.checkCode(11, hash)) === 'none');
        expect(await store.consumeCode(11, hash)).toBe('none');
      });
    });

    describe('mail queue', () => {
      it('queues the mail in the same step as the code', async () => {
        const job = resetJob(20, code);
        const id = await store.issueCode(20, hash, 60_000, job);
        expect(await store.queuedMailCount()).toBe(1);
        const claim = await store.claimMail(30_000);
        expect(claim.mail).toEqual({ id, token: expect.any(String), attempt: 1, job });
      });

      it('hands out each due job once and deletes a completed one', async () => {
        const first = await store.enqueueMail(changedJob(21));
        const second = await store.enqueueMail(changedJob(22));
        const a = await store.claimMail(30_000);
        const b = await store.claimMail(30_000);
        expect([a.mail?.id, b.mail?.id].sort()).toEqual([first, second].sort());
        await store.completeMail(a.mail!);
        await store.completeMail(b.mail!);
        expect(await store.queuedMailCount()).toBe(0);
        expect(await store.claimMail(30_000)).toEqual({ mail: null, nextDueInMs: null });
      });

      it('holds a leased job back until the lease runs out, then hands it out again', async () => {
        await store.enqueueMail(changedJob(23));
        const first = await store.claimMail(300);
        const during = await store.claimMail(300);
        expect(during.mail).toBeNull();
        expect(during.mail === null && during.nextDueInMs).toBeGreaterThan(0);
        let again: ClaimedOrNull = null;
        await harness.elapse(300, async () => {
          again = (await store.claimMail(30_000)).mail;
          return again !== null;
        });
        expect(again).toMatchObject({ id: first.mail!.id, attempt: 2 });
        // the first holder's lease is gone: it can no longer reschedule or dead-letter the job
        expect(await store.retryMail(first.mail!, 0)).toBe(false);
        expect(await store.deadLetterMail(first.mail!, 'late')).toBe(false);
        expect(await store.queuedMailCount()).toBe(1);
      });

      it('schedules a retry after the given delay', async () => {
        await store.enqueueMail(changedJob(24));
        const claim = await store.claimMail(30_000);
        expect(await store.retryMail(claim.mail!, 300)).toBe(true);
        const early = await store.claimMail(30_000);
        expect(early.mail).toBeNull();
        expect(early.mail === null && early.nextDueInMs).toBeGreaterThan(0);
        let later: ClaimedOrNull = null;
        await harness.elapse(300, async () => {
          later = (await store.claimMail(30_000)).mail;
          return later !== null;
        });
        expect(later).toMatchObject({ id: claim.mail!.id, attempt: 2 });
      });

      it('records a dead letter without the link and removes the job', async () => {
        await store.issueCode(25, hash, 60_000, resetJob(25, code));
        const claim = await store.claimMail(30_000);
        expect(await store.deadLetterMail(claim.mail!, 'HTTP 400')).toBe(true);
        expect(await store.queuedMailCount()).toBe(0);
        const [letter] = await store.deadLetters(10);
        expect(letter).toEqual({
          id: claim.mail!.id,
          kind: 'reset',
          userId: 25,
          attempts: 1,
          reason: 'HTTP 400',
          at: expect.any(Number),
        });
        expect(JSON.stringify(letter)).not.toContain(code);
      });

      it('tells its listeners when a job is queued', async () => {
        const heard: string[] = [];
        const stop = store.onMailQueued(() => heard.push('queued'));
        await store.issueCode(26, hash, 60_000, resetJob(26, code));
        await store.enqueueMail(changedJob(26));
        stop();
        await store.enqueueMail(changedJob(26));
        expect(heard).toEqual(['queued', 'queued']);
      });
    });

    describe('audit', () => {
      const event = (i: number): AuditEvent => ({
        at: 1_700_000_000_000 + i,
        step: 'ResetPassword',
        caller: '127.0.0.1',
        targetUserId: i % 2 === 0 ? i : null,
        outcome: 'ok',
        reason: `event ${i}`,
      });

      it('records an event given with issueCode in the same step as the code and the mail', async () => {
        await store.issueCode(30, hash, 60_000, resetJob(30, code), event(30));
        expect(await store.recentAudit(5)).toEqual([event(30)]);
        expect(await store.checkCode(30, hash)).toBe('valid');
        expect(await store.queuedMailCount()).toBe(1);
      });

      it('lists the last events newest first', async () => {
        for (let i = 0; i < 3; i += 1) await store.appendAudit(event(i));
        expect(await store.recentAudit(2)).toEqual([event(2), event(1)]);
      });

      const refusal = (i: number, caller: string, at = 1_700_000_000_000 + i): AuditEvent => ({
        at,
        step: 'ResetPassword2',
        caller,
        targetUserId: i,
        outcome: 'refused',
        reason: 'Invalid or expired link',
      });

      it('keeps refusals out of the audit stream: a flood of them leaves an earlier success there', async () => {
        const changed: AuditEvent = { ...event(1), step: 'ResetPassword2', reason: 'password changed' };
        await store.appendAudit(changed);
        const total = AUDIT_MAXLEN + 240;
        // from as many callers as refusals: not one of them is aggregated with another
        for (let i = 0; i < total; i += 1)
          await store.appendAudit(refusal(i, `address:10.0.${i >> 8}.${i & 255}`));
        expect(await store.recentAudit(10)).toEqual([changed]);
        const refusals = await store.recentRefusals(10_000);
        expect(refusals.length).toBeGreaterThanOrEqual(AUDIT_MAXLEN);
        expect(refusals.length).toBeLessThanOrEqual(AUDIT_MAXLEN + 100);
        expect(refusals[0]).toEqual({
          first: refusal(total - 1, 'address:10.0.0.249'),
          windowStart: 1_699_999_980_000,
          count: 1,
        });
      });

      it('aggregates the refusals of one caller in one window into one record with its count', async () => {
        const start = 1_700_000_040_000; // a window boundary (60 s windows)
        for (let i = 0; i < 5; i += 1) await store.appendAudit(refusal(i, 'address:a', start + i));
        for (let i = 0; i < 2; i += 1) await store.appendAudit(refusal(i, 'address:b', start + 10 + i));
        await store.appendAudit(refusal(9, 'address:a', start + 60_000));
        expect(await store.recentRefusals(10)).toEqual([
          { first: refusal(9, 'address:a', start + 60_000), windowStart: start + 60_000, count: 1 },
          { first: refusal(0, 'address:b', start + 10), windowStart: start, count: 2 },
          { first: refusal(0, 'address:a', start), windowStart: start, count: 5 },
        ]);
        expect(await store.recentAudit(10)).toEqual([]);
      });

      it('keeps the stream bounded', async () => {
        const total = AUDIT_MAXLEN + 240;
        await Promise.all(Array.from({ length: total }, (_, i) => store.appendAudit(event(i))));
        const kept = await store.recentAudit(10_000);
        // Redis trims approximately (whole stream nodes of up to 100 entries): at most one node over
        expect(kept.length).toBeGreaterThanOrEqual(AUDIT_MAXLEN);
        expect(kept.length).toBeLessThanOrEqual(AUDIT_MAXLEN + 100);
        expect(kept[0]).toEqual(event(total - 1));
      });
    });
  });
}

type ClaimedOrNull = Awaited<ReturnType<ResetStore['claimMail']>>['mail'];

describeResetStore('memory', () => {
  const clock = new ManualClock();
  const store = new MemoryResetStore(clock, { auditMaxLen: AUDIT_MAXLEN });
  return {
    store,
    elapse: async (ms, settled) => {
      clock.advance(ms);
      expect(await settled()).toBe(true);
    },
    close: () => store.close(),
  };
});

describeResetStore('redis', () => {
  const store = openRedisResetStore(
    { topology: singleNode(testRedisUrl()), prefix: uniquePrefix(), commandTimeoutMs: 2000 },
    createLogger('silent'),
    { auditMaxLen: AUDIT_MAXLEN },
  );
  return {
    store,
    // Redis keeps its own clock: only real time moves it, so wait (bounded) for the effect
    elapse: (ms, settled) => pollUntil(settled, ms + 3000, 20, 'the store to see the time pass'),
    close: () => store.close(),
  };
});

for (const [name, useTopology] of [
  ['redis cluster (3 primaries)', useTestCluster],
  ['redis with sentinels', useTestSentinel],
] as const) {
  describe(name, () => {
    const topology = useTopology();
    describeResetStore(name, () => {
      const store = openRedisResetStore(topology.options(uniquePrefix()), createLogger('silent'), {
        auditMaxLen: AUDIT_MAXLEN,
      });
      return {
        store,
        elapse: (ms, settled) => pollUntil(settled, ms + 3000, 20, 'the store to see the time pass'),
        close: () => store.close(),
      };
    });
  });
}
