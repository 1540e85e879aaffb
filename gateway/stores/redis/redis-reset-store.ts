// The Redis reset store: pending codes (reset-codes.ts), the sharded mail queue (mail-queue.ts) and the audit
// (audit.ts), shared by every gateway on one Redis or cluster. Key names: keys.ts.
import { closeRedis, connectRedis, guarded, watchRedis } from './connection';
import type { RedisOptions } from './connection';
import { RedisAudit } from './audit';
import { userKeys } from './keys';
import { RedisMailQueue } from './mail-queue';
import { RedisResetCodes } from './reset-codes';
import type { RedisClient } from './scripts';
import type { Logger } from '../../logger';
import { systemClock } from '../../../core/ports/clock';
import type { Clock } from '../../../core/ports/clock';
import type { MailJob } from '../../../core/mail-job';
import {
  DEFAULT_AUDIT_MAXLEN,
  DEFAULT_DEAD_LETTER_MAXLEN,
  DEFAULT_REFUSAL_WINDOW_MS,
  MAX_WRONG_TRIES,
} from '../../../core/ports/reset-store';
import type {
  AuditEvent,
  CodeCheck,
  CodeUse,
  RefusalRecord,
  ResetStore,
} from '../../../core/ports/reset-store';

export interface RedisResetStoreOptions {
  /** audit events kept (approximately: XADD MAXLEN ~ trims whole stream nodes), default 10000 */
  readonly auditMaxLen?: number;
  /** dead letters kept per mail shard, default 1000 */
  readonly deadLetterMaxLen?: number;
  /** refusals of one caller are aggregated per window of this length, default 60000 ms */
  readonly refusalWindowMs?: number;
  /** mail queue shards (MAIL_QUEUE_SHARDS), default 16 */
  readonly mailShards?: number;
  /** the clock dead letters are stamped with, default the system's */
  readonly clock?: Clock;
  /** close the connection in close(), default false (the caller made it) */
  readonly ownsConnection?: boolean;
}

export class RedisResetStore extends RedisMailQueue implements ResetStore {
  readonly kind = 'redis';
  private closing: Promise<void> | undefined;
  readonly codes: RedisResetCodes;
  readonly audit: RedisAudit;

  constructor(
    redis: RedisClient,
    private readonly options: RedisResetStoreOptions = {},
  ) {
    super(redis, {
      shards: options.mailShards,
      deadLetterMaxLen: options.deadLetterMaxLen ?? DEFAULT_DEAD_LETTER_MAXLEN,
      clock: options.clock ?? systemClock,
    });
    this.codes = new RedisResetCodes(redis);
    this.audit = new RedisAudit(redis, {
      maxLen: options.auditMaxLen ?? DEFAULT_AUDIT_MAXLEN,
      refusalWindowMs: options.refusalWindowMs ?? DEFAULT_REFUSAL_WINDOW_MS,
    });
  }

  /**
   * The code (the user's slot), then the mail (a queue shard), then the audit event. The mail's write makes the
   * issue final. A crash between the first two leaves a code that nobody can use (it exists only in the mail that
   * was never written) and that lapses with its TTL; no mail is ever written for a code that was not stored.
   */
  async issueCode(
    userId: number,
    codeHash: string,
    ttlMs: number,
    mail: MailJob,
    audit?: AuditEvent,
  ): Promise<string> {
    const { id, shard } = this.newEntry();
    await guarded(async () => {
      await this.codes.issueWithMail(userKeys(userId).resetCode, codeHash, ttlMs, () =>
        this.enqueueRaw(shard.due, shard.jobs, id, mail),
      );
      if (audit) await this.audit.appendRaw(audit);
    });
    this.noteQueued();
    return id;
  }

  checkCode(
    userId: number,
    codeHash: string,
    maxWrongTries = MAX_WRONG_TRIES,
    from = '',
  ): Promise<CodeCheck> {
    return this.codes.checkCode(userId, codeHash, maxWrongTries, from);
  }

  consumeCode(
    userId: number,
    codeHash: string,
    maxWrongTries = MAX_WRONG_TRIES,
    from = '',
  ): Promise<CodeUse> {
    return this.codes.consumeCode(userId, codeHash, maxWrongTries, from);
  }

  appendAudit(event: AuditEvent): Promise<void> {
    return this.audit.appendAudit(event);
  }

  recentAudit(count: number): Promise<AuditEvent[]> {
    return this.audit.recentAudit(count);
  }

  recentRefusals(count: number): Promise<RefusalRecord[]> {
    return this.audit.recentRefusals(count);
  }

  /** Idempotent: a second close would make ioredis arm a 2 s disconnect timer on the ended socket. */
  close(): Promise<void> {
    this.listeners.clear();
    if (!this.options.ownsConnection) return Promise.resolve();
    return (this.closing ??= closeRedis(this.redis));
  }
}

/** A reset store on its own connection (named, errors logged once per outage), closed by close(). */
export function openRedisResetStore(
  redisOptions: RedisOptions,
  logger: Logger,
  options: Omit<RedisResetStoreOptions, 'ownsConnection'> = {},
  redis: RedisClient = connectRedis(redisOptions, 'oms-gateway-reset'),
): RedisResetStore {
  watchRedis(redis, logger, 'reset-store');
  return new RedisResetStore(redis, { ...options, ownsConnection: true });
}
