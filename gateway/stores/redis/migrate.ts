// Copies a deployment's keys from the layout before the cluster hash tags (one Redis node) to today's (keys.ts),
// in place on the same Redis: `oms-gateway store migrate`. Idempotent: a key that exists under its new name is left
// alone, so a second run copies nothing and a run stopped half way can be run again. The old keys stay (delete
// them once the new gateways run: every old name is listed in docs/operations.md).
import type { Redis } from 'ioredis';
import type { Clock } from '../../../core/ports/clock';
import {
  apiTokenKey,
  auditKeys,
  AUDIT_KEY,
  mailShardKeys,
  REFUSED_KEY,
  sessionKey,
  userIndexKey,
  userKeys,
} from './keys';
import { DEFAULT_MAIL_QUEUE_SHARDS, shardOf } from './mail-queue';

/** What one run copied, by kind. */
export interface MigrationReport {
  indexEntries: number;
  apiTokens: number;
  sessions: number;
  sessionIndexEntries: number;
  resetCodes: number;
  targetLimits: number;
  mailJobs: number;
  deadLetters: number;
  auditKeys: number;
}

/** The old layout's keys (after the prefix) and how each maps to its new name; null: not an old key. */
function newName(old: string): string | null {
  let match: RegExpExecArray | null;
  if ((match = /^user-(name|email):(?!\{)(.*)$/s.exec(old)))
    return userIndexKey(match[1] as 'name' | 'email', match[2]!);
  if ((match = /^api-token:([0-9a-f]{64})$/.exec(old))) return apiTokenKey(match[1]!);
  if ((match = /^session:([0-9a-f]{64})$/.exec(old))) return sessionKey(match[1]!);
  if ((match = /^reset:\{u:(\d+)\}:code$/.exec(old))) return userKeys(match[1]!).resetCode;
  if ((match = /^limit:\{reset:target:user:(\d+):(.+)\}$/.exec(old))) {
    return `${userKeys(match[1]!).record}:reset-limit:${match[2]}`;
  }
  if (old === 'audit:reset') return AUDIT_KEY;
  if (old === 'audit:reset:refused') return REFUSED_KEY;
  if ((match = /^audit:(refused|ok):(\d+):(.*)$/s.exec(old))) {
    const [, , refused, ok] = auditKeys(Number(match[2]), match[3]!);
    return match[1] === 'refused' ? refused : ok;
  }
  return null;
}

const KIND: Record<string, keyof MigrationReport> = {
  'user-': 'indexEntries',
  'api-token:': 'apiTokens',
  'session:': 'sessions',
  'reset:': 'resetCodes',
  'limit:': 'targetLimits',
  'audit:': 'auditKeys',
};

/**
 * Copies every old key under `prefix` on `redis` (a connection without keyPrefix, to the single node the old
 * layout lived on) to its new name: DUMP and RESTORE keep each value and its TTL; then the users' session sets
 * become session indexes, and the mail queue's entries move to their shards.
 */
export async function migrateLayout(
  redis: Redis,
  prefix: string,
  clock: Clock,
  shards = DEFAULT_MAIL_QUEUE_SHARDS,
): Promise<MigrationReport> {
  const report: MigrationReport = {
    indexEntries: 0,
    apiTokens: 0,
    sessions: 0,
    sessionIndexEntries: 0,
    resetCodes: 0,
    targetLimits: 0,
    mailJobs: 0,
    deadLetters: 0,
    auditKeys: 0,
  };
  const sessionSets: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 }) as AsyncIterable<
    string[]
  >) {
    for (const full of batch) {
      const old = full.slice(prefix.length);
      if (/^user:\{\d+\}:sessions$/.test(old)) sessionSets.push(old);
      const target = newName(old);
      if (target === null) continue;
      const [dump, ttl] = await Promise.all([redis.dumpBuffer(full), redis.pttl(full)]);
      if (dump === null) continue; // expired meanwhile
      try {
        await redis.restore(`${prefix}${target}`, ttl > 0 ? ttl : 0, dump);
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('BUSYKEY')) continue; // copied by an earlier run
        throw error;
      }
      report[Object.entries(KIND).find(([start]) => old.startsWith(start))![1]] += 1;
    }
  }
  // session sets → sorted sets by idle deadline (now + the session's TTL left)
  for (const set of sessionSets) {
    const userId = /^user:\{(\d+)\}/.exec(set)![1]!;
    for (const id of await redis.smembers(`${prefix}${set}`)) {
      const ttl = await redis.pttl(`${prefix}${sessionKey(id)}`);
      if (ttl === -2) continue; // ended
      const deadline = clock.now() + (ttl > 0 ? ttl : 365 * 24 * 3600 * 1000);
      report.sessionIndexEntries += await redis.zadd(
        `${prefix}${userKeys(userId).sessions}`,
        'NX',
        deadline,
        id,
      );
    }
  }
  // the one mail queue → its entries' shards (entry ids decide the shard, as the gateways compute it)
  const old = (name: string): string => `${prefix}mail:{queue}:${name}`;
  const due = await redis.zrange(old('due'), '0', '-1', 'WITHSCORES');
  for (let i = 0; i + 1 < due.length; i += 2) {
    const id = due[i]!;
    const shard = mailShardKeys(shardOf(id, shards));
    const [job, attempts] = await Promise.all([redis.hget(old('jobs'), id), redis.hget(old('attempts'), id)]);
    if (job === null) continue;
    // the lease is not copied: the old gateways are stopped, so the job is due again at its old time
    const added = await redis.hsetnx(`${prefix}${shard.jobs}`, id, job);
    await redis.zadd(`${prefix}${shard.due}`, 'NX', due[i + 1]!, id);
    if (attempts !== null) await redis.hsetnx(`${prefix}${shard.attempts}`, id, attempts);
    report.mailJobs += added;
  }
  const dead = await redis.lrange(old('dead'), 0, -1);
  const deadTarget = `${prefix}${mailShardKeys(0).dead}`;
  if (dead.length > 0 && (await redis.exists(deadTarget)) === 0) {
    await redis.rpush(deadTarget, ...dead);
    report.deadLetters = dead.length;
  }
  return report;
}
