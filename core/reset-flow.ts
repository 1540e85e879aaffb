// The two reset steps as one store operation each: all the reads and writes of one ResetPassword (or authreset)
// request, and all the writes of one ResetPassword2 after its hash, decided and done in one atomic step. On
// Redis that is one script, one round trip (redis-reset-flow.ts); composeResetFlow does the same with the
// stores' own operations, for the embedded store. One contract suite tests both (tests/gateway/reset-store).
import type { MailJob, ResetMailJob } from './mail-job';
import type { LimitHit, Store, UserRecord } from './ports/store';
import type { AuditEvent, ResetStore } from './ports/reset-store';
import type { Language } from './languages';
import { inReach } from './reach';
import type { Reach } from './reach';

/** Who asked and when, for the audit event the step appends. */
export type AuditBase = Pick<AuditEvent, 'at' | 'step' | 'caller'>;

/** The reset mail less what only the lookup knows (recipient, name, the UserId in the link). */
export interface ResetMailTemplate {
  /** The link before and after the UserId (resetLinkParts): the step puts the target's id between. */
  readonly link: readonly [head: string, tail: string];
  readonly expiresInMinutes: number;
  readonly fromName?: string;
  /** The request's language (authreset's Accept-Language), for a user without one of their own. */
  readonly language?: Language;
}

/** One per-target limit: its key is the target's stem and this suffix. */
export interface TargetHit {
  readonly suffix: string;
  readonly limit: number;
  readonly windowSeconds: number;
}

/**
 * The per-target mail limits. Keyed by the user once found (targetStem), so ResetPassword by name and
 * authreset by e-mail share one budget; a target nobody is keys on what was asked (`unknownStem`), so it
 * is limited exactly like a user.
 */
export interface TargetLimits {
  readonly unknownStem: string;
  readonly hits: readonly TargetHit[];
}

/** The stem of a found user's per-target limit keys (the Redis request script builds the same). */
export function targetStem(userId: number): string {
  return `reset:target:user:${userId}`;
}

/** The limits of a target: by its user when found, else by what was asked. */
export function targetLimitHits(limits: TargetLimits, userId: number | null): LimitHit[] {
  const stem = userId === null ? limits.unknownStem : targetStem(userId);
  return limits.hits.map((hit) => ({
    key: `${stem}:${hit.suffix}`,
    limit: hit.limit,
    windowSeconds: hit.windowSeconds,
  }));
}

export interface ResetRequest {
  /** the target as asked */
  readonly lookup: { readonly by: 'name' | 'email'; readonly value: string };
  /** counted in order first, whoever the target; the first that refuses stops the request */
  readonly limits: readonly LimitHit[];
  /** counted next, in order, and only for a target in reach */
  readonly targetLimits: TargetLimits;
  /** null: any user; else only the user `self` and users sharing one of `accountIds` */
  readonly reach: Reach | null;
  /** SHA-256 of the new code (the code itself is only in the mail's link) */
  readonly codeHash: string;
  readonly ttlMs: number;
  readonly mail: ResetMailTemplate;
  readonly audit: AuditBase;
}

/**
 * How a request ended. 'queued': the code replaced the target's live one and the mail is queued; the rest
 * wrote nothing but their limits' counts and the audit event.
 */
export type ResetRequestOutcome = 'queued' | 'limited' | 'unknown' | 'out of reach' | 'locked';

export interface ResetRequestResult {
  readonly outcome: ResetRequestOutcome;
  /** the user found (null when the name or e-mail is nobody's) */
  readonly targetUserId: number | null;
  /** 'limited': seconds until the limit that refused allows again; else 0 */
  readonly retryAfterSeconds: number;
  /** the event the step appended to the audit stream (for the log line) */
  readonly audit: AuditEvent;
}

export interface PasswordChange {
  readonly userId: number;
  readonly codeHash: string;
  readonly maxWrongTries: number;
  /** the client address whose wrong tries a wrong code counts as (consumeCode's `from`) */
  readonly from: string;
  /** the new password's PHC string */
  readonly passwordHash: string;
  /** the "password changed" mail, queued with the change */
  readonly mail: MailJob;
  readonly audit: AuditBase;
}

/** 'changed': code used, hash set, sessions ended, mail queued, audited; else nothing but a wrong try's count. */
export type PasswordChangeOutcome = 'changed' | 'wrong' | 'none';

export interface PasswordChangeResult {
  readonly outcome: PasswordChangeOutcome;
  readonly sessionsEnded: number;
  /** 'changed': the event appended; else null (the caller audits its refusal) */
  readonly audit: AuditEvent | null;
}

