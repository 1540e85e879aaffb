// One contract for both reset flows (the stores composed, for the embedded store; one script per step on Redis).
import { Cluster } from 'ioredis';
import { ManualClock } from '../../../core/ports/clock';
import { createLogger } from '../../../gateway/logger';
import type { MailJob, ResetMailJob } from '../../../core/mail-job';
import { resetLinkParts } from '../../../core/reset-link';
import { MemoryResetStore } from '../../../gateway/stores/memory/memory-reset-store';
import { hashPendingCode, newPendingCode } from '../../../core/pending-code';
import { RedisResetFlow } from '../../../gateway/stores/redis/redis-reset-flow';
import { RedisResetStore } from '../../../gateway/stores/redis/redis-reset-store';
import { composeResetFlow } from '../../../core/reset-flow';
import { targetStem } from '../../../core/reset-flow';
import type { AuditBase, PasswordChange, ResetFlow, ResetRequest, TargetHit } from '../../../core/reset-flow';
import type { ResetStore } from '../../../core/ports/reset-store';
import { createMemoryStore } from '../../../gateway/stores/memory/memory-store';
import { connectRedis, singleNode } from '../../../gateway/stores/redis/connection';
import type { RedisOptions } from '../../../gateway/stores/redis/connection';
import { createRedisStore } from '../../../gateway/stores/redis/redis-store';
import type { LimitHit, NewUser, Store, UserRecord } from '../../../core/ports/store';
import { testRedisUrl, uniquePrefix } from '../../support/gateway';
import { useTestCluster, useTestSentinel } from '../../support/redis-test-topologies';

interface Harness {
  readonly store: Store;
  readonly resets: ResetStore;
  readonly flow: ResetFlow;
  close(): Promise<void>;
}

const AUDIT_MAXLEN = 100;
const PAGE_URL = 'https://reset.example.test/reset';
const REQUEST_AUDIT: AuditBase = { at: 1_767_225_600_000, step: 'ResetPassword', caller: '203.0.113.9' };
const CHANGE_AUDIT: AuditBase = { at: 1_767_225_660_000, step: 'ResetPassword2', caller: '203.0.113.9' };
const SESSION_TTL_MS = 60_000;

const alice: NewUser = {
  userName: 'Alice',
  email: 'Alice@Example.com',
  permissions: ['Trading'],
  accountIds: [7],
  passwordHash: '$argon2id$old-alice',
};
const bob: NewUser = {
  userName: 'bob',
  email: 'bob@example.com',
  permissions: ['Trading'],
  accountIds: [7, 8],
};
const carol: NewUser = {
  userName: 'carol',
  email: 'carol@example.com',
  permissions: ['Operator'],
  accountIds: [8],
};
const dave: NewUser = {
  userName: 'dave',
  email: 'dave@example.com',
  permissions: ['Trading'],
  accountIds: [9],
};

const limit = (key: string, max: number): LimitHit => ({ key, limit: max, windowSeconds: 60 });
const targetHit = (suffix: string, max: number): TargetHit => ({ suffix, limit: max, windowSeconds: 60 });
/** Target limits with these hits, keyed `<stem>:<suffix>` for a target nobody is. */
const targets = (unknownStem: string, ...hits: TargetHit[]): ResetRequest['targetLimits'] => ({
  unknownStem,
  hits,
});

/** A request for `code`: no limits, any user in reach, a reset mail with its own sender name. */
function resetRequest(
  lookup: ResetRequest['lookup'],
  code: string,
  overrides: Partial<ResetRequest> = {},
): ResetRequest {
  return {
    lookup,
    limits: [],
    targetLimits: { unknownStem: 'target:asked', hits: [] },
    reach: null,
    codeHash: hashPendingCode(code),
    ttlMs: 60_000,
    mail: { link: resetLinkParts(PAGE_URL, code), expiresInMinutes: 30, fromName: 'Example Desk' },
    audit: REQUEST_AUDIT,
    ...overrides,
  };
}

const byName = (value: string): ResetRequest['lookup'] => ({ by: 'name', value });
const byEmail = (value: string): ResetRequest['lookup'] => ({ by: 'email', value });

