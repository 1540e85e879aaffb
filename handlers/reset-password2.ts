// ResetPassword2 {UserId, Password, PendingCode}: the link's code is the credential; set the new password (seed 001).
import { z } from 'zod';
import { defineHandler } from './context';
import { StandardResponseSchema } from './replies';
import type { CallContext } from './context';
import { passwordProblem } from '../core/password-policy';
import { audit, callerLabel, completeAddressLimit, tooManyCompletions } from './reset-limits';
import { wireUserId } from './user-wire';
import { logAudit } from '../core/audit';
import { hashPendingCode } from '../core/pending-code';
import type { PasswordChangeResult } from '../core/reset-flow';
import { OmsError } from '../protocol/codes';

const NAME = 'ResetPassword2';
/** One answer for unknown user, wrong, used and expired code: the page can say what to do, not which it was. */
export const INVALID_LINK = 'Invalid or expired link; ask for a new password reset e-mail';

const input = z.object({
  UserId: wireUserId,
  // bounded before hashing anything; the policy's own 128-character rule gives the caller a clear reason
  Password: z.string().min(1).max(1024),
  // a v4 UUID as the mail wrote it; anything longer cannot be one of ours
  PendingCode: z.string().min(1).max(64),
});

type Payload = z.infer<typeof input>;

async function changePassword(
  payload: Payload,
  context: CallContext,
  caller: string,
): Promise<PasswordChangeResult> {
  const { store, resets, resetFlow, hasher, config, clock } = context.services;
  const userId = payload.UserId;
  const codeHash = hashPendingCode(payload.PendingCode);
  const maxWrongTries = config.reset.maxWrongTries;
  const from = context.connection.clientAddress;
  // every call counts, before any work: one address cannot try more than this many codes (or users)
  const decision = await store.limits.hitAll([completeAddressLimit(context)]);
  if (!decision.allowed) throw tooManyCompletions(decision.retryAfterSeconds);
  // a wrong code counts against this address's tries on the live code, so this check is no free guessing
  // oracle; the user is read in the same round trip (an unknown user has no code, so the answer is the
  // same 104 either way)
  const [check, user] = await Promise.all([
    resets.checkCode(userId, codeHash, maxWrongTries, from),
    store.users.get(userId),
  ]);
  if (check !== 'valid' || user === null) throw new OmsError('ResourceNotFound', INVALID_LINK);
  // a refused password leaves the code live, so the user can try another with the same link
  const problem = passwordProblem(payload.Password, user, config.passwordPolicy);
  if (problem !== null) throw new OmsError('InvalidRequest', problem);
  // bounded per client address like a login's check: a flood of these is refused at once, not queued
  const passwordHash = await hasher.hash(payload.Password, { address: context.connection.clientAddress });
  // one store step: of many concurrent calls with this code exactly one changes the password; with it every
  // session of the user ends on every gateway sharing the store (this call logs no one in), the "changed"
  // mail is queued and the event audited
  const result = await resetFlow.changePassword({
    userId,
    codeHash,
    maxWrongTries,
    from,
    passwordHash,
    mail: { kind: 'password-changed', to: user.email, userId, userName: user.userName },
    audit: { at: clock.now(), step: NAME, caller },
  });
  if (result.outcome !== 'changed') throw new OmsError('ResourceNotFound', INVALID_LINK);
  return result;
}

export const resetPassword2 = defineHandler({
  name: NAME,
  input,
  // public: the PendingCode is the credential
  summary: 'Set a new password with the PendingCode of a reset link; ends every session of the user.',
  output: StandardResponseSchema,
  errors: {
    InvalidRequest: 'the new password breaks the policy (detail says how)',
    ResourceNotFound: 'unknown user, wrong, used or expired code: one answer for all',
    OperationFailed: 'too many attempts (the wait is in detail)',
  },
  access: 'public',
  run: async (payload, context) => {
    const caller = callerLabel(await context.connection.currentCaller(), context);
    try {
      const { audit: changed } = await changePassword(payload, context, caller);
      if (changed !== null) logAudit(context.services.logger, changed);
      return undefined;
    } catch (error) {
      const reason = error instanceof OmsError ? (error.detail ?? error.errormsg) : 'server error';
      await audit(context, { step: NAME, caller, targetUserId: payload.UserId, outcome: 'refused', reason });
      throw error;
    }
  },
});
