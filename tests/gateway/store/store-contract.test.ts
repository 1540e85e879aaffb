// One contract for both stores (Hono's runTest pattern): the same suite runs on the embedded store and on Redis.
import { singleNode } from '../../../gateway/stores/redis/connection';
import { ManualClock } from '../../../core/ports/clock';
import { createLogger } from '../../../gateway/logger';
import { createMemoryStore } from '../../../gateway/stores/memory/memory-store';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../../gateway/stores/redis/redis-store';
import { DuplicateUserError } from '../../../core/ports/store';
import type { SessionRevocation, Store } from '../../../core/ports/store';
import { testRedisUrl, uniquePrefix } from '../../support/gateway';
import { useTestCluster, useTestSentinel } from '../../support/redis-test-topologies';

interface StoreUnderTest {
  readonly store: Store;
  /** Lets `ms` pass for the store's TTLs: a manual clock moves, or real time passes (Redis). */
  letTimePass(ms: number): Promise<void>;
}

const SESSION_A = 'a'.repeat(64);
const SESSION_B = 'b'.repeat(64);
const SESSION_C = 'c'.repeat(64);
const SESSION_D = 'd'.repeat(64);
const SESSION_E = 'e'.repeat(64);
const SESSION_F = 'f'.repeat(64);

function runStoreContract(kind: string, open: () => StoreUnderTest): void {
  describe(`${kind} store contract`, () => {
    let subject: StoreUnderTest;
    let store: Store;

    beforeEach(() => {
      subject = open();
      store = subject.store;
    });
    afterEach(() => store.close());

    const alice = { userName: 'Alice', email: 'Alice@Example.com', passwordHash: '$argon2id$fake' };

    describe('users', () => {
      it('assigns UserIds from 1 and returns the user with its defaults', async () => {
        const first = await store.users.create(alice);
        const second = await store.users.create({ userName: 'bob', email: 'bob@example.com' });
        expect(first).toEqual({
          userId: 1,
          userName: 'Alice',
          email: 'Alice@Example.com',
          emailVerified: false,
          passwordHash: '$argon2id$fake',
          locked: false,
          permissions: [],
          accountIds: [],
          accountId: 0,
          omsId: 1,
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          language: null,
        });
        expect(second.userId).toBe(2);
        expect(second.passwordHash).toBeNull();
      });

      it('keeps permissions and accounts sorted, with the first account as default', async () => {
        const user = await store.users.create({
          ...alice,
          emailVerified: true,
          permissions: ['Trading', 'AccountReadOnly', 'Trading'],
          accountIds: [7, 3],
        });
        expect(user.permissions).toEqual(['AccountReadOnly', 'Trading']);
        expect(user.accountIds).toEqual([3, 7]);
        expect(user.accountId).toBe(7);
        expect(user.emailVerified).toBe(true);
        expect(await store.users.get(user.userId)).toEqual(user);
      });

      it('refuses a user name or e-mail already taken, compared case-insensitively', async () => {
        await store.users.create(alice);
        await expect(store.users.create({ userName: 'ALICE', email: 'other@example.com' })).rejects.toEqual(
          new DuplicateUserError('UserName'),
        );
        const duplicateEmail = store.users.create({ userName: 'alice2', email: 'alice@EXAMPLE.com' });
        await expect(duplicateEmail).rejects.toBeInstanceOf(DuplicateUserError);
        await expect(duplicateEmail).rejects.toMatchObject({ field: 'Email' });
        expect(await store.users.list()).toHaveLength(1);
      });

      it('finds users by name and e-mail case-insensitively, and by id', async () => {
        const created = await store.users.create(alice);
        expect(await store.users.findByName('aLiCe')).toEqual(created);
        expect(await store.users.findByEmail('ALICE@example.COM')).toEqual(created);
        expect(await store.users.get(created.userId)).toEqual(created);
        expect(await store.users.findByName('nobody')).toBeNull();
        expect(await store.users.findByEmail('nobody@example.com')).toBeNull();
        expect(await store.users.get(99)).toBeNull();
      });

      it('lists users by UserId', async () => {
        await store.users.create(alice);
        await store.users.create({ userName: 'bob', email: 'bob@example.com' });
        expect((await store.users.list()).map((user) => user.userName)).toEqual(['Alice', 'bob']);
      });

      it('changes password hash, lock, e-mail verification, permissions and accounts', async () => {
        const { userId } = await store.users.create(alice);
        expect((await store.users.setPasswordHash(userId, '$argon2id$new'))?.passwordHash).toBe(
          '$argon2id$new',
        );
        expect((await store.users.setLocked(userId, true))?.locked).toBe(true);
        expect((await store.users.setLocked(userId, false))?.locked).toBe(false);
        expect((await store.users.setEmailVerified(userId, true))?.emailVerified).toBe(true);
        expect((await store.users.grant(userId, 'Operator'))?.permissions).toEqual(['Operator']);
        expect((await store.users.grant(userId, 'GetUserInfo'))?.permissions).toEqual([
          'GetUserInfo',
          'Operator',
        ]);
        expect((await store.users.revoke(userId, 'Operator'))?.permissions).toEqual(['GetUserInfo']);
        const withAccount = await store.users.addAccount(userId, 5);
        expect(withAccount).toMatchObject({ accountIds: [5], accountId: 5 });
        const withTwo = await store.users.addAccount(userId, 2);
        expect(withTwo).toMatchObject({ accountIds: [2, 5], accountId: 5 });
        expect(await store.users.get(userId)).toEqual(withTwo);
      });

      it('keeps a Language given at creation, changes it and clears it', async () => {
        const hans = await store.users.create({
          userName: 'hans',
          email: 'hans@example.com',
          language: 'de',
        });
        expect(hans.language).toBe('de');
        expect(await store.users.findByName('HANS')).toEqual(hans);
        expect((await store.users.setLanguage(hans.userId, 'fr'))?.language).toBe('fr');
        expect((await store.users.findByEmail('hans@example.com'))?.language).toBe('fr');
        const cleared = await store.users.setLanguage(hans.userId, null);
        expect(cleared).toEqual({ ...hans, language: null });
        expect(await store.users.get(hans.userId)).toEqual(cleared);
        expect(await store.users.setLanguage(42, 'de')).toBeNull();
      });

      it('answers null when changing a user that does not exist', async () => {
        expect(await store.users.setPasswordHash(42, 'x')).toBeNull();
        expect(await store.users.setLocked(42, true)).toBeNull();
        expect(await store.users.grant(42, 'Operator')).toBeNull();
        expect(await store.users.revoke(42, 'Operator')).toBeNull();
        expect(await store.users.addAccount(42, 1)).toBeNull();
        expect(await store.users.list()).toEqual([]);
      });
    });

    describe('sessions', () => {
      it('resolves a session to its user until it is revoked', async () => {
        await store.sessions.create(SESSION_A, 1, 60_000);
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBe(1);
        expect(await store.sessions.revoke(SESSION_A)).toBe(true);
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBeNull();
        expect(await store.sessions.revoke(SESSION_A)).toBe(false);
        expect(await store.sessions.touch(SESSION_B, 60_000)).toBeNull();
      });

      it('resumes a session to its user record in one step, touching it, until it is revoked', async () => {
        const user = await store.users.create({
          userName: 'resumer',
          email: 'resumer@example.com',
          permissions: ['Trading'],
          accountIds: [3],
        });
        await store.sessions.create(SESSION_A, user.userId, 200);
        expect(await store.sessions.resume(SESSION_A, 60_000)).toEqual(user);
        // the resume refreshed the idle TTL past the 200 ms the session started with
        await subject.letTimePass(400);
        expect(await store.sessions.resume(SESSION_A, 60_000)).toEqual(user);
        expect(await store.sessions.resume(SESSION_B, 60_000)).toBeNull();
        await store.sessions.create(SESSION_C, 4242, 60_000);
        expect(await store.sessions.resume(SESSION_C, 60_000)).toBeNull();
        await store.sessions.revoke(SESSION_A);
        expect(await store.sessions.resume(SESSION_A, 60_000)).toBeNull();
      });

      it('ends an idle session after its TTL, and a touch pushes the end back', async () => {
        await store.sessions.create(SESSION_A, 1, 200);
        await store.sessions.create(SESSION_B, 1, 200);
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBe(1);
        await subject.letTimePass(400);
        expect(await store.sessions.touch(SESSION_B, 60_000)).toBeNull();
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBe(1);
      });

      it("ends all of a user's sessions at once and tells every listener which ones", async () => {
        const heard: SessionRevocation[] = [];
        const revocationHeard = new Promise<void>((resolve) =>
          store.sessions.onRevoked((revocation) => {
            heard.push(revocation);
            resolve();
          }),
        );
        await store.sessions.whenListening();
        await store.sessions.create(SESSION_A, 1, 60_000);
        await store.sessions.create(SESSION_B, 1, 60_000);
        await store.sessions.create(SESSION_C, 2, 60_000);
        expect(await store.sessions.revokeAllForUser(1)).toBe(2);
        await revocationHeard;
        expect(heard).toHaveLength(1);
        expect(heard[0]!.userId).toBe(1);
        expect([...heard[0]!.sessionIds].sort()).toEqual([SESSION_A, SESSION_B]);
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBeNull();
        expect(await store.sessions.touch(SESSION_B, 60_000)).toBeNull();
        expect(await store.sessions.touch(SESSION_C, 60_000)).toBe(2);
      });

      it('publishes the single session that LogOut ends', async () => {
        const heard = new Promise<SessionRevocation>((resolve) => store.sessions.onRevoked(resolve));
        await store.sessions.whenListening();
        await store.sessions.create(SESSION_A, 3, 60_000);
        await store.sessions.revoke(SESSION_A);
        expect(await heard).toEqual({ userId: 3, sessionIds: [SESSION_A] });
        expect(await store.sessions.revokeAllForUser(3)).toBe(0);
      });

      it('keeps at most maxPerUser live sessions, ending the least recently used and telling the listeners', async () => {
        const heard: SessionRevocation[] = [];
        const heardBoth = new Promise<void>((resolve) =>
          store.sessions.onRevoked((revocation) => {
            heard.push(revocation);
            if (heard.length === 2) resolve();
          }),
        );
        await store.sessions.whenListening();
        // idle time left decides: A has the least, B the most once it is touched
        expect(await store.sessions.create(SESSION_A, 1, 30_000, 3)).toBe(0);
        expect(await store.sessions.create(SESSION_B, 1, 60_000, 3)).toBe(0);
        expect(await store.sessions.create(SESSION_C, 1, 90_000, 3)).toBe(0);
        expect(await store.sessions.create(SESSION_D, 2, 60_000, 3)).toBe(0);
        expect(await store.sessions.create(SESSION_E, 1, 60_000, 3)).toBe(1);
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBeNull();
        expect(await store.sessions.touch(SESSION_B, 120_000)).toBe(1);
        expect(await store.sessions.create(SESSION_F, 1, 60_000, 3)).toBe(1);
        // of B (touched: 120 s left), C (~90 s) and E (~60 s), E had the least idle time left
        expect(await store.sessions.touch(SESSION_E, 60_000)).toBeNull();
        for (const live of [SESSION_B, SESSION_C, SESSION_F]) {
          expect(await store.sessions.touch(live, 60_000)).toBe(1);
        }
        expect(await store.sessions.touch(SESSION_D, 60_000)).toBe(2);
        await heardBoth;
        expect(heard).toEqual([
          { userId: 1, sessionIds: [SESSION_A] },
          { userId: 1, sessionIds: [SESSION_E] },
        ]);
      });

      it('does not count sessions that already expired against maxPerUser', async () => {
        await store.sessions.create(SESSION_A, 1, 100, 2);
        await store.sessions.create(SESSION_B, 1, 60_000, 2);
        await subject.letTimePass(300);
        expect(await store.sessions.create(SESSION_C, 1, 60_000, 2)).toBe(0);
        expect(await store.sessions.touch(SESSION_B, 60_000)).toBe(1);
        expect(await store.sessions.touch(SESSION_C, 60_000)).toBe(1);
      });

      it('ends a session at its absolute lifetime even while it is used', async () => {
        await store.sessions.start({ sessionId: SESSION_A, userId: 1, ttlMs: 60_000, maxLifetimeMs: 600 });
        await store.sessions.start({ sessionId: SESSION_B, userId: 1, ttlMs: 60_000 });
        await subject.letTimePass(300);
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBe(1);
        await subject.letTimePass(400);
        // used 300 ms ago with a 60 s idle TTL: only the lifetime can have ended it
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBeNull();
        expect(await store.sessions.touch(SESSION_B, 60_000)).toBe(1);
        expect(await store.sessions.revoke(SESSION_A)).toBe(false);
      });

      it('revokes a session with a lifetime like any other', async () => {
        const heard = new Promise<SessionRevocation>((resolve) => store.sessions.onRevoked(resolve));
        await store.sessions.whenListening();
        await store.sessions.start({ sessionId: SESSION_A, userId: 4, ttlMs: 60_000, maxLifetimeMs: 60_000 });
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBe(4);
        expect(await store.sessions.revoke(SESSION_A)).toBe(true);
        expect(await heard).toEqual({ userId: 4, sessionIds: [SESSION_A] });
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBeNull();
      });

      it('starts a session bound to a password hash only while the user still has that hash', async () => {
        const user = await store.users.create(alice);
        const bound = { userId: user.userId, ttlMs: 60_000, passwordHash: alice.passwordHash };
        expect(await store.sessions.start({ ...bound, sessionId: SESSION_A })).toEqual({
          started: true,
          ended: 0,
        });
        await store.users.setPasswordHash(user.userId, '$argon2id$changed');
        expect(await store.sessions.start({ ...bound, sessionId: SESSION_B })).toEqual({
          started: false,
          ended: 0,
        });
        expect(await store.sessions.touch(SESSION_B, 60_000)).toBeNull();
        expect(await store.sessions.touch(SESSION_A, 60_000)).toBe(user.userId);
        const gone = { ...bound, userId: user.userId + 1000, sessionId: SESSION_C };
        expect((await store.sessions.start(gone)).started).toBe(false);
      });

      it('leaves no session from logins racing a password change and the revocation after it', async () => {
        const user = await store.users.create(alice);
        const ids = Array.from({ length: 40 }, (_, index) => index.toString(16).padStart(64, '0'));
        // every login verified the old hash; half reach the store before the change, half after its first step
        const start = (sessionId: string) =>
          store.sessions.start({
            sessionId,
            userId: user.userId,
            ttlMs: 60_000,
            passwordHash: alice.passwordHash,
          });
        const before = ids.slice(0, 20).map(start);
        const change = (async () => {
          await store.users.setPasswordHash(user.userId, '$argon2id$changed');
          await store.sessions.revokeAllForUser(user.userId);
        })();
        const after = ids.slice(20).map(start);
        const [early, late] = await Promise.all([Promise.all(before), Promise.all(after), change]);
        expect(early.every((result) => result.started)).toBe(true);
        expect(late.every((result) => !result.started)).toBe(true);
        const live = await Promise.all(ids.map((id) => store.sessions.touch(id, 60_000)));
        expect(live.filter((userId) => userId !== null)).toEqual([]);
      });

      it('does not count sessions that already expired when ending them all', async () => {
        await store.sessions.create(SESSION_A, 1, 100);
        await store.sessions.create(SESSION_B, 1, 60_000);
        await subject.letTimePass(300);
        expect(await store.sessions.revokeAllForUser(1)).toBe(1);
      });
    });

    describe('API keys', () => {
      it('keeps a key with its secret, per user', async () => {
        await store.apiKeys.create(1, 'key1', 'secret1');
        expect(await store.apiKeys.get(1, 'key1')).toEqual({
          userId: 1,
          apiKey: 'key1',
          secret: 'secret1',
          lastNonce: 0,
        });
        expect(await store.apiKeys.get(2, 'key1')).toBeNull();
        expect(await store.apiKeys.get(1, 'other')).toBeNull();
      });

      it('accepts only nonces greater than the last one used with the key', async () => {
        await store.apiKeys.create(1, 'key1', 'secret1');
        expect(await store.apiKeys.useNonce(1, 'key1', 1000)).toBe(true);
        expect(await store.apiKeys.useNonce(1, 'key1', 1000)).toBe(false);
        expect(await store.apiKeys.useNonce(1, 'key1', 999)).toBe(false);
        expect(await store.apiKeys.useNonce(1, 'key1', 1_700_000_000_001)).toBe(true);
        expect((await store.apiKeys.get(1, 'key1'))?.lastNonce).toBe(1_700_000_000_001);
        expect(await store.apiKeys.useNonce(1, 'missing', 5)).toBe(false);
      });

      it("lists a user's key ids, sorted, and only that user's", async () => {
        expect(await store.apiKeys.list(1)).toEqual([]);
        await store.apiKeys.create(1, 'key2', 'secret2');
        await store.apiKeys.create(1, 'key1', 'secret1');
        await store.apiKeys.create(2, 'key3', 'secret3');
        expect(await store.apiKeys.list(1)).toEqual(['key1', 'key2']);
        expect(await store.apiKeys.list(2)).toEqual(['key3']);
      });

      it('revokes one key: it is gone with its secret and nonces, the others stay', async () => {
        await store.apiKeys.create(1, 'key1', 'secret1');
        await store.apiKeys.create(1, 'key2', 'secret2');
        expect(await store.apiKeys.useNonce(1, 'key1', 5)).toBe(true);
        expect(await store.apiKeys.revoke(1, 'key1')).toBe(true);
        expect(await store.apiKeys.get(1, 'key1')).toBeNull();
        expect(await store.apiKeys.useNonce(1, 'key1', 6)).toBe(false);
        expect(await store.apiKeys.list(1)).toEqual(['key2']);
        expect(await store.apiKeys.get(1, 'key2')).toMatchObject({ secret: 'secret2' });
        expect(await store.apiKeys.revoke(1, 'key1')).toBe(false);
        expect(await store.apiKeys.revoke(2, 'key2')).toBe(false);
        expect(await store.apiKeys.list(1)).toEqual(['key2']);
      });
    });

    describe('API tokens', () => {
      const HASH_A = 'd'.repeat(64);
      const HASH_B = 'e'.repeat(64);

      it('finds a token by its hash with its name and entries, sorted and without duplicates', async () => {
        const created = await store.apiTokens.create(HASH_A, {
          name: 'Partner portal',
          entries: ['pilgrim', 'acme', 'pilgrim'],
        });
        expect(created).toEqual({
          tokenHash: HASH_A,
          name: 'Partner portal',
          entries: ['acme', 'pilgrim'],
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        });
        expect(await store.apiTokens.findByHash(HASH_A)).toEqual(created);
      });

      it('keeps a token without entries as allowed any entry, and knows no other hash', async () => {
        await store.apiTokens.create(HASH_B, { name: 'backoffice' });
        expect((await store.apiTokens.findByHash(HASH_B))?.entries).toEqual([]);
        expect(await store.apiTokens.findByHash(HASH_A)).toBeNull();
      });

      it('lists every token by name, with its entries and creation time', async () => {
        expect(await store.apiTokens.list()).toEqual([]);
        const portal = await store.apiTokens.create(HASH_A, { name: 'portal', entries: ['acme'] });
        const backoffice = await store.apiTokens.create(HASH_B, { name: 'backoffice' });
        expect(await store.apiTokens.list()).toEqual([backoffice, portal]);
      });

      it('revokes every token with a name, and only those: they are no longer found', async () => {
        const HASH_C = 'f'.repeat(64);
        await store.apiTokens.create(HASH_A, { name: 'portal' });
        await store.apiTokens.create(HASH_B, { name: 'portal', entries: ['acme'] });
        const kept = await store.apiTokens.create(HASH_C, { name: 'Portal' });
        expect(await store.apiTokens.revokeByName('portal')).toBe(2);
        expect(await store.apiTokens.findByHash(HASH_A)).toBeNull();
        expect(await store.apiTokens.findByHash(HASH_B)).toBeNull();
        expect(await store.apiTokens.list()).toEqual([kept]);
        expect(await store.apiTokens.revokeByName('portal')).toBe(0);
      });
    });

    describe('rate limits', () => {
      it('peeks without counting, and refuses once the limit is used up until reset', async () => {
        expect(await store.limits.peek('k', 2)).toMatchObject({ allowed: true, count: 0 });
        await store.limits.hit('k', 2, 60);
        expect(await store.limits.peek('k', 2)).toMatchObject({ allowed: true, count: 1 });
        await store.limits.hit('k', 2, 60);
        const blocked = await store.limits.peek('k', 2);
        expect(blocked.allowed).toBe(false);
        expect(blocked.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(blocked.retryAfterSeconds).toBeLessThanOrEqual(60);
        await store.limits.reset('k');
        expect(await store.limits.peek('k', 2)).toMatchObject({ allowed: true, count: 0 });
      });

      it('counts several limits in order in one step and stops at the first that refuses', async () => {
        const hits = [
          { key: 'caller', limit: 3, windowSeconds: 60 },
          { key: 'target', limit: 1, windowSeconds: 60 },
          { key: 'hour', limit: 5, windowSeconds: 3600 },
        ];
        expect(await store.limits.hitAll(hits)).toEqual({ allowed: true, count: 1, retryAfterSeconds: 0 });
        const refused = await store.limits.hitAll(hits);
        expect(refused).toMatchObject({ allowed: false, count: 2 });
        expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
        // the refusal came from 'target': 'hour' was not charged for it, 'caller' was
        expect(await store.limits.peek('hour', 5)).toMatchObject({ count: 1 });
        expect(await store.limits.peek('caller', 3)).toMatchObject({ count: 2 });
        expect(await store.limits.hitAll([])).toEqual({ allowed: true, count: 0, retryAfterSeconds: 0 });
      });

      it('reserves a hit on every limit or on none, and refunds one', async () => {
        const hits = [
          { key: 'pair', limit: 2, windowSeconds: 60 },
          { key: 'address', limit: 3, windowSeconds: 60 },
        ];
        expect(await store.limits.reserve(hits)).toEqual({ allowed: true, count: 1, retryAfterSeconds: 0 });
        expect(await store.limits.reserve(hits)).toEqual({ allowed: true, count: 2, retryAfterSeconds: 0 });
        const refused = await store.limits.reserve(hits);
        expect(refused).toMatchObject({ allowed: false, count: 2 });
        expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
        // the refusal counted nothing, not even on the key with room left
        expect(await store.limits.peek('address', 3)).toMatchObject({ count: 2 });
        await store.limits.refund(['pair', 'address']);
        expect(await store.limits.peek('pair', 2)).toMatchObject({ count: 1 });
        expect(await store.limits.peek('address', 3)).toMatchObject({ count: 1 });
        await store.limits.refund(['pair', 'pair', 'never-hit']);
        expect(await store.limits.peek('pair', 2)).toMatchObject({ count: 0 });
        expect(await store.limits.peek('never-hit', 2)).toMatchObject({ count: 0 });
        expect(await store.limits.reserve([])).toEqual({ allowed: true, count: 0, retryAfterSeconds: 0 });
      });

      it('lets no more reservations through than the limit when they arrive at once', async () => {
        const hits = [{ key: 'burst', limit: 10, windowSeconds: 60 }];
        const decisions = await Promise.all(Array.from({ length: 100 }, () => store.limits.reserve(hits)));
        expect(decisions.filter((decision) => decision.allowed)).toHaveLength(10);
        expect(await store.limits.peek('burst', 10)).toMatchObject({ count: 10, allowed: false });
      });

      it('forgets failures when the window ends', async () => {
        await store.limits.hit('w', 1, 1);
        expect((await store.limits.peek('w', 1)).allowed).toBe(false);
        await subject.letTimePass(1200);
        expect((await store.limits.peek('w', 1)).allowed).toBe(true);
      });
    });
  });
}

runStoreContract('memory', () => {
  const clock = new ManualClock();
  return {
    store: createMemoryStore(clock),
    letTimePass: (ms) => {
      clock.advance(ms);
      return Promise.resolve();
    },
  };
});

runStoreContract('redis', () => ({
  store: createRedisStore(
    { topology: singleNode(testRedisUrl()), prefix: uniquePrefix(), commandTimeoutMs: 2000 },
    createLogger('silent'),
  ),
  // Redis TTLs run on its own clock: only real time passes them (the TTLs in this suite are short)
  letTimePass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
}));

for (const [name, useTopology] of [
  ['redis cluster (3 primaries)', useTestCluster],
  ['redis with sentinels', useTestSentinel],
] as const) {
  describe(name, () => {
    const topology = useTopology();
    runStoreContract(name, () => ({
      store: createRedisStore(topology.options(uniquePrefix()), createLogger('silent')),
      letTimePass: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }));
  });
}

describe('redis store: users written before the Language field', () => {
  it('reads a user hash without a language, or with one no catalogue has, as none', async () => {
    const prefix = uniquePrefix();
    const store = createRedisStore(
      { topology: singleNode(testRedisUrl()), prefix, commandTimeoutMs: 2000 },
      createLogger('silent'),
    );
    const redis = new Redis(testRedisUrl());
    try {
      const { userId } = await store.users.create({
        userName: 'old',
        email: 'old@example.com',
        language: 'de',
      });
      await redis.hdel(`${prefix}user:{${userId}}`, 'language');
      expect((await store.users.get(userId))?.language).toBeNull();
      await redis.hset(`${prefix}user:{${userId}}`, 'language', 'xx');
      expect((await store.users.findByName('old'))?.language).toBeNull();
    } finally {
      redis.disconnect();
      await store.close();
    }
  });
});