/** The user fields the mails name. */
type Named = Pick<UserRecord, 'userId' | 'userName' | 'email'>;

function changedMail(user: Named): MailJob {
  return { kind: 'password-changed', to: user.email, userId: user.userId, userName: user.userName };
}

function passwordChange(user: Named, code: string, overrides: Partial<PasswordChange> = {}): PasswordChange {
  return {
    userId: user.userId,
    codeHash: hashPendingCode(code),
    maxWrongTries: 5,
    from: '203.0.113.9',
    passwordHash: '$argon2id$new',
    mail: changedMail(user),
    audit: CHANGE_AUDIT,
    ...overrides,
  };
}

function describeResetFlow(name: string, open: () => Harness): void {
  describe(`${name} reset flow`, () => {
    let harness: Harness;
    let store: Store;
    let resets: ResetStore;
    let flow: ResetFlow;
    /** How often the flow said a mail was queued (the delivery loop's wake-up). */
    let queuedNotices: number;

    beforeEach(() => {
      harness = open();
      ({ store, resets, flow } = harness);
      queuedNotices = 0;
      resets.onMailQueued(() => (queuedNotices += 1));
    });
    afterEach(() => harness.close());

    /** The jobs queued now, each claimed (and so held back from a later call). */
    async function claimAll(): Promise<MailJob[]> {
      const jobs: MailJob[] = [];
      for (;;) {
        const claim = await resets.claimMail(30_000);
        if (claim.mail === null) return jobs;
        jobs.push(claim.mail.job);
      }
    }

    /** Sends the queued mail: claims each job and completes it. */
    async function deliverAll(): Promise<void> {
      for (;;) {
        const claim = await resets.claimMail(30_000);
        if (claim.mail === null) return;
        await resets.completeMail(claim.mail);
      }
    }

    const peek = async (key: string): Promise<number> => (await store.limits.peek(key, 1000)).count;
    /** The refusals recorded, as their windows' first events (each window of one caller is one). */
    const refused = async (): Promise<unknown[]> =>
      (await resets.recentRefusals(10)).map((record) => record.first);

    describe('requestReset', () => {
      it('queues the mail for a user found by name in any case, with the code live and the step audited', async () => {
        const user = await store.users.create(alice);
        const code = newPendingCode();
        const result = await flow.requestReset(resetRequest(byName('aLICE'), code));
        expect(result).toEqual({
          outcome: 'queued',
          targetUserId: user.userId,
          retryAfterSeconds: 0,
          audit: { ...REQUEST_AUDIT, targetUserId: user.userId, outcome: 'ok', reason: 'mail queued' },
        });
        expect(await resets.checkCode(user.userId, hashPendingCode(code))).toBe('valid');
        const [head, tail] = resetLinkParts(PAGE_URL, code);
        const job: ResetMailJob = {
          kind: 'reset',
          to: 'Alice@Example.com',
          userId: user.userId,
          userName: 'Alice',
          link: `${head}${user.userId}${tail}`,
          expiresInMinutes: 30,
          fromName: 'Example Desk',
        };
        expect(await resets.queuedMailCount()).toBe(1);
        expect(await claimAll()).toEqual([job]);
        expect(queuedNotices).toBe(1);
        expect(await resets.recentAudit(10)).toEqual([result.audit]);
      });

      it('finds the user by e-mail in any case, and leaves fromName out when the template has none', async () => {
        const user = await store.users.create(alice);
        const code = newPendingCode();
        const request = resetRequest(byEmail('alice@example.COM'), code);
        const result = await flow.requestReset({
          ...request,
          mail: { link: request.mail.link, expiresInMinutes: 15 },
        });
        expect(result).toMatchObject({ outcome: 'queued', targetUserId: user.userId, retryAfterSeconds: 0 });
        expect(await resets.checkCode(user.userId, hashPendingCode(code))).toBe('valid');
        expect(await claimAll()).toStrictEqual([
          {
            kind: 'reset',
            to: 'Alice@Example.com',
            userId: user.userId,
            userName: 'Alice',
            link: `${PAGE_URL}#UserId=${user.userId}&PendingCode=${code}`,
            expiresInMinutes: 15,
          },
        ]);
        expect(await resets.recentAudit(1)).toEqual([result.audit]);
      });

      it("writes the mail in the user's Language, over the request's, and in the request's for a user without one", async () => {
        const hans = await store.users.create({
          ...dave,
          userName: 'hans',
          email: 'hans@example.com',
          language: 'de',
        });
        await store.users.create(alice);
        const french = { ...resetRequest(byName('x'), 'x').mail, language: 'fr' as const };
        /** The one job a request queued (claimed one by one: jobs queued in the same ms have no order). */
        const mailOf = async (request: ResetRequest): Promise<MailJob | undefined> => {
          await flow.requestReset(request);
          const jobs = await claimAll();
          expect(jobs).toHaveLength(1);
          return jobs[0];
        };
        expect(
          await mailOf({ ...resetRequest(byName('hans'), newPendingCode()), mail: french }),
        ).toMatchObject({ kind: 'reset', to: 'hans@example.com', userId: hans.userId, language: 'de' });
        expect(
          await mailOf({ ...resetRequest(byName('Alice'), newPendingCode()), mail: french }),
        ).toMatchObject({ userName: 'Alice', language: 'fr' });
        expect(await mailOf(resetRequest(byEmail('HANS@example.com'), newPendingCode()))).toMatchObject({
          userName: 'hans',
          language: 'de',
        });
        // without either, the job has no language (English), as before the field
        const plain = await mailOf(resetRequest(byName('Alice'), newPendingCode()));
        expect(plain).toMatchObject({ userName: 'Alice' });
        expect(Object.keys(plain!)).not.toContain('language');
      });

      it("replaces the user's live code with the second request's", async () => {
        const user = await store.users.create(alice);
        const first = newPendingCode();
        const second = newPendingCode();
        await flow.requestReset(resetRequest(byName('Alice'), first));
        await flow.requestReset(resetRequest(byName('Alice'), second));
        expect(await resets.checkCode(user.userId, hashPendingCode(first))).not.toBe('valid');
        expect(await resets.checkCode(user.userId, hashPendingCode(second))).toBe('valid');
        expect(await resets.queuedMailCount()).toBe(2);
        expect(queuedNotices).toBe(2);
      });

      it('answers unknown for a name nobody has, queuing nothing and auditing the refusal', async () => {
        await store.users.create(alice);
        const result = await flow.requestReset(resetRequest(byName('mallory'), newPendingCode()));
        expect(result).toEqual({
          outcome: 'unknown',
          targetUserId: null,
          retryAfterSeconds: 0,
          audit: { ...REQUEST_AUDIT, targetUserId: null, outcome: 'refused', reason: 'unknown user name' },
        });
        expect(await resets.queuedMailCount()).toBe(0);
        expect(queuedNotices).toBe(0);
        expect(await refused()).toEqual([result.audit]);
      });

      it('answers unknown for an e-mail nobody has, naming the e-mail in the audit', async () => {
        await store.users.create(alice);
        const result = await flow.requestReset(
          resetRequest(byEmail('mallory@example.com'), newPendingCode()),
        );
        expect(result).toEqual({
          outcome: 'unknown',
          targetUserId: null,
          retryAfterSeconds: 0,
          audit: { ...REQUEST_AUDIT, targetUserId: null, outcome: 'refused', reason: 'unknown e-mail' },
        });
        expect(await resets.queuedMailCount()).toBe(0);
        expect(await refused()).toEqual([result.audit]);
      });

      it('refuses a locked user without issuing a code or queuing mail', async () => {
        const user = await store.users.create({ ...alice, locked: true });
        const code = newPendingCode();
        const result = await flow.requestReset(resetRequest(byName('Alice'), code));
        expect(result).toEqual({
          outcome: 'locked',
          targetUserId: user.userId,
          retryAfterSeconds: 0,
          audit: { ...REQUEST_AUDIT, targetUserId: user.userId, outcome: 'refused', reason: 'user locked' },
        });
        expect(await resets.checkCode(user.userId, hashPendingCode(code))).toBe('none');
        expect(await resets.queuedMailCount()).toBe(0);
        expect(queuedNotices).toBe(0);
        expect(await refused()).toEqual([result.audit]);
      });
    });

    describe('limits', () => {
      it('counts the limits, then the target limits by the user found, in order for a request let through', async () => {
        const user = await store.users.create(alice);
        await flow.requestReset(
          resetRequest(byName('Alice'), newPendingCode(), {
            limits: [limit('caller', 5), limit('other', 5)],
            targetLimits: targets('target:alice', targetHit('interval', 5)),
          }),
        );
        expect([
          await peek('caller'),
          await peek('other'),
          await peek(`${targetStem(user.userId)}:interval`),
          await peek('target:alice:interval'),
        ]).toEqual([1, 1, 1, 0]);
      });

      it('refuses with the wait of the limit that says no, counting none after it and leaving the live code', async () => {
        const user = await store.users.create(alice);
        const first = newPendingCode();
        const ask = (code: string): ResetRequest =>
          resetRequest(byName('Alice'), code, {
            limits: [limit('caller', 5), limit('once', 1), limit('after', 5)],
            targetLimits: targets('target:alice', targetHit('interval', 5)),
          });
        await flow.requestReset(ask(first));
        const result = await flow.requestReset(ask(newPendingCode()));
        expect(result).toMatchObject({
          outcome: 'limited',
          targetUserId: user.userId,
          audit: { ...REQUEST_AUDIT, targetUserId: user.userId, outcome: 'refused', reason: 'rate limited' },
        });
        expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(result.retryAfterSeconds).toBeLessThanOrEqual(60);
        expect([
          await peek('caller'),
          await peek('once'),
          await peek('after'),
          await peek(`${targetStem(user.userId)}:interval`),
        ]).toEqual([2, 2, 1, 1]);
        // the refused request issued nothing: the first code still works and only its mail is queued
        expect(await resets.checkCode(user.userId, hashPendingCode(first))).toBe('valid');
        expect(await resets.queuedMailCount()).toBe(1);
        expect(queuedNotices).toBe(1);
        expect(await refused()).toEqual([result.audit]);
      });

      it('refuses when a target limit says no, with no code issued and no mail', async () => {
        const user = await store.users.create(alice);
        const code = newPendingCode();
        const result = await flow.requestReset(
          resetRequest(byName('Alice'), code, {
            limits: [limit('caller', 5)],
            targetLimits: targets('target:alice', targetHit('interval', 0), targetHit('hour', 5)),
          }),
        );
        expect(result).toMatchObject({ outcome: 'limited', targetUserId: user.userId });
        expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(result.retryAfterSeconds).toBeLessThanOrEqual(60);
        const stem = targetStem(user.userId);
        expect([await peek('caller'), await peek(`${stem}:interval`), await peek(`${stem}:hour`)]).toEqual([
          1, 1, 0,
        ]);
        expect(await resets.checkCode(user.userId, hashPendingCode(code))).toBe('none');
        expect(await resets.queuedMailCount()).toBe(0);
        expect(await refused()).toEqual([result.audit]);
      });

      it('limits a name nobody has exactly as it limits a user, keyed on the name as asked', async () => {
        const user = await store.users.create(alice);
        const ask = (who: string, code: string): ResetRequest =>
          resetRequest(byName(who), code, {
            limits: [limit(`caller:${who}`, 5)],
            targetLimits: targets(`target:${who}`, targetHit('interval', 1)),
          });
        const outcomes = [];
        for (const [who, stem] of [
          ['Alice', targetStem(user.userId)],
          ['mallory', 'target:mallory'],
        ] as const) {
          const first = await flow.requestReset(ask(who, newPendingCode()));
          const second = await flow.requestReset(ask(who, newPendingCode()));
          expect(second.retryAfterSeconds).toBeGreaterThanOrEqual(1);
          expect(second.retryAfterSeconds).toBeLessThanOrEqual(60);
          expect(second.audit.reason).toBe('rate limited');
          outcomes.push([
            first.outcome,
            second.outcome,
            await peek(`caller:${who}`),
            await peek(`${stem}:interval`),
          ]);
        }
        expect(outcomes).toEqual([
          ['queued', 'limited', 2, 2],
          ['unknown', 'limited', 2, 2],
        ]);
      });

      it('shares one per-target budget between a request by name and one by e-mail for the same user', async () => {
        const user = await store.users.create(alice);
        const hits = [targetHit('interval', 1), targetHit('hour', 3)];
        const results = [];
        for (let i = 0; i < 6; i += 1) {
          const lookup = i % 2 === 0 ? byName('Alice') : byEmail('alice@example.com');
          const stem = i % 2 === 0 ? 'target:alice' : 'target-email:alice@example.com';
          results.push(
            (
              await flow.requestReset(
                resetRequest(lookup, newPendingCode(), { targetLimits: targets(stem, ...hits) }),
              )
            ).outcome,
          );
        }
        expect(results).toEqual(['queued', 'limited', 'limited', 'limited', 'limited', 'limited']);
        expect(await peek(`${targetStem(user.userId)}:interval`)).toBe(6);
        expect(await resets.queuedMailCount()).toBe(1);
      });
    });

    describe('reach', () => {
      const scoped = {
        limits: [limit('caller', 5)],
        targetLimits: targets('target:asked', targetHit('reach', 5)),
      };
      /** The count of the scoped target limit: by the user when found, else by the name as asked. */
      const reachCount = (userId: number | null): Promise<number> =>
        peek(`${userId === null ? 'target:asked' : targetStem(userId)}:reach`);

      it('lets a scoped caller reset its own password', async () => {
        const user = await store.users.create(alice);
        const reach = { self: user.userId, accountIds: [99] };
        const result = await flow.requestReset(
          resetRequest(byName('alice'), newPendingCode(), { ...scoped, reach }),
        );
        expect(result).toMatchObject({ outcome: 'queued', targetUserId: user.userId });
        expect([await peek('caller'), await reachCount(user.userId)]).toEqual([1, 1]);
      });

      it('lets a scoped caller reach a user sharing one of its accounts', async () => {
        const target = await store.users.create(bob);
        const caller = await store.users.create(carol);
        const code = newPendingCode();
        const reach = { self: caller.userId, accountIds: caller.accountIds };
        const result = await flow.requestReset(resetRequest(byName('BOB'), code, { ...scoped, reach }));
        expect(result).toMatchObject({ outcome: 'queued', targetUserId: target.userId });
        expect(await resets.checkCode(target.userId, hashPendingCode(code))).toBe('valid');
        expect([await peek('caller'), await reachCount(target.userId)]).toEqual([1, 1]);
      });

      it("answers out of reach for a user of another account, counting the caller's limits but not the reach limits", async () => {
        const caller = await store.users.create(carol);
        const target = await store.users.create(dave);
        const code = newPendingCode();
        const reach = { self: caller.userId, accountIds: caller.accountIds };
        const result = await flow.requestReset(
          resetRequest(byEmail('Dave@example.com'), code, { ...scoped, reach }),
        );
        expect(result).toEqual({
          outcome: 'out of reach',
          targetUserId: target.userId,
          retryAfterSeconds: 0,
          audit: {
            ...REQUEST_AUDIT,
            targetUserId: target.userId,
            outcome: 'refused',
            reason: 'out of reach',
          },
        });
        expect([await peek('caller'), await reachCount(target.userId), await reachCount(null)]).toEqual([
          1, 0, 0,
        ]);
        expect(await resets.checkCode(target.userId, hashPendingCode(code))).toBe('none');
        expect(await resets.queuedMailCount()).toBe(0);
        expect(queuedNotices).toBe(0);
        expect(await refused()).toEqual([result.audit]);
      });

      it('answers unknown for a name nobody has under a scoped reach, without counting the reach limits', async () => {
        const caller = await store.users.create(carol);
        const reach = { self: caller.userId, accountIds: caller.accountIds };
        const result = await flow.requestReset(
          resetRequest(byName('mallory'), newPendingCode(), { ...scoped, reach }),
        );
        expect(result).toEqual({
          outcome: 'unknown',
          targetUserId: null,
          retryAfterSeconds: 0,
          audit: { ...REQUEST_AUDIT, targetUserId: null, outcome: 'refused', reason: 'unknown user name' },
        });
        expect([await peek('caller'), await reachCount(null)]).toEqual([1, 0]);
        expect(await resets.queuedMailCount()).toBe(0);
      });
    });

    describe('changePassword', () => {
      /** A user with a live code from requestReset and its reset mail already sent. */
      async function userWithCode(newUser: NewUser): Promise<{ user: UserRecord; code: string }> {
        const user = await store.users.create(newUser);
        const code = newPendingCode();
        await flow.requestReset(resetRequest(byName(newUser.userName), code));
        await deliverAll();
        return { user, code };
      }

      it('sets the new hash, ends every session of the user, uses the code, queues the mail and audits', async () => {
        const { user, code } = await userWithCode(alice);
        const other = await store.users.create(bob);
        const sessions = ['a', 'b', 'c'].map((c) => c.repeat(64));
        for (const id of sessions) await store.sessions.create(id, user.userId, SESSION_TTL_MS);
        const othersSession = 'd'.repeat(64);
        await store.sessions.create(othersSession, other.userId, SESSION_TTL_MS);

        const result = await flow.changePassword(passwordChange(user, code));
        expect(result).toEqual({
          outcome: 'changed',
          sessionsEnded: 3,
          audit: {
            ...CHANGE_AUDIT,
            targetUserId: user.userId,
            outcome: 'ok',
            reason: 'password changed; 3 session(s) ended',
          },
        });
        expect((await store.users.get(user.userId))?.passwordHash).toBe('$argon2id$new');
        for (const id of sessions) expect(await store.sessions.touch(id, SESSION_TTL_MS)).toBeNull();
        expect(await store.sessions.touch(othersSession, SESSION_TTL_MS)).toBe(other.userId);
        expect(await claimAll()).toEqual([changedMail(user)]);
        expect(queuedNotices).toBe(2);
        expect(await resets.recentAudit(1)).toEqual([result.audit]);

        // the code is used: a second change with it finds none
        expect(
          await flow.changePassword(passwordChange(user, code, { passwordHash: '$argon2id$again' })),
        ).toEqual({
          outcome: 'none',
          sessionsEnded: 0,
          audit: null,
        });
        expect((await store.users.get(user.userId))?.passwordHash).toBe('$argon2id$new');
      });

      it('ends no session and says so when the user has none', async () => {
        const { user, code } = await userWithCode(alice);
        const result = await flow.changePassword(passwordChange(user, code));
        expect(result).toMatchObject({ outcome: 'changed', sessionsEnded: 0 });
        expect(result.audit?.reason).toBe('password changed; 0 session(s) ended');
      });

      it("refuses a wrong code without changing anything; an address's maxWrongTries spend only its own tries", async () => {
        const { user, code } = await userWithCode(alice);
        await store.sessions.create('a'.repeat(64), user.userId, SESSION_TTL_MS);
        const wrong = passwordChange(user, newPendingCode(), { maxWrongTries: 3 });
        for (let i = 0; i < 3; i += 1) {
          expect(await flow.changePassword(wrong)).toEqual({
            outcome: 'wrong',
            sessionsEnded: 0,
            audit: null,
          });
        }
        expect((await store.users.get(user.userId))?.passwordHash).toBe('$argon2id$old-alice');
        expect(await store.sessions.touch('a'.repeat(64), SESSION_TTL_MS)).toBe(user.userId);
        expect(await resets.queuedMailCount()).toBe(0);
        expect(await resets.recentAudit(10)).toHaveLength(1);

        // that address has spent its tries on this code: even the right code is refused from it
        expect(await flow.changePassword(passwordChange(user, code, { maxWrongTries: 3 }))).toMatchObject({
          outcome: 'wrong',
        });
        expect((await store.users.get(user.userId))?.passwordHash).toBe('$argon2id$old-alice');
        // and the code is still live for everyone else: the owner's link works
        expect(
          await flow.changePassword(passwordChange(user, code, { maxWrongTries: 3, from: '198.51.100.7' })),
        ).toMatchObject({ outcome: 'changed' });
        expect((await store.users.get(user.userId))?.passwordHash).toBe('$argon2id$new');
      });

      it("lets the owner's mailed code work after 50 wrong codes for the user from a stranger's address", async () => {
        const { user, code } = await userWithCode(alice);
        for (let i = 0; i < 50; i += 1) {
          const guess = passwordChange(user, newPendingCode(), { from: '203.0.113.66' });
          expect(await flow.changePassword(guess)).toMatchObject({ outcome: 'wrong' });
        }
        expect(await flow.changePassword(passwordChange(user, code, { from: '198.51.100.7' }))).toMatchObject(
          {
            outcome: 'changed',
          },
        );
      });

      it('keeps the record of a password change through a flood of refusals from many callers', async () => {
        const { user, code } = await userWithCode(alice);
        const change = await flow.changePassword(passwordChange(user, code));
        expect(change.outcome).toBe('changed');
        // more refused requests than the audit stream keeps (AUDIT_MAXLEN), from 20 callers
        for (let i = 0; i < AUDIT_MAXLEN * 2; i += 1) {
          const audit = { ...REQUEST_AUDIT, caller: `address:198.51.100.${i % 20}` };
          expect(
            (await flow.requestReset(resetRequest(byName(`nobody-${i}`), newPendingCode(), { audit })))
              .outcome,
          ).toBe('unknown');
        }
        const kept = await resets.recentAudit(AUDIT_MAXLEN);
        expect(kept).toContainEqual(change.audit);
        expect(kept.every((event) => event.outcome === 'ok')).toBe(true);
        // the refusals: one record per caller and window, each with its count
        const refusals = await resets.recentRefusals(AUDIT_MAXLEN);
        expect(refusals).toHaveLength(20);
        expect(refusals.map((record) => record.count)).toEqual(Array.from({ length: 20 }, () => 10));
      });

      it('answers none when the user has no code', async () => {
        const user = await store.users.create(alice);
        expect(await flow.changePassword(passwordChange(user, newPendingCode()))).toEqual({
          outcome: 'none',
          sessionsEnded: 0,
          audit: null,
        });
        expect((await store.users.get(user.userId))?.passwordHash).toBe('$argon2id$old-alice');
        expect(await resets.queuedMailCount()).toBe(0);
        expect(await resets.recentAudit(10)).toEqual([]);
      });

      it('answers none for a live code whose user is gone, using the code and queuing nothing', async () => {
        const gone: Named = { userId: 999, userName: 'ghost', email: 'ghost@example.com' };
        const code = newPendingCode();
        await resets.issueCode(gone.userId, hashPendingCode(code), 60_000, changedMail(gone));
        await deliverAll();
        expect(await flow.changePassword(passwordChange(gone, code))).toEqual({
          outcome: 'none',
          sessionsEnded: 0,
          audit: null,
        });
        expect(await store.users.get(gone.userId)).toBeNull();
        expect(await resets.checkCode(gone.userId, hashPendingCode(code))).toBe('none');
        expect(await resets.queuedMailCount()).toBe(0);
        expect(await resets.recentAudit(10)).toEqual([]);
      });

      it('lets exactly one of 20 concurrent changes with the right code through', async () => {
        const { user, code } = await userWithCode(alice);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            flow.changePassword(passwordChange(user, code, { passwordHash: `$argon2id$new-${i}` })),
          ),
        );
        const changed = results.flatMap((result, i) => (result.outcome === 'changed' ? [i] : []));
        expect(changed).toHaveLength(1);
        expect(results.filter((result) => result.outcome === 'none')).toHaveLength(19);
        expect((await store.users.get(user.userId))?.passwordHash).toBe(`$argon2id$new-${changed[0]}`);
        expect(await resets.queuedMailCount()).toBe(1);
        expect(await resets.recentAudit(10)).toHaveLength(2);
      });
    });
  });
}

