// ResetPassword {UserName}: issue a pending code for the user and queue the reset mail (seed 000).
import { z } from 'zod';
import { authorizeTarget } from './access';
import { defineHandler } from './context';
import type { CallContext } from './context';
import { audit, callerLabel, callerLimit, enforceLimits, targetLimits } from './reset-limits';
import type { ResetAudit } from './reset-limits';
import { wireUserName } from './user-wire';
import { buildResetLink } from '../gateway/mail/templates';
import { logAudit } from '../gateway/reset-store/audit';
import { hashPendingCode, newPendingCode } from '../gateway/reset-store/pending-code';
import type { UserRecord } from '../gateway/store/store';
import { OmsError } from '../protocol/codes';
import { isPermitted } from '../protocol/dispatch';
import type { Caller } from '../protocol/handler';

const NAME = 'ResetPassword';
/** As the seed says: Operator for anyone, Trading for users sharing one of its accounts. */
const ACCESS = { permissions: ['Operator', 'Trading'] } as const;

export type ResetOutcome = Pick<ResetAudit, 'targetUserId' | 'outcome' | 'reason'> & {
  /** true when the audit event was already written (with the code, in one store step) */
  readonly recorded?: boolean;
};

/** Who asked, for the audit event of whatever startReset decides. */
export type ResetAuditBase = Pick<ResetAudit, 'step' | 'caller'>;

/** What a front door may change about the mail (an ENTRYPOINTS_FILE entry); the rest is configuration. */
export interface ResetMailSettings {
  /** the page the link opens, default RESET_PAGE_URL */
  readonly pageUrl?: string;
  /** the sender's display name, default MAIL_FROM_NAME */
  readonly fromName?: string;
}

/**
 * Creates the code (only its SHA-256 is stored), queues the mail and appends the audit event, in one
 * atomic store step (one round trip on Redis), then logs the event: if the step fails, none of it happened,
 * and the caller's refusal is what gets audited.
 */
async function issueCode(
  target: UserRecord,
  context: CallContext,
  settings: ResetMailSettings,
  event: ResetAudit,
): Promise<void> {
  const { config, resets, clock, logger } = context.services;
  const code = newPendingCode();
  const record = { at: clock.now(), ...event };
  await resets.issueCode(
    target.userId,
    hashPendingCode(code),
    config.reset.codeTtlSeconds * 1000,
    {
      kind: 'reset',
      to: target.email,
      userId: target.userId,
      userName: target.userName,
      link: buildResetLink(settings.pageUrl ?? config.reset.pageUrl, target.userId, code),
      expiresInMinutes: Math.round(config.reset.codeTtlSeconds / 60),
      ...(settings.fromName === undefined ? {} : { fromName: settings.fromName }),
    },
    record,
  );
  logAudit(logger, record);
}

/**
 * The reset of a user found, once the caller may ask and the limits allow: every front door (ResetPassword,
 * POST /api/User/authreset) ends here, and the outcome decided here is audited here. `quiet`: a locked
 * user is an outcome, not an error, so an anonymous caller's answer is the same whether or not the user
 * exists or is locked.
 */
export async function startReset(
  target: UserRecord,
  context: CallContext,
  options: { readonly quiet: boolean; readonly mail?: ResetMailSettings; readonly audit: ResetAuditBase },
): Promise<ResetOutcome> {
  if (target.locked) {
    if (!options.quiet) throw new OmsError('OperationFailed', 'User is locked');
    const outcome = { targetUserId: target.userId, outcome: 'refused', reason: 'user locked' } as const;
    await audit(context, { ...options.audit, ...outcome });
    return { ...outcome, recorded: true };
  }
  const outcome = { targetUserId: target.userId, outcome: 'ok', reason: 'mail queued' } as const;
  await issueCode(target, context, options.mail ?? {}, { ...options.audit, ...outcome });
  return { ...outcome, recorded: true };
}

/**
 * The request itself, after the caller may ask at all. The store calls that do not depend on each other
 * go out together (one round trip): the limits, counted caller first, and the lookup. A Trading caller's
 * target limits count only once the target is known to be in its reach, so it cannot use up the mail
 * budget of users it may not reset. An anonymous caller (RESET_ALLOW_PUBLIC) gets success whatever the
 * name, so the answer says nothing about which names exist.
 */
async function requestReset(
  caller: Caller | null,
  userName: string,
  context: CallContext,
  base: ResetAuditBase,
): Promise<ResetOutcome> {
  const scoped = caller !== null && !caller.permissions.includes('Operator');
  const limits = [callerLimit(caller, context), ...targetLimits(userName, context)];
  const [, found] = await Promise.all([
    enforceLimits(scoped ? limits.slice(0, 1) : limits, context),
    context.services.store.users.findByName(userName),
  ]);
  // Trading reaches only users sharing an account: an unknown name is the same 20 as one out of reach
  const target = caller === null ? found : authorizeTarget(caller, found, ['Trading']);
  if (scoped) await enforceLimits(limits.slice(1), context);
  if (target === null) return { targetUserId: null, outcome: 'refused', reason: 'unknown user name' };
  return startReset(target, context, { quiet: caller === null, audit: base });
}

export const resetPassword = defineHandler({
  name: NAME,
  input: z.object({ UserName: wireUserName }),
  // checked in run: whether a session is needed depends on RESET_ALLOW_PUBLIC
  access: 'public',
  run: async ({ UserName }, context) => {
    const caller = await context.connection.currentCaller();
    const who = callerLabel(caller, context);
    try {
      if (caller === null && !context.services.config.reset.allowPublic) {
        throw new OmsError('NotAuthorized', 'Not logged in');
      }
      if (caller !== null && !isPermitted(ACCESS, NAME, caller)) {
        throw new OmsError('NotAuthorized', 'Permission denied');
      }
      const outcome = await requestReset(caller, UserName, context, { step: NAME, caller: who });
      if (!outcome.recorded) await audit(context, { step: NAME, caller: who, ...outcome });
      return undefined;
    } catch (error) {
      const reason = error instanceof OmsError ? (error.detail ?? error.errormsg) : 'server error';
      await audit(context, { step: NAME, caller: who, targetUserId: null, outcome: 'refused', reason });
      throw error;
    }
  },
});
