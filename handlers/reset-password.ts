// ResetPassword {UserName}: issue a pending code for the user and queue the reset mail (seed 000).
import { z } from 'zod';
import { findTargetUser } from './access';
import { defineHandler } from './context';
import type { CallContext } from './context';
import { audit, callerLabel, limitCaller, limitTarget } from './reset-limits';
import type { ResetAudit } from './reset-limits';
import { wireUserName } from './user-wire';
import { buildResetLink } from '../gateway/mail/templates';
import { hashPendingCode, newPendingCode } from '../gateway/reset-store/pending-code';
import type { UserRecord } from '../gateway/store/store';
import { OmsError } from '../protocol/codes';
import { isPermitted } from '../protocol/dispatch';
import type { Caller } from '../protocol/handler';

const NAME = 'ResetPassword';
/** As the seed says: Operator for anyone, Trading for users sharing one of its accounts. */
const ACCESS = { permissions: ['Operator', 'Trading'] } as const;

export type ResetOutcome = Pick<ResetAudit, 'targetUserId' | 'outcome' | 'reason'>;

/** What a front door may change about the mail (an ENTRYPOINTS_FILE entry); the rest is configuration. */
export interface ResetMailSettings {
  /** the page the link opens, default RESET_PAGE_URL */
  readonly pageUrl?: string;
  /** the sender's display name, default MAIL_FROM_NAME */
  readonly fromName?: string;
}

/** Creates the code (only its SHA-256 is stored) and queues the mail, in one atomic store step. */
async function issueCode(
  target: UserRecord,
  context: CallContext,
  settings: ResetMailSettings,
): Promise<void> {
  const { config, resets } = context.services;
  const code = newPendingCode();
  await resets.issueCode(target.userId, hashPendingCode(code), config.reset.codeTtlSeconds * 1000, {
    kind: 'reset',
    to: target.email,
    userId: target.userId,
    userName: target.userName,
    link: buildResetLink(settings.pageUrl ?? config.reset.pageUrl, target.userId, code),
    expiresInMinutes: Math.round(config.reset.codeTtlSeconds / 60),
    ...(settings.fromName === undefined ? {} : { fromName: settings.fromName }),
  });
}

/**
 * The reset of a user found, once the caller may ask and the limits allow: every front door (ResetPassword,
 * POST /api/User/authreset) ends here. `quiet`: a locked user is an outcome, not an error, so an anonymous
 * caller's answer is the same whether or not the user exists or is locked.
 */
export async function startReset(
  target: UserRecord,
  context: CallContext,
  options: { readonly quiet: boolean; readonly mail?: ResetMailSettings },
): Promise<ResetOutcome> {
  if (target.locked) {
    if (!options.quiet) throw new OmsError('OperationFailed', 'User is locked');
    return { targetUserId: target.userId, outcome: 'refused', reason: 'user locked' };
  }
  await issueCode(target, context, options.mail ?? {});
  return { targetUserId: target.userId, outcome: 'ok', reason: 'mail queued' };
}

/**
 * The request itself, after the caller may ask at all. An anonymous caller (RESET_ALLOW_PUBLIC) gets
 * success whatever the name, so the answer says nothing about which names exist.
 */
async function requestReset(
  caller: Caller | null,
  userName: string,
  context: CallContext,
): Promise<ResetOutcome> {
  await limitCaller(caller, context);
  const target =
    caller === null
      ? await context.services.store.users.findByName(userName)
      : // Trading reaches only users sharing an account: an unknown name is the same 20 as one out of reach
        await findTargetUser(context.services, caller, { userName }, ['Trading']);
  await limitTarget(userName, context);
  if (target === null) return { targetUserId: null, outcome: 'refused', reason: 'unknown user name' };
  return startReset(target, context, { quiet: caller === null });
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
      await audit(context, { step: NAME, caller: who, ...(await requestReset(caller, UserName, context)) });
      return undefined;
    } catch (error) {
      const reason = error instanceof OmsError ? (error.detail ?? error.errormsg) : 'server error';
      await audit(context, { step: NAME, caller: who, targetUserId: null, outcome: 'refused', reason });
      throw error;
    }
  },
});
