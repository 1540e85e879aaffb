// The rate limits of the reset flow, and the audit record both of its steps leave.
import type { CallContext } from './services';
import { recordAudit } from './audit';
import type { TargetLimits } from './reset-flow';
import type { LimitHit } from './ports/store';
import { OmsError } from '../protocol/codes';
import type { Caller } from '../protocol/handler';

/** The 101 a refused reset request gets, with the wait in `detail`. */
export function tooManyResets(retryAfterSeconds: number): OmsError {
  return new OmsError('OperationFailed', `Too many reset requests; retry after ${retryAfterSeconds} seconds`);
}

/** Who asked: a user's id, or the client address of an anonymous caller. Goes to audit, never to the wire. */
export function callerLabel(caller: Caller | null, context: CallContext): string {
  return caller ? `user:${caller.userId}` : `address:${context.connection.clientAddress}`;
}

/** 20 requests per caller per 10 minutes (configurable): per user when logged in, else per client address. */
export function callerLimit(caller: Caller | null, context: CallContext): LimitHit {
  const { callerLimit: limit, callerWindowSeconds } = context.services.config.reset;
  return { key: `reset:caller:${callerLabel(caller, context)}`, limit, windowSeconds: callerWindowSeconds };
}

/**
 * One mail per target per minute and five per hour (configurable), keyed by the user once the store step
 * has found it, so ResetPassword by name and authreset by e-mail share one budget per user. A target nobody
 * is keys on the name (or, `by: 'email'`, the e-mail address) as asked, lower-cased, so a name that does not
 * exist is limited exactly like one that does.
 */
export function targetLimits(
  asked: string,
  context: CallContext,
  by: 'name' | 'email' = 'name',
): TargetLimits {
  const { targetIntervalSeconds, targetHourlyLimit } = context.services.config.reset;
  return {
    unknownStem: `${by === 'name' ? 'reset:target' : 'reset:target-email'}:${asked.trim().toLowerCase()}`,
    hits: [
      { suffix: 'interval', limit: 1, windowSeconds: targetIntervalSeconds },
      { suffix: 'hour', limit: targetHourlyLimit, windowSeconds: 3600 },
    ],
  };
}

/** ResetPassword2 calls per client address (RESET_COMPLETE_ADDRESS_LIMIT per …_WINDOW_SECONDS). */
export function completeAddressLimit(context: CallContext): LimitHit {
  const { completeAddressLimit: limit, completeAddressWindowSeconds } = context.services.config.reset;
  return {
    key: `reset-complete:address:${context.connection.clientAddress}`,
    limit,
    windowSeconds: completeAddressWindowSeconds,
  };
}

/** The 101 a ResetPassword2 from an address past its limit gets, with the wait in `detail`. */
export function tooManyCompletions(retryAfterSeconds: number): OmsError {
  return new OmsError(
    'OperationFailed',
    `Too many password reset attempts from this address; retry after ${retryAfterSeconds} seconds`,
  );
}

export interface ResetAudit {
  readonly step: 'ResetPassword' | 'ResetPassword2' | 'User/authreset';
  readonly caller: string;
  readonly targetUserId: number | null;
  readonly outcome: 'ok' | 'refused';
  readonly reason: string;
}

/** Logs the record and appends it to the bounded audit stream (never the code or the password). */
export function audit(context: CallContext, event: ResetAudit): Promise<void> {
  const { resets, clock, logger, config } = context.services;
  return recordAudit(resets, logger, { at: clock.now(), ...event }, config.auditRefusalWindowSeconds * 1000);
}
