// ResetPassword {UserName}: issue a pending code for the user and queue the reset mail (seed 000).
import { z } from 'zod';
import { defineHandler } from './context';
import { StandardResponseSchema } from './replies';
import type { CallContext } from './context';
import { wireUserName } from './user-wire';
import { targetRefusal } from './access';
import { refusalReason } from '../core/audit';
import type { ResetRequestResult } from '../core/reset-flow';
import { audit, callerLabel, callerLimit, targetLimits, tooManyResets } from '../core/reset-limits';
import { reachOf } from '../core/reach';
import { queueReset } from '../core/reset-request';
import { OmsError } from '../protocol/codes';
import { isPermitted } from '../protocol/dispatch';
import type { Caller } from '../protocol/handler';

const NAME = 'ResetPassword';
/** As the seed says: Operator for anyone, Trading for users sharing one of its accounts. */
const ACCESS = { permissions: ['Operator', 'Trading'] } as const;

/**
 * The request of a caller who may ask at all. A Trading caller reaches itself and the users sharing one of
 * its accounts, and its target limits count only for those, so it cannot use up the mail budget of users it
 * may not reset; an Operator reaches anyone. An anonymous caller (RESET_ALLOW_PUBLIC) gets success whatever
 * the name, so the answer says nothing about which names exist or are locked.
 */
function requestReset(
  caller: Caller | null,
  userName: string,
  context: CallContext,
  who: string,
): Promise<ResetRequestResult> {
  return queueReset(context, {
    lookup: { by: 'name', value: userName },
    limits: [callerLimit(caller, context)],
    targetLimits: targetLimits(userName, context),
    reach: caller === null ? null : reachOf(caller, ACCESS.permissions),
    mail: {},
    audit: { step: NAME, caller: who },
  });
}

/** The answer to what the store step decided (and audited). */
function answer(result: ResetRequestResult, caller: Caller | null): void {
  switch (result.outcome) {
    case 'queued':
      return;
    case 'limited':
      throw tooManyResets(result.retryAfterSeconds);
    case 'locked':
      if (caller !== null) throw new OmsError('OperationFailed', 'User is locked');
      return;
    case 'unknown':
    case 'out of reach':
      if (caller === null) return;
      throw targetRefusal(caller, result.outcome === 'unknown');
  }
}

export const resetPassword = defineHandler({
  name: NAME,
  input: z.object({ UserName: wireUserName }),
  summary:
    'Mail a password-reset link to a user (by UserName); the same answer whether or not the user exists.',
  output: StandardResponseSchema,
  errors: {
    NotAuthorized: "no session (unless RESET_ALLOW_PUBLIC), or the target is out of the caller's reach",
    OperationFailed: 'a reset limit was hit (the wait is in detail), or the target is locked',
    ResourceNotFound: 'no such user (only for Operators; public callers get success either way)',
    ServerError:
      'the store did not answer; the reset may still have been done and its mail will go, so a retry can be refused by the per-target limit',
  },
  // checked in run: whether a session is needed depends on RESET_ALLOW_PUBLIC
  access: 'public',
  run: async ({ UserName }, context) => {
    const caller = await context.connection.currentCaller();
    const who = callerLabel(caller, context);
    const refused = (reason: string): Promise<void> =>
      audit(context, { step: NAME, caller: who, targetUserId: null, outcome: 'refused', reason });
    if (caller === null ? !context.services.config.reset.allowPublic : !isPermitted(ACCESS, NAME, caller)) {
      const refusal = new OmsError('NotAuthorized', caller === null ? 'Not logged in' : 'Permission denied');
      await refused(refusal.detail ?? refusal.errormsg);
      throw refusal;
    }
    let result: ResetRequestResult;
    try {
      result = await requestReset(caller, UserName, context, who);
    } catch (error) {
      // the store step did not happen (it audits what it decides)
      await refused(refusalReason(error));
      throw error;
    }
    answer(result, caller);
    return undefined;
  },
});
