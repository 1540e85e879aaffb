// What only the Redis reset store can show: its keys, what they hold, atomicity under a failing script, and two gateways.
import { Redis } from 'ioredis';
import { createLogger } from '../../../gateway/logger';
import type { MailJob } from '../../../gateway/mail/mail-job';
import { hashPendingCode, newPendingCode } from '../../../gateway/reset-store/pending-code';
import { openRedisResetStore } from '../../../gateway/reset-store/redis-reset-store';
import type { RedisResetStore } from '../../../gateway/reset-store/redis-reset-store';
import { testRedisUrl, uniquePrefix } from '../../support/gateway';

describe('redis reset store', () => {
  let prefix: string;
  let raw: Redis;
  const opened: RedisResetStore[] = [];

  function open(): RedisResetStore {
    const store = openRedisResetStore(
      { url: testRedisUrl(), prefix, commandTimeoutMs: 2000 },
      createLogger('silent'),
    );
    opened.push(store);
    return store;
  }

  /** Every key under the test's prefix with everything it holds, as one string. */
  async function dumpAll(): Promise<string> {
    const keys = await raw.keys(`${prefix}*`);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await raw.type(key);
      if (type === 'hash') parts.push(key, JSON.stringify(await raw.hgetall(key)));
      else if (type === 'zset') parts.push(key, JSON.stringify(await raw.zrange(key, '0', '-1')));
      else if (type === 'list') parts.push(key, JSON.stringify(await raw.lrange(key, 0, -1)));
      else if (type === 'stream') parts.push(key, JSON.stringify(await raw.xrange(key, '-', '+')));
      else parts.push(key, String(await raw.get(key)));
    }
    return parts.join('\n');
  }

  beforeEach(() => {
    prefix = uniquePrefix();
    raw = new Redis(testRedisUrl());
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await raw.quit();
  });

  const code = newPendingCode();
  const job = (userId: number): MailJob => ({
    kind: 'reset',
    to: 'ada@example.test',
    userId,
    userName: 'ada',
    link: `https://reset.example.test/#UserId=${userId}&PendingCode=${code}`,
    expiresInMinutes: 30,
  });

  it("keeps only the code's SHA-256 under the user's hash-tagged key, with the TTL", async () => {
    const store = open();
    await store.issueCode(42, hashPendingCode(code), 60_000, job(42));
    const key = `${prefix}reset:{u:42}:code`;
    expect(await raw.hgetall(key)).toEqual({ h: hashPendingCode(code) });
    const ttl = await raw.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('holds the code (inside the link) only in the queued job, and nowhere once the mail is sent', async () => {
    const store = open();
    await store.issueCode(43, hashPendingCode(code), 60_000, job(43));
    const everything = await dumpAll();
    const withoutJobs = everything.replace(/mail:\{queue\}:jobs\n.*/, '');
    expect(everything).toContain(code);
    expect(withoutJobs).not.toContain(code);
    const claim = await store.claimMail(30_000);
    await store.completeMail(claim.mail!);
    expect(await dumpAll()).not.toContain(code);
  });

  it('stores neither the code nor the mail when the queue cannot take the job', async () => {
    const store = open();
    await raw.set(`${prefix}mail:{queue}:due`, 'not a sorted set');
    await expect(store.issueCode(44, hashPendingCode(code), 60_000, job(44))).rejects.toThrow(/WRONGTYPE/);
    expect(await raw.exists(`${prefix}reset:{u:44}:code`, `${prefix}mail:{queue}:jobs`)).toBe(0);
    expect(await store.checkCode(44, hashPendingCode(code))).toBe('none');
  });

  it('hands each job to exactly one of two gateways claiming at the same time', async () => {
    const [a, b] = [open(), open()];
    const ids = await Promise.all(Array.from({ length: 20 }, (_, i) => a.enqueueMail(job(100 + i))));
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? a : b).claimMail(30_000)),
    );
    const claimed = claims.flatMap((claim) => (claim.mail ? [claim.mail.id] : []));
    expect(claimed.sort()).toEqual([...ids].sort());
  });
});
