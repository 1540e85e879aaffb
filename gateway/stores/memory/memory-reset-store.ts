// The embedded reset store: codes, mail queue and audit in this process's memory, with the Redis store's behaviour.
// Every method does its whole work synchronously before resolving, which is what makes each one atomic here.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../core/ports/clock';
import type { MailJob } from '../../../core/mail-job';
import { ExpiringMap } from './expiring-map';
import { sameHash } from '../../../core/pending-code';
import {
  DEFAULT_AUDIT_MAXLEN,
  DEFAULT_DEAD_LETTER_MAXLEN,
  DEFAULT_REFUSAL_WINDOW_MS,
  MAX_WRONG_TRIES,
  REFUSAL_COUNT_TTL_MS,
  refusalWindowStart,
} from '../../../core/ports/reset-store';
import type {
  AuditEvent,
  Claim,
  ClaimedMail,
  CodeCheck,
  CodeUse,
  DeadLetter,
  RefusalRecord,
  ResetStore,
} from '../../../core/ports/reset-store';

export interface MemoryResetStoreOptions {
  /** audit events kept, default 10000 */
  readonly auditMaxLen?: number;
  /** dead letters kept, default 1000 */
  readonly deadLetterMaxLen?: number;
  /** refusals of one caller are aggregated per window of this length, default 60000 ms */
  readonly refusalWindowMs?: number;
}

interface LiveCode {
  readonly hash: string;
  /** wrong tries by client address */
  readonly wrongTries: Map<string, number>;
}

interface QueueEntry {
  readonly id: string;
  readonly job: MailJob;
  /** ms since epoch on the store's clock */
  dueAt: number;
  /** sequence, so equal due times keep queue order */
  readonly seq: number;
  attempts: number;
  /** '' when nobody holds a lease */
  token: string;
}

