// The mail delivery loop: takes queued jobs from the reset store, sends them, retries with backoff, dead-letters.
//
// Delivery is at-least-once. A job is leased while it is sent; it leaves the queue only after the mailer
// reported success (2xx), and with it the link it holds. Each claim carries its own lease token, and only
// the current holder can complete, reschedule or dead-letter the job (fencing). When the queue is unreachable
// right after a send, the step is tried again with backoff while the lease lasts (issue 11, finding 6), so a
// Redis blink does not send a mail twice. What is left: a gateway that dies between SendGrid's 202 and the
// completion, an outage that outlasts the lease, or a send that outlives it (keep leaseMs well above the
// mailer's timeout) can make one mail go out twice; no mail is lost, and a gateway that restarts picks up
// whatever is still queued. Several gateways on one Redis share the queue: a claim is atomic, so each job
// is sent by one of them.
import { StoreUnavailableError } from '../../core/ports/store';
import type { Logger } from '../logger';
import type { ClaimedMail, MailQueue } from '../../core/ports/reset-store';
import type { MailJob } from '../../core/mail-job';
import type { Mailer, MailMessage, SendOutcome } from '../../core/ports/mailer';
import { renderMail } from './templates';

export interface MailDeliveryOptions {
  /** sends of one mail before it is dead-lettered, default 8 */
  readonly maxAttempts?: number;
  /** first retry delay, doubled each attempt, with jitter; default 1000 ms */
  readonly retryBaseMs?: number;
  /** longest retry delay, default 300000 ms */
  readonly retryMaxMs?: number;
  /** how long a claimed job is ours before another gateway may take it, default 60000 ms */
  readonly leaseMs?: number;
  /** how often an idle loop looks for work queued elsewhere (another gateway), default 1000 ms */
  readonly pollMs?: number;
  /** mails sent at the same time, default 2 */
  readonly concurrency?: number;
  /** turns a job into a mail, default renderMail */
  readonly render?: (job: MailJob) => MailMessage;
  /** [0, 1) for jitter, default Math.random */
  readonly random?: () => number;
  /** told what became of each send (metrics), default nothing */
  readonly onOutcome?: (kind: MailJob['kind'], outcome: DeliveryOutcome) => void;
}

/** What the loop did with one claimed mail. */
export type DeliveryOutcome = 'sent' | 'retry' | 'rejected' | 'dead';

/** First wait before a queue step is tried again while the queue is unreachable; doubled each time. */
const QUEUE_RETRY_FIRST_MS = 50;
/** Longest wait between two tries of a queue step. */
const QUEUE_RETRY_MAX_MS = 1000;

/** A claimed mail and when its lease ends on this process's monotonic clock (performance.now()). */
interface Lease {
  readonly mail: ClaimedMail;
  readonly endsAt: number;
}

export class MailDelivery {
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly render: (job: MailJob) => MailMessage;
  private readonly random: () => number;
  private readonly onOutcome: (kind: MailJob['kind'], outcome: DeliveryOutcome) => void;
  private running = false;
  private workers: Promise<void>[] = [];
  /** Resolvers of idle workers: a queued job or stop() wakes them. */
  private readonly sleepers = new Set<() => void>();
  /** Counts nudges, so a nudge that lands while a worker is between its claim and its sleep is not lost. */
  private nudges = 0;
  private unsubscribe: (() => void) | undefined;
  private queueDown = false;

  constructor(
    private readonly queue: MailQueue,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
    options: MailDeliveryOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryBaseMs = options.retryBaseMs ?? 1000;
    this.retryMaxMs = options.retryMaxMs ?? 300_000;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.pollMs = options.pollMs ?? 1000;
    this.concurrency = options.concurrency ?? 2;
    this.render = options.render ?? renderMail;
    this.random = options.random ?? Math.random;
    this.onOutcome = options.onOutcome ?? (() => undefined);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.queue.onMailQueued(() => this.nudge());
    this.workers = Array.from({ length: this.concurrency }, () => this.work());
    this.logger.debug({ mailer: this.mailer.kind, concurrency: this.concurrency }, 'mail delivery started');
  }

  /**
   * Stops taking jobs, wakes idle workers, and resolves once sends in flight have finished (bounded by the
   * mailer's timeout) and been recorded in the queue (bounded by their lease while the queue is unreachable).
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.nudge();
    await Promise.all(this.workers);
    this.workers = [];
    this.logger.debug('mail delivery stopped');
  }

  /** Wakes idle workers now (a job was queued in this process). */
  nudge(): void {
    this.nudges += 1;
    for (const wake of [...this.sleepers]) wake();
  }

