// The mail queue on Redis, spread over MAIL_QUEUE_SHARDS shards (each its own tag, so its own node on a cluster).
// At-least-once: a claim is a lease fenced by a token; a job whose holder neither completes nor reschedules it
// before the lease ends is claimed again, by this or another gateway.
import { createHash, randomUUID } from 'node:crypto';
import { guarded } from './connection';
import { mailShardKeys } from './keys';
import type { MailShardKeys } from './keys';
import { script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import type { Clock } from '../../../core/ports/clock';
import type { MailJob } from '../../../core/mail-job';
import type { Claim, ClaimedMail, DeadLetter, MailQueue } from '../../../core/ports/reset-store';

/** Shards of the mail queue, default 16 (MAIL_QUEUE_SHARDS). */
export const DEFAULT_MAIL_QUEUE_SHARDS = 16;

export interface MailQueueOptions {
  /** default 16; every gateway on one Redis must use the same number */
  readonly shards?: number;
  /** dead letters kept per shard, default 1000 */
  readonly deadLetterMaxLen: number;
  /** the time dead letters are stamped with */
  readonly clock: Clock;
}

/** The shard a job's entry id belongs to: a hash of the id, so every gateway finds it without asking. */
export function shardOf(entryId: string, shards: number): number {
  return createHash('sha256').update(entryId).digest().readUInt32BE(0) % shards;
}

type ScriptName = 'enqueue' | 'claim' | 'complete' | 'retry' | 'deadLetter';

export class RedisMailQueue implements MailQueue {
  protected readonly listeners = new Set<() => void>();
  protected readonly shards: readonly MailShardKeys[];
  protected readonly queueScripts: Record<ScriptName, ScriptCall>;
  /** Where the next claim starts looking: round robin from a random shard, so no shard waits behind another. */
  private nextShard: number;

  constructor(
    protected readonly redis: RedisClient,
    private readonly queue: MailQueueOptions,
  ) {
    const count = Math.max(1, Math.floor(queue.shards ?? DEFAULT_MAIL_QUEUE_SHARDS));
    this.shards = Array.from({ length: count }, (_, shard) => mailShardKeys(shard));
    this.nextShard = Math.floor(Math.random() * count);
    this.queueScripts = {
      enqueue: script(redis, 'mail-enqueue-2keys.lua'),
      claim: script(redis, 'mail-claim-4keys.lua'),
      complete: script(redis, 'mail-complete-4keys.lua'),
      retry: script(redis, 'mail-retry-4keys.lua'),
      deadLetter: script(redis, 'mail-dead-letter-5keys.lua'),
    };
  }

  /** A new entry id and the keys of its shard. */
  newEntry(): { id: string; shard: MailShardKeys } {
    const id = randomUUID();
    return { id, shard: this.shardFor(id) };
  }

  private shardFor(entryId: string): MailShardKeys {
    return this.shards[shardOf(entryId, this.shards.length)]!;
  }

  private static queueKeys(shard: MailShardKeys): [string, string, string, string] {
    return [shard.due, shard.jobs, shard.attempts, shard.leases];
  }

  /** Queues `job` under `id` on a shard's (or its decoys') keys, unguarded: the callers guard their whole step. */
  enqueueRaw(due: string, jobs: string, id: string, job: MailJob): Promise<unknown> {
    return this.queueScripts.enqueue(due, jobs, id, JSON.stringify(job));
  }

  async enqueueMail(job: MailJob): Promise<string> {
    const { id, shard } = this.newEntry();
    await guarded(() => this.enqueueRaw(shard.due, shard.jobs, id, job));
    this.noteQueued();
    return id;
  }

  /** Wakes this process's delivery loop: a job was queued through this store's connection. */
  noteQueued(): void {
    for (const listener of this.listeners) listener();
  }

  onMailQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Looks at the head of every shard at once (one round trip per node), then claims from the first shard, in
   * round-robin order, whose head is due; a claim lost to another gateway moves on to the next.
   */
  claimMail(leaseMs: number): Promise<Claim> {
    return guarded(async () => {
      const lease = Math.max(1, Math.round(leaseMs));
      const start = this.nextShard;
      this.nextShard = (start + 1) % this.shards.length;
      const order = this.shards.map((_, i) => this.shards[(start + i) % this.shards.length]!);
      const [heads, time] = await Promise.all([
        Promise.all(order.map((shard) => this.redis.zrange(shard.due, '0', '0', 'WITHSCORES'))),
        this.redis.time(),
      ]);
      const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      let nextDueInMs: number | null = null;
      for (let i = 0; i < order.length; i++) {
        const score = heads[i]![1];
        if (score === undefined) continue;
        const wait = Math.max(0, Number(score) - now);
        if (wait > 0) {
          nextDueInMs = nextDueInMs === null ? wait : Math.min(nextDueInMs, wait);
          continue;
        }
        const shard = order[i]!;
        const token = randomUUID();
        const [id, attemptOrWait, json] = (await this.queueScripts.claim(
          ...RedisMailQueue.queueKeys(shard),
          lease,
          token,
        )) as [string, number, string?];
        if (id !== '' && json !== undefined) {
          return { mail: { id, token, attempt: attemptOrWait, job: JSON.parse(json) as MailJob } };
        }
        if (attemptOrWait >= 0)
          nextDueInMs = nextDueInMs === null ? attemptOrWait : Math.min(nextDueInMs, attemptOrWait);
      }
      return { mail: null, nextDueInMs };
    });
  }

  completeMail(mail: ClaimedMail): Promise<boolean> {
    const keys = RedisMailQueue.queueKeys(this.shardFor(mail.id));
    return guarded(async () => (await this.queueScripts.complete(...keys, mail.id, mail.token)) === 1);
  }

  retryMail(mail: ClaimedMail, delayMs: number): Promise<boolean> {
    const keys = RedisMailQueue.queueKeys(this.shardFor(mail.id));
    const delay = Math.max(0, Math.round(delayMs));
    return guarded(async () => (await this.queueScripts.retry(...keys, mail.id, mail.token, delay)) === 1);
  }

  deadLetterMail(mail: ClaimedMail, reason: string): Promise<boolean> {
    const shard = this.shardFor(mail.id);
    const letter: DeadLetter = {
      id: mail.id,
      kind: mail.job.kind,
      userId: mail.job.userId,
      attempts: mail.attempt,
      reason,
      at: this.queue.clock.now(),
    };
    return guarded(
      async () =>
        (await this.queueScripts.deadLetter(
          ...RedisMailQueue.queueKeys(shard),
          shard.dead,
          mail.id,
          mail.token,
          JSON.stringify(letter),
          this.queue.deadLetterMaxLen,
        )) === 1,
    );
  }

  /** The newest of every shard's dead letters, merged newest first. */
  deadLetters(count: number): Promise<DeadLetter[]> {
    if (count <= 0) return Promise.resolve([]);
    return guarded(async () => {
      const lists = await Promise.all(
        this.shards.map((shard) => this.redis.lrange(shard.dead, 0, count - 1)),
      );
      return lists
        .flat()
        .map((item) => JSON.parse(item) as DeadLetter)
        .sort((a, b) => b.at - a.at)
        .slice(0, count);
    });
  }

  queuedMailCount(): Promise<number> {
    return guarded(async () => {
      const counts = await Promise.all(this.shards.map((shard) => this.redis.zcard(shard.due)));
      return counts.reduce((sum, each) => sum + each, 0);
    });
  }
}
