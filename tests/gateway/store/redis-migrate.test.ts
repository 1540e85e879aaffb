// `oms-gateway store migrate`: a deployment written in the layout before the cluster hash tags works after the copy.
import { singleNode } from '../../../gateway/stores/redis/connection';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { runCli } from '../../../gateway/cli/main';
import { createLogger } from '../../../gateway/logger';
import { openRedisResetStore } from '../../../gateway/stores/redis/redis-reset-store';
import { createRedisStore } from '../../../gateway/stores/redis/redis-store';
import { hashPendingCode } from '../../../core/pending-code';
import { testRedisUrl, uniquePrefix } from '../../support/gateway';

const SESSION = 'a'.repeat(64);
const CODE_HASH = hashPendingCode('OLD-CODE-1234');

/** Runs the command in this process; resolves with its status and its stdout. */
async function migrate(prefix: string): Promise<{ code: number; stdout: string }> {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const code = await runCli(['store', 'migrate'], {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: { REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix },
  });
  return { code, stdout: text };
}

describe('store migrate', () => {
  it('copies users, sessions, codes and queued mail from the old layout, and copies nothing the second time', async () => {
    const prefix = uniquePrefix();
    const raw = new Redis(testRedisUrl(), { keyPrefix: prefix });
    try {
      // what the single-node store wrote: its index, session, code and queue names
      await raw.hset('user:{1}', {
        userName: 'Alice',
        email: 'alice@example.com',
        emailVerified: '1',
        passwordHash: '$argon2id$old',
        locked: '0',
        accountId: '7',
        omsId: '1',
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      await raw.sadd('user:{1}:accounts', '7');
      await raw.sadd('users:all', '1');
      await raw.set('users:next-id', '1');
      await raw.set('user-name:alice', '1');
      await raw.set('user-email:alice@example.com', '1');
      await raw.set(`session:${SESSION}`, '1', 'PX', 60_000);
      await raw.sadd('user:{1}:sessions', SESSION);
      await raw.hset('reset:{u:1}:code', 'h', CODE_HASH);
      await raw.pexpire('reset:{u:1}:code', 60_000);
      const job = { kind: 'password-changed', to: 'alice@example.com', userId: 1, userName: 'Alice' };
      await raw.hset('mail:{queue}:jobs', 'job-1', JSON.stringify(job));
      await raw.zadd('mail:{queue}:due', Date.now(), 'job-1');

      const first = await migrate(prefix);
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({
        indexEntries: 2,
        sessions: 1,
        sessionIndexEntries: 1,
        resetCodes: 1,
        mailJobs: 1,
      });
      const again = await migrate(prefix);
      expect(again.code).toBe(0);
      expect(Object.values(JSON.parse(again.stdout) as Record<string, number>).every((n) => n === 0)).toBe(
        true,
      );

      const options = { topology: singleNode(testRedisUrl()), prefix, commandTimeoutMs: 2000 };
      const store = createRedisStore(options, createLogger('silent'));
      const resets = openRedisResetStore(options, createLogger('silent'));
      try {
        expect((await store.users.findByName('ALICE'))?.userId).toBe(1);
        expect((await store.users.findByEmail('alice@example.com'))?.accountIds).toEqual([7]);
        expect(await store.sessions.touch(SESSION, 60_000)).toBe(1);
        expect(await resets.checkCode(1, CODE_HASH)).toBe('valid');
        const claim = await resets.claimMail(30_000);
        expect(claim.mail).toMatchObject({ id: 'job-1', job });
        // the session is in the new index: a password change's revocation finds it
        expect(await store.sessions.revokeAllForUser(1)).toBe(1);
        expect(await store.sessions.touch(SESSION, 60_000)).toBeNull();
        expect((await store.users.create({ userName: 'bob', email: 'bob@example.com' })).userId).toBe(2);
      } finally {
        await resets.close();
        await store.close();
      }
    } finally {
      raw.disconnect();
    }
  });
});