export class MemoryResetStore implements ResetStore {
  readonly kind = 'memory';
  private readonly codes: ExpiringMap<number, LiveCode>;
  private readonly queue = new Map<string, QueueEntry>();
  private readonly dead: DeadLetter[] = [];
  private readonly audit: AuditEvent[] = [];
  /** the refusal stream: the first refusal of each caller and window, oldest first */
  private readonly refusals: {
    readonly first: AuditEvent;
    readonly windowStart: number;
    readonly key: string;
  }[] = [];
  /** caller and window → refusals counted */
  private readonly refusalCounts: ExpiringMap<string, number>;
  private readonly refusalWindowMs: number;
  private readonly listeners = new Set<() => void>();
  private readonly auditMaxLen: number;
  private readonly deadLetterMaxLen: number;
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    options: MemoryResetStoreOptions = {},
  ) {
    this.codes = new ExpiringMap(clock);
    this.refusalCounts = new ExpiringMap(clock);
    this.refusalWindowMs = options.refusalWindowMs ?? DEFAULT_REFUSAL_WINDOW_MS;
    this.auditMaxLen = options.auditMaxLen ?? DEFAULT_AUDIT_MAXLEN;
    this.deadLetterMaxLen = options.deadLetterMaxLen ?? DEFAULT_DEAD_LETTER_MAXLEN;
  }

  async issueCode(
    userId: number,
    codeHash: string,
    ttlMs: number,
    mail: MailJob,
    audit?: AuditEvent,
  ): Promise<string> {
    this.codes.set(userId, { hash: codeHash, wrongTries: new Map() }, ttlMs);
    const id = this.enqueue(mail);
    if (audit) await this.appendAudit(audit);
    return id;
  }

  checkCode(
    userId: number,
    codeHash: string,
    maxWrongTries = MAX_WRONG_TRIES,
    from = '',
  ): Promise<CodeCheck> {
    const outcome = this.judge(userId, codeHash, maxWrongTries, from);
    return Promise.resolve(outcome === 'right' ? 'valid' : outcome);
  }

  consumeCode(
    userId: number,
    codeHash: string,
    maxWrongTries = MAX_WRONG_TRIES,
    from = '',
  ): Promise<CodeUse> {
    const outcome = this.judge(userId, codeHash, maxWrongTries, from);
    if (outcome !== 'right') return Promise.resolve(outcome);
    this.codes.delete(userId);
    return Promise.resolve('consumed');
  }

  /**
   * Compares in constant time. A wrong code counts against `from` only; an address that has used up its
   * wrong tries on this code is answered 'wrong' whatever it sends, and the code stays live for the others.
   */
  private judge(
    userId: number,
    codeHash: string,
    maxWrongTries: number,
    from: string,
  ): 'right' | 'wrong' | 'none' {
    const live = this.codes.get(userId);
    if (live === undefined) return 'none';
    const tries = live.wrongTries.get(from) ?? 0;
    if (tries >= maxWrongTries) return 'wrong';
    if (sameHash(live.hash, codeHash)) return 'right';
    live.wrongTries.set(from, tries + 1);
    return 'wrong';
  }

  enqueueMail(job: MailJob): Promise<string> {
    return Promise.resolve(this.enqueue(job));
  }

  private enqueue(job: MailJob): string {
    const id = randomUUID();
    this.queue.set(id, { id, job, dueAt: this.clock.now(), seq: this.seq++, attempts: 0, token: '' });
    for (const listener of this.listeners) listener();
    return id;
  }

  claimMail(leaseMs: number): Promise<Claim> {
    const now = this.clock.now();
    let first: QueueEntry | undefined;
    for (const entry of this.queue.values()) {
      if (
        first === undefined ||
        entry.dueAt < first.dueAt ||
        (entry.dueAt === first.dueAt && entry.seq < first.seq)
      ) {
        first = entry;
      }
    }
    if (first === undefined) return Promise.resolve({ mail: null, nextDueInMs: null });
    if (first.dueAt > now) return Promise.resolve({ mail: null, nextDueInMs: first.dueAt - now });
    first.attempts += 1;
    first.token = randomUUID();
    first.dueAt = now + leaseMs;
    return Promise.resolve({
      mail: { id: first.id, token: first.token, attempt: first.attempts, job: first.job },
    });
  }

  completeMail(mail: ClaimedMail): Promise<boolean> {
    if (!this.queue.has(mail.id)) return Promise.resolve(true);
    if (this.leased(mail) === undefined) return Promise.resolve(false);
    this.queue.delete(mail.id);
    return Promise.resolve(true);
  }

  retryMail(mail: ClaimedMail, delayMs: number): Promise<boolean> {
    const entry = this.leased(mail);
    if (entry === undefined) return Promise.resolve(false);
    entry.token = '';
    entry.dueAt = this.clock.now() + delayMs;
    return Promise.resolve(true);
  }

  deadLetterMail(mail: ClaimedMail, reason: string): Promise<boolean> {
    const entry = this.leased(mail);
    if (entry === undefined) return Promise.resolve(false);
    this.queue.delete(mail.id);
    const letter: DeadLetter = {
      id: entry.id,
      kind: entry.job.kind,
      userId: entry.job.userId,
      attempts: entry.attempts,
      reason,
      at: this.clock.now(),
    };
    this.dead.unshift(letter);
    this.dead.length = Math.min(this.dead.length, this.deadLetterMaxLen);
    return Promise.resolve(true);
  }

  private leased(mail: ClaimedMail): QueueEntry | undefined {
    const entry = this.queue.get(mail.id);
    return entry !== undefined && entry.token === mail.token ? entry : undefined;
  }

  deadLetters(count: number): Promise<DeadLetter[]> {
    return Promise.resolve(this.dead.slice(0, Math.max(0, count)));
  }

  queuedMailCount(): Promise<number> {
    return Promise.resolve(this.queue.size);
  }

  onMailQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  appendAudit(event: AuditEvent): Promise<void> {
    if (event.outcome === 'ok') {
      this.audit.push({ ...event });
      if (this.audit.length > this.auditMaxLen) this.audit.splice(0, this.audit.length - this.auditMaxLen);
      return Promise.resolve();
    }
    const windowStart = refusalWindowStart(event.at, this.refusalWindowMs);
    const key = `${windowStart}:${event.caller}`;
    const count = (this.refusalCounts.get(key) ?? 0) + 1;
    this.refusalCounts.set(key, count, REFUSAL_COUNT_TTL_MS);
    if (count === 1) {
      this.refusals.push({ first: { ...event }, windowStart, key });
      if (this.refusals.length > this.auditMaxLen)
        this.refusals.splice(0, this.refusals.length - this.auditMaxLen);
    }
    return Promise.resolve();
  }

  recentAudit(count: number): Promise<AuditEvent[]> {
    return Promise.resolve(count > 0 ? this.audit.slice(-count).reverse() : []);
  }

  recentRefusals(count: number): Promise<RefusalRecord[]> {
    const records = count > 0 ? this.refusals.slice(-count).reverse() : [];
    return Promise.resolve(
      records.map(({ first, windowStart, key }) => ({
        first,
        windowStart,
        count: this.refusalCounts.get(key) ?? 0,
      })),
    );
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }
}