describeResetFlow('memory', () => {
  const clock = new ManualClock();
  const store = createMemoryStore(clock);
  const resets = new MemoryResetStore(clock, { auditMaxLen: AUDIT_MAXLEN });
  return {
    store,
    resets,
    flow: composeResetFlow(store, resets),
    close: async () => {
      await resets.close();
      await store.close();
    },
  };
});

describeResetFlow('redis', () =>
  redisFlow({ topology: singleNode(testRedisUrl()), prefix: uniquePrefix(), commandTimeoutMs: 2000 }),
);

/** The flow as openStores wires it (gateway/server/server.ts): one connection, owned and closed by the store. */
function redisFlow(options: RedisOptions): Harness {
  const redis = connectRedis(options, 'test');
  const store = createRedisStore(options, createLogger('silent'), redis);
  const resets = new RedisResetStore(redis, { auditMaxLen: AUDIT_MAXLEN });
  const onQueued = (): void => resets.noteQueued();
  return {
    store,
    resets,
    flow: new RedisResetFlow(redis, { auditMaxLen: AUDIT_MAXLEN, onQueued }),
    close: async () => {
      await resets.close();
      await store.close();
    },
  };
}

describe('redis with sentinels', () => {
  const sentinel = useTestSentinel();
  describeResetFlow('redis with sentinels', () => redisFlow(sentinel.options(uniquePrefix())));
});