  private async work(): Promise<void> {
    while (this.running) {
      const seen = this.nudges;
      let wait: number;
      try {
        // measured before the claim: the lease Redis grants ends no earlier than this
        const claimedAt = performance.now();
        const claim = await this.queue.claimMail(this.leaseMs);
        if (this.queueDown) this.logger.info('mail queue reachable again');
        this.queueDown = false;
        if (claim.mail !== null) {
          await this.deliver({ mail: claim.mail, endsAt: claimedAt + this.leaseMs });
          continue;
        }
        wait = claim.nextDueInMs === null ? this.pollMs : Math.min(this.pollMs, claim.nextDueInMs);
      } catch (error) {
        if (!this.queueDown)
          this.logger.error({ err: error }, 'mail queue unreachable; mail waits until it returns');
        this.queueDown = true;
        wait = this.pollMs;
      }
      if (this.nudges === seen) await this.sleep(wait);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private async deliver(lease: Lease): Promise<void> {
    const { mail } = lease;
    // ids, kind and user only: the job's link carries the code and never reaches a log line
    const fields = { mailId: mail.id, mail: mail.job.kind, userId: mail.job.userId, attempt: mail.attempt };
    if (mail.attempt > this.maxAttempts) {
      // the last attempt's holder died before reporting: its lease ran out and the job came back
      this.onOutcome(mail.job.kind, 'dead');
      return this.deadLetter(lease, 'attempts exhausted (the last one did not report back)', fields);
    }
    let outcome: SendOutcome;
    try {
      outcome = await this.mailer.send(this.render(mail.job));
    } catch (error) {
      // the mailers classify every failure; a throw is a bug in rendering or a mailer: do not send it again
      this.logger.error({ ...fields, err: error }, 'mail could not be prepared');
      this.onOutcome(mail.job.kind, 'dead');
      return this.deadLetter(lease, 'could not be prepared', fields);
    }
    const outcomeKind: DeliveryOutcome =
      outcome.status === 'sent'
        ? 'sent'
        : outcome.status === 'reject'
          ? 'rejected'
          : mail.attempt >= this.maxAttempts
            ? 'dead'
            : 'retry';
    this.onOutcome(mail.job.kind, outcomeKind);
    if (outcome.status === 'sent') {
      const completed = await this.whileLeased(lease, fields, () => this.queue.completeMail(mail));
      if (completed === true) this.logger.info(fields, 'mail sent');
      else if (completed === false)
        // another gateway holds the job now: it sends it again; this one must not
        this.logger.warn(fields, 'mail sent, but its lease was taken over before it was completed');
    } else if (outcome.status === 'reject') {
      this.logger.error({ ...fields, reason: outcome.reason }, 'mail rejected by the provider; not retried');
      await this.deadLetter(lease, outcome.reason, fields);
    } else if (mail.attempt >= this.maxAttempts) {
      this.logger.error({ ...fields, reason: outcome.reason }, 'mail still failing after the last attempt');
      await this.deadLetter(lease, outcome.reason, fields);
    } else {
      const delayMs = this.retryDelay(mail.attempt, outcome.retryAfterMs);
      this.logger.warn({ ...fields, reason: outcome.reason, delayMs }, 'mail send failed; will retry');
      const rescheduled = await this.whileLeased(lease, fields, () => this.queue.retryMail(mail, delayMs));
      if (rescheduled === false) this.logger.warn(fields, 'mail lease lost before the retry');
    }
  }

  private async deadLetter(lease: Lease, reason: string, fields: Record<string, unknown>): Promise<void> {
    const done = await this.whileLeased(lease, fields, () => this.queue.deadLetterMail(lease.mail, reason));
    if (done === true) this.logger.error({ ...fields, reason }, 'mail dead-lettered');
    else if (done === false) this.logger.warn(fields, 'mail lease lost before dead-lettering');
  }

  /**
   * Runs one fenced queue step for a leased mail; while the queue is unreachable, tries it again with
   * bounded backoff as long as the lease lasts (no other gateway can take the job meanwhile). Resolves with
   * the step's answer (false: the lease was taken over), or 'unrecorded' once the lease would run out or
   * on an unexpected error, after logging it: the job then comes back to the queue and is claimed again.
   */
  private async whileLeased(
    lease: Lease,
    fields: Record<string, unknown>,
    step: () => Promise<boolean>,
  ): Promise<boolean | 'unrecorded'> {
    let waitMs = QUEUE_RETRY_FIRST_MS;
    for (let tries = 1; ; tries += 1) {
      try {
        const answer = await step();
        if (tries > 1) this.logger.info({ ...fields, tries }, 'mail queue reachable again after a send');
        return answer;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) {
          this.logger.error(
            { ...fields, err: error },
            'mail queue step failed; the job comes back after its lease',
          );
          return 'unrecorded';
        }
        const leftMs = lease.endsAt - performance.now();
        if (leftMs <= waitMs) {
          this.logger.error(
            { ...fields, tries, err: error },
            'mail queue unreachable until the lease ran out; the mail may be sent again',
          );
          return 'unrecorded';
        }
        if (tries === 1)
          this.logger.warn(
            { ...fields, err: error },
            'mail queue unreachable after a send; trying again while the lease lasts',
          );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        waitMs = Math.min(QUEUE_RETRY_MAX_MS, waitMs * 2);
      }
    }
  }

  /** Exponential backoff with jitter in [d/2, d), at least what Retry-After asked, at most retryMaxMs. */
  private retryDelay(attempt: number, retryAfterMs: number | undefined): number {
    const exponential = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** (attempt - 1));
    const jittered = exponential / 2 + (exponential / 2) * this.random();
    return Math.round(Math.min(this.retryMaxMs, Math.max(jittered, retryAfterMs ?? 0)));
  }
}
