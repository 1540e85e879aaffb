// ResetPassword2 {UserId, Password, PendingCode}: the link's code is the credential; set the new password (seed 001).
import { z } from 'zod';
import { defineHandler } from './context';
import type { CallContext } from './context';
import { passwordProblem } from './password-policy';
import { audit, callerLabel } from './reset-limits';
import type { ResetAudit } from './reset-limits';
import { wireUserId } from './user-wire';
import { hashPendingCode } from '../gateway/reset-store/pending-code';
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
): Promise<Pick<ResetAudit, 'outcome' | 'reason'>> {
  const { store, resets, hasher, config } = context.services;
  const userId = payload.UserId;
  const codeHash = hashPendingCode(payload.PendingCode);
  const maxWrongTries = config.reset.maxWrongTries;
  // a wrong code counts against the live one here, so this check is no free guessing oracle; the user is
  // read in the same round trip (an unknown user has no code, so the answer is the same 104 either way)
  const [check, user] = await Promise.all([
    resets.checkCode(userId, codeHash, maxWrongTries),
    store.users.get(userId),
  ]);
  if (check !== 'valid' || user === null) throw new OmsError('ResourceNotFound', INVALID_LINK);
  // a refused password leaves the code live, so the user can try another with the same link
  const problem = passwordProblem(payload.Password, user, config.passwordPolicy);
  if (problem !== null) throw new OmsError('InvalidRequest', problem);
  const passwordHash = await hasher.hash(payload.Password);
  // of many concurrent calls with this code exactly one gets here with 'consumed'
  if ((await resets.consumeCode(userId, codeHash, maxWrongTries)) !== 'consumed') {
    throw new OmsError('ResourceNotFound', INVALID_LINK);
  }
  // the new hash, and the end of every session of the user on every gateway sharing the store (this call
  // logs no one in), together; the "changed" mail only once both are done
  const [, ended] = await Promise.all([
    store.users.setPasswordHash(userId, passwordHash),
    store.sessions.revokeAllForUser(userId),
  ]);
  await resets.enqueueMail({ kind: 'password-changed', to: user.email, userId, userName: user.userName });
  return { outcome: 'ok', reason: `password changed; ${ended} session(s) ended` };
}

export const resetPassword2 = defineHandler({
  name: NAME,
  input,
  // public: the PendingCode is the credential
  access: 'public',
  run: async (payload, context) => {
    const caller = await context.connection.currentCaller();
    const base = { step: NAME, caller: callerLabel(caller, context), targetUserId: payload.UserId } as const;
    try {
      await audit(context, { ...base, ...(await changePassword(payload, context)) });
      return undefined;
    } catch (error) {
      const reason = error instanceof OmsError ? (error.detail ?? error.errormsg) : 'server error';
      await audit(context, { ...base, outcome: 'refused', reason });
      throw error;
    }
  },
});