describe('redis cluster (3 primaries)', () => {
  const cluster = useTestCluster();
  describeResetFlow('redis cluster (3 primaries)', () => redisFlow(cluster.options(uniquePrefix())));

  it('sends Redis the same commands for a name nobody has as for a user, as on one node: no extra round trip tells them apart', async () => {
    const options = cluster.options(uniquePrefix());
    const redis = connectRedis(options, 'test');
    const store = createRedisStore(options, createLogger('silent'), redis);
    const flow = new RedisResetFlow(redis, { auditMaxLen: AUDIT_MAXLEN, onQueued: () => {} });
    // what the command connection is asked to send
    if (!(redis instanceof Cluster)) throw new Error('a cluster client');
    const sent: string[] = [];
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (...args: Parameters<Cluster['sendCommand']>) => {
      sent.push(args[0].name);
      return send(...args);
    };
    /** The commands of one operator's ResetPassword for `name`, with the target limits the handler counts. */
    const commandsOf = async (name: string): Promise<string[]> => {
      const request = resetRequest(byName(name), newPendingCode(), {
        // core/reset-limits.ts targetLimits(): the stem of what was asked, an interval and an hourly limit
        targetLimits: {
          unknownStem: `reset:target:${name}`,
          hits: [
            { suffix: 'interval', limit: 1, windowSeconds: 60 },
            { suffix: 'hour', limit: 5, windowSeconds: 3600 },
          ],
        },
      });
      sent.length = 0;
      await flow.requestReset(request);
      return [...sent].sort();
    };
    try {
      await store.users.create({ userName: 'known', email: 'known@example.com' });
      const known = await commandsOf('known');
      expect(known.filter((name) => name === 'evalsha').length).toBeGreaterThan(2);
      expect(await commandsOf('nobody-by-this-name')).toEqual(known);
    } finally {
      await store.close();
    }
  });

  it('spreads the keys of one deployment over every primary: users, sessions, codes, limits and mail shards', async () => {
    const prefix = uniquePrefix();
    const harness = redisFlow(cluster.options(prefix));
    const { store, flow } = harness;
    try {
      for (let i = 0; i < 12; i++) {
        const user = await store.users.create({ userName: `spread${i}`, email: `spread${i}@example.com` });
        await store.sessions.create(`${i}`.padStart(64, 'a'), user.userId, 60_000);
        const code = newPendingCode();
        expect((await flow.requestReset(resetRequest(byName(`spread${i}`), code))).outcome).toBe('queued');
      }
      // every primary holds some of this prefix's keys (a shared cluster holds other files' keys too)
      const primaries = await cluster.dataNodes();
      expect(primaries).toHaveLength(3);
      for (const admin of primaries) {
        const [, found] = await admin.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 100_000);
        expect(found.length).toBeGreaterThan(0);
      }
    } finally {
      await harness.close();
    }
  });
});
