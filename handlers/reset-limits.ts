// The rate limits of the reset flow, and the audit record both of its steps leave.
import type { CallContext } from './context';
import { recordAudit } from '../gateway/reset-store/audit';
import type { LimitHit } from '../gateway/store/store';
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
 * One mail per target per minute and five per hour (configurable), keyed on the name as asked
 * (lower-cased), so a name that does not exist is limited exactly like one that does. `by: 'email'`
 * keys on an e-mail address as asked instead (POST /api/User/authreset).
 */
export function targetLimits(asked: string, context: CallContext, by: 'name' | 'email' = 'name'): LimitHit[] {
  const { targetIntervalSeconds, targetHourlyLimit } = context.services.config.reset;
  const subject = `${by === 'name' ? 'reset:target' : 'reset:target-email'}:${asked.trim().toLowerCase()}`;
  return [
    { key: `${subject}:interval`, limit: 1, windowSeconds: targetIntervalSeconds },
    { key: `${subject}:hour`, limit: targetHourlyLimit, windowSeconds: 3600 },
  ];
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
  const { resets, clock, logger } = context.services;
  return recordAudit(resets, logger, { at: clock.now(), ...event });
}
