// What only the Redis reset store can show: its keys, what they hold, atomicity under a failing script, and two gateways.
import { Redis } from 'ioredis';
import { createLogger } from '../../../gateway/logger';
import type { MailJob } from '../../../core/mail-job';
import { hashPendingCode, newPendingCode } from '../../../core/pending-code';
import { mailShardKeys, userKeys } from '../../../gateway/stores/redis/keys';
import { DEFAULT_MAIL_QUEUE_SHARDS } from '../../../gateway/stores/redis/mail-queue';
import { openRedisResetStore } from '../../../gateway/stores/redis/redis-reset-store';
import type { RedisResetStore } from '../../../gateway/stores/redis/redis-reset-store';
import { resetLinkParts } from '../../../core/reset-link';
import { RedisResetFlow } from '../../../gateway/stores/redis/redis-reset-flow';
import type { ResetRequest } from '../../../core/reset-flow';
import { connectRedis, singleNode } from '../../../gateway/stores/redis/connection';
import { createRedisStore } from '../../../gateway/stores/redis/redis-store';
import { testRedisUrl, uniquePrefix } from '../../support/gateway';
import { startRedisServer } from '../../../testing/redis-server';
import type { RedisServer } from '../../../testing/redis-server';

describe('redis reset store', () => {
  let prefix: string;
  let raw: Redis;
  const opened: RedisResetStore[] = [];

  function open(): RedisResetStore {
    const store = openRedisResetStore(
      { topology: singleNode(testRedisUrl()), prefix, commandTimeoutMs: 2000 },
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
    const key = `${prefix}${userKeys(42).resetCode}`;
    expect(await raw.hgetall(key)).toEqual({ h: hashPendingCode(code) });
    const ttl = await raw.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('holds the code (inside the link) only in the queued job, and nowhere once the mail is sent', async () => {
    const store = open();
    await store.issueCode(43, hashPendingCode(code), 60_000, job(43));
    const everything = await dumpAll();
    const withoutJobs = everything.replace(/mail:\{mail:\d+\}:jobs\n.*/g, '');
    expect(everything).toContain(code);
    expect(withoutJobs).not.toContain(code);
    const claim = await store.claimMail(30_000);
    await store.completeMail(claim.mail!);
    expect(await dumpAll()).not.toContain(code);
  });

  it('stores neither the code nor the mail when the queue cannot take the job', async () => {
    const store = open();
    const shards = Array.from({ length: DEFAULT_MAIL_QUEUE_SHARDS }, (_, shard) => mailShardKeys(shard));
    for (const shard of shards) await raw.set(`${prefix}${shard.due}`, 'not a sorted set');
    await expect(store.issueCode(44, hashPendingCode(code), 60_000, job(44))).rejects.toThrow(/WRONGTYPE/);
    const jobs = shards.map((shard) => `${prefix}${shard.jobs}`);
    expect(await raw.exists(`${prefix}${userKeys(44).resetCode}`, ...jobs)).toBe(0);
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

describe('redis reset request script', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    // its own redis-server: INFO commandstats counts every client's commands
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    await admin.quit();
    await server.stop();
  });

  /** The commands Redis ran (those inside scripts included) during `run`, by name and count. */
  async function commandsOf(run: () => Promise<unknown>): Promise<Record<string, number>> {
    await admin.config('RESETSTAT');
    await run();
    const info = await admin.info('commandstats');
    const calls: Record<string, number> = {};
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (match[1] !== 'info' && match[1] !== 'config|resetstat') calls[match[1]!] = Number(match[2]);
    }
    return calls;
  }

  it('runs the same commands for a name nobody has and a locked user as for a known user', async () => {
    const options = { topology: singleNode(server.url), prefix: uniquePrefix(), commandTimeoutMs: 2000 };
    const redis = connectRedis(options, 'test');
    const store = createRedisStore(options, createLogger('silent'), redis);
    const flow = new RedisResetFlow(redis, { prefix: options.prefix, auditMaxLen: 100, onQueued: () => {} });
    try {
      for (const name of ['warm', 'known']) {
        await store.users.create({ userName: name, email: `${name}@example.test`, permissions: ['Trading'] });
      }
      await store.users.create({
        userName: 'held',
        email: 'held@example.test',
        permissions: ['Trading'],
        locked: true,
      });
      const code = newPendingCode();
      const ask = (userName: string): ResetRequest => ({
        lookup: { by: 'name', value: userName },
        limits: [{ key: `caller:${userName}`, limit: 5, windowSeconds: 60 }],
        targetLimits: {
          unknownStem: `reset:target:${userName}`,
          hits: [{ suffix: 'interval', limit: 1, windowSeconds: 60 }],
        },
        reach: null,
        codeHash: hashPendingCode(code),
        ttlMs: 60_000,
        mail: { link: resetLinkParts('https://reset.example.test/', code), expiresInMinutes: 30 },
        // a caller's first refusal in a window runs the same commands as a success (AUDIT_LUA)
        audit: { at: Date.now(), step: 'ResetPassword', caller: `address:${userName}` },
      });
      // loads the script (EVALSHA, then EVAL on its first call)
      expect((await flow.requestReset(ask('warm'))).outcome).toBe('queued');
      const outcomes: string[] = [];
      const known = await commandsOf(async () =>
        outcomes.push((await flow.requestReset(ask('known'))).outcome),
      );
      const unknown = await commandsOf(async () =>
        outcomes.push((await flow.requestReset(ask('nobody'))).outcome),
      );
      const locked = await commandsOf(async () =>
        outcomes.push((await flow.requestReset(ask('held'))).outcome),
      );
      expect(outcomes).toEqual(['queued', 'unknown', 'locked']);
      expect(known).toHaveProperty('zadd', 1);
      expect(unknown).toEqual(known);
      expect(locked).toEqual(known);
    } finally {
      await store.close();
    }
  });
});
