// The reset flow's Redis state: one live pending code per user, the mail queue, the audit stream. Two
// implementations (Redis, embedded memory), one contract suite in tests/gateway/reset-store.
import type { MailJob } from '../mail-job';

/** The result of checking a code without using it. */
export type CodeCheck = 'valid' | 'wrong' | 'none';

/**
 * The result of using a code. 'none': no live code (never issued, expired or used). 'wrong' also answers a
 * right code from an address that has spent its wrong tries on this code.
 */
export type CodeUse = 'consumed' | 'wrong' | 'none';

/** One queued mail as the delivery loop holds it while sending. */
export interface ClaimedMail {
  /** Queue entry id (a UUID), for logs: it says nothing about the code. */
  readonly id: string;
  /**
   * This claim's fencing token: complete, retry and dead-letter succeed only while it is the job's current
   * token, so a holder whose lease ran out and was claimed again cannot touch the job any more.
   */
  readonly token: string;
  /** 1 on the first send; counts claims, so a crash mid-send also counts as an attempt. */
  readonly attempt: number;
  readonly job: MailJob;
}

/** claimMail's answer: a job, or nothing due and how long until the next entry is due (or null: queue empty). */
export type Claim =
  { readonly mail: ClaimedMail } | { readonly mail: null; readonly nextDueInMs: number | null };

/** What is left of a mail that could not be delivered: never the link. */
export interface DeadLetter {
  readonly id: string;
  readonly kind: MailJob['kind'];
  readonly userId: number;
  readonly attempts: number;
  readonly reason: string;
  /** ms since the epoch */
  readonly at: number;
}

/** One audit record of a reset step. Never the code or the password: the type has no place for them. */
export interface AuditEvent {
  /** ms since the epoch */
  readonly at: number;
  /** e.g. 'ResetPassword', 'ResetPassword2' */
  readonly step: string;
  /** The caller's UserId, or the client address of an anonymous caller. */
  readonly caller: string;
  /** null when the target is unknown (an unknown UserName). */
  readonly targetUserId: number | null;
  /** e.g. 'ok', 'refused' */
  readonly outcome: string;
  /** e.g. 'mail queued', 'rate limited', 'wrong code' */
  readonly reason: string;
}

/**
 * What is kept of the refused steps of one caller in one window (AUDIT_REFUSAL_WINDOW_SECONDS): the first
 * refusal and how many there were. Refusals are aggregated so that strangers cannot flush the audit of what
 * succeeded (issue 11, finding 4).
 */
export interface RefusalRecord {
  /** the window's first refusal from this caller */
  readonly first: AuditEvent;
  /** ms since the epoch: the window's start */
  readonly windowStart: number;
  /** refusals from this caller in the window, the first included (0: the count has expired) */
  readonly count: number;
}

/**
 * The queue the delivery loop works on. At-least-once: a claim is a lease; a job whose holder neither
 * completes nor reschedules it before the lease ends is claimed again (by this or another gateway).
 * The Redis implementation throws StoreUnavailableError from any of these while Redis is unreachable.
 */
export interface MailQueue {
  /** Queues a job due now; resolves with its entry id. */
  enqueueMail(job: MailJob): Promise<string>;
  /** Takes the oldest due job and leases it for `leaseMs`. */
  claimMail(leaseMs: number): Promise<Claim>;
  /**
   * Sent: deletes the job (and with it the link) if this claim's token is still the job's; true then, and
   * also when the job is already gone (an earlier try whose answer was lost). False when another claim holds
   * the job now or it was rescheduled: it is left alone.
   */
  completeMail(mail: ClaimedMail): Promise<boolean>;
  /** Schedules another attempt in `delayMs`; false when the lease was lost (someone else holds the job now). */
  retryMail(mail: ClaimedMail, delayMs: number): Promise<boolean>;
  /** Removes the job and records a DeadLetter (without the link); false when the lease was lost. */
  deadLetterMail(mail: ClaimedMail, reason: string): Promise<boolean>;
  /** The last dead letters, newest first. */
  deadLetters(count: number): Promise<DeadLetter[]>;
  /** Jobs queued (due, leased or waiting for a retry). */
  queuedMailCount(): Promise<number>;
  /** Called after a job was queued through this store instance, so the local delivery loop wakes at once. */
  onMailQueued(listener: () => void): () => void;
}

export interface ResetStore extends MailQueue {
  readonly kind: 'redis' | 'memory';
  /**
   * In one atomic step: replaces the user's live code (any earlier code stops working) with `codeHash`,
   * wrong tries 0, expiring in `ttlMs`, and queues `mail`; with `audit`, appends that event too. All happen or
   * none. Resolves with the mail's id.
   */
  issueCode(
    userId: number,
    codeHash: string,
    ttlMs: number,
    mail: MailJob,
    audit?: AuditEvent,
  ): Promise<string>;
  /**
   * Checks a code without using it, so the handler can refuse a bad new password and leave the code
   * live. A wrong code still counts as a wrong try of `from`: otherwise this check would be a free guessing
   * oracle beside consumeCode.
   */
  checkCode(userId: number, codeHash: string, maxWrongTries?: number, from?: string): Promise<CodeCheck>;
  /**
   * Uses the code: of many concurrent calls with the right code exactly one gets 'consumed'. Wrong codes
   * are counted per code and per `from` (the client address, default ''): after `maxWrongTries` (default
   * 5) that address gets 'wrong' for this code whatever it sends, and the code stays live for everyone
   * else, so a stranger spends only their own budget and cannot destroy the owner's link.
   */
  consumeCode(userId: number, codeHash: string, maxWrongTries?: number, from?: string): Promise<CodeUse>;
  /**
   * Records an event. 'ok' events go to the bounded audit stream, which only successful steps write.
   * Refusals are aggregated: the first of a caller in a window (`refusalWindowMs`) goes to the bounded
   * refusal stream, the rest only count (see recentRefusals).
   */
  appendAudit(event: AuditEvent): Promise<void>;
  /** The last successful steps, newest first. */
  recentAudit(count: number): Promise<AuditEvent[]>;
  /** The last refusal windows, newest first, each with its count. */
  recentRefusals(count: number): Promise<RefusalRecord[]>;
  close(): Promise<void>;
}

/** Wrong tries a live code survives, default 5 (issue 4: "after 5 wrong tries the code is destroyed"). */
export const MAX_WRONG_TRIES = 5;

/** Audit entries kept, default 10000 (AUDIT_STREAM_MAXLEN). */
export const DEFAULT_AUDIT_MAXLEN = 10_000;

/** The window refusals are aggregated in, default 60 s (AUDIT_REFUSAL_WINDOW_SECONDS). */
export const DEFAULT_REFUSAL_WINDOW_MS = 60_000;

/** How long a refusal window's count is kept: a day, as long as an operator needs to read an incident. */
export const REFUSAL_COUNT_TTL_MS = 24 * 3600 * 1000;

/** The start of the refusal window `at` falls in. */
export function refusalWindowStart(at: number, windowMs: number): number {
  return Math.floor(at / windowMs) * windowMs;
}

/** Dead letters kept, newest first; default 1000. */
export const DEFAULT_DEAD_LETTER_MAXLEN = 1000;