export interface ResetFlow {
  /** ResetPassword's and authreset's whole store step: limits, lookup, reach, code, mail, audit. */
  requestReset(request: ResetRequest): Promise<ResetRequestResult>;
  /**
   * ResetPassword2's step after hashing: of many concurrent changes with the right code exactly one gets
   * 'changed'. A wrong code counts against the live one like consumeCode; a user gone since is 'none'.
   */
  changePassword(change: PasswordChange): Promise<PasswordChangeResult>;
}

/** The audit reason of each outcome ('unknown' names what was asked by). */
export function requestReason(outcome: ResetRequestOutcome, by: 'name' | 'email'): string {
  if (outcome === 'unknown') return by === 'name' ? 'unknown user name' : 'unknown e-mail';
  return REQUEST_REASONS[outcome];
}

const REQUEST_REASONS: Readonly<Record<Exclude<ResetRequestOutcome, 'unknown'>, string>> = {
  queued: 'mail queued',
  limited: 'rate limited',
  'out of reach': 'out of reach',
  locked: 'user locked',
};

/** The audit reason of a change; `{n}` is the number of sessions ended. */
export const CHANGED_REASON = 'password changed; {n} session(s) ended';

/** The event a step appends. */
export function requestAudit(
  request: ResetRequest,
  outcome: ResetRequestOutcome,
  target: number | null,
): AuditEvent {
  return {
    ...request.audit,
    targetUserId: target,
    outcome: outcome === 'queued' ? 'ok' : 'refused',
    reason: requestReason(outcome, request.lookup.by),
  };
}

/** The event a password change appends. */
export function changeAudit(change: PasswordChange, sessionsEnded: number): AuditEvent {
  return {
    ...change.audit,
    targetUserId: change.userId,
    outcome: 'ok',
    reason: CHANGED_REASON.replace('{n}', String(sessionsEnded)),
  };
}

/** The full reset mail of a template, for a target: in the target's language, else the request's. */
export function resetMailFor(
  template: ResetMailTemplate,
  target: Pick<UserRecord, 'userId' | 'email' | 'userName' | 'language'>,
): ResetMailJob {
  const language = target.language ?? template.language;
  return {
    kind: 'reset',
    to: target.email,
    userId: target.userId,
    userName: target.userName,
    link: `${template.link[0]}${target.userId}${template.link[1]}`,
    expiresInMinutes: template.expiresInMinutes,
    ...(template.fromName === undefined ? {} : { fromName: template.fromName }),
    ...(language === undefined ? {} : { language }),
  };
}

/**
 * The flow from the stores' own operations: for the embedded store, whose operations each run to the end
 * before resolving. Not one atomic step on Redis (the gateway uses RedisResetFlow there).
 */
export function composeResetFlow(store: Store, resets: ResetStore): ResetFlow {
  async function limited(hits: readonly LimitHit[]): Promise<number | null> {
    const decision = await store.limits.hitAll(hits);
    return decision.allowed ? null : decision.retryAfterSeconds;
  }

  async function requestReset(request: ResetRequest): Promise<ResetRequestResult> {
    const { lookup, reach } = request;
    const found =
      lookup.by === 'name'
        ? await store.users.findByName(lookup.value)
        : await store.users.findByEmail(lookup.value);
    const end = async (
      outcome: ResetRequestOutcome,
      retryAfterSeconds = 0,
      record = true,
    ): Promise<ResetRequestResult> => {
      const audit = requestAudit(request, outcome, found?.userId ?? null);
      if (record) await resets.appendAudit(audit);
      return { outcome, targetUserId: audit.targetUserId, retryAfterSeconds, audit };
    };
    const wait = await limited(request.limits);
    if (wait !== null) return end('limited', wait);
    if (reach !== null && (found === null || !inReach(reach, found))) {
      return end(found === null ? 'unknown' : 'out of reach');
    }
    const reachWait = await limited(targetLimitHits(request.targetLimits, found?.userId ?? null));
    if (reachWait !== null) return end('limited', reachWait);
    if (found === null) return end('unknown');
    if (found.locked) return end('locked');
    const result = await end('queued', 0, false);
    await resets.issueCode(
      found.userId,
      request.codeHash,
      request.ttlMs,
      resetMailFor(request.mail, found),
      result.audit,
    );
    return result;
  }

  async function changePassword(change: PasswordChange): Promise<PasswordChangeResult> {
    const used = await resets.consumeCode(change.userId, change.codeHash, change.maxWrongTries, change.from);
    if (used !== 'consumed') return { outcome: used, sessionsEnded: 0, audit: null };
    if ((await store.users.setPasswordHash(change.userId, change.passwordHash)) === null) {
      return { outcome: 'none', sessionsEnded: 0, audit: null };
    }
    const sessionsEnded = await store.sessions.revokeAllForUser(change.userId);
    await resets.enqueueMail(change.mail);
    const audit = changeAudit(change, sessionsEnded);
    await resets.appendAudit(audit);
    return { outcome: 'changed', sessionsEnded, audit };
  }

  return { requestReset, changePassword };
}
