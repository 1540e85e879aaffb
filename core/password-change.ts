// The password change of a reset link: the PendingCode is the credential (seed 001).
import { hashPendingCode } from './pending-code';
import { passwordProblem } from './password-policy';
import type { PasswordChangeResult } from './reset-flow';
import { completeAddressLimit, tooManyCompletions } from './reset-limits';
import type { CallContext } from './services';
import { OmsError } from '../protocol/codes';

/** One answer for unknown user, wrong, used and expired code: the page can say what to do, not which it was. */
export const INVALID_LINK = 'Invalid or expired link; ask for a new password reset e-mail';

/** What ResetPassword2 carries: the link's user and code, and the new password. */
export interface PasswordReset {
  readonly UserId: number;
  readonly Password: string;
  readonly PendingCode: string;
}

/**
 * The password change behind a reset link, for whichever front door (the socket, POST /AP/ResetPassword2):
 * bounded per address, the code checked before any hashing, the policy, then one store step.
 */
export async function changePassword(
  payload: PasswordReset,
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
    mail: {
      kind: 'password-changed',
      to: user.email,
      userId,
      userName: user.userName,
      ...(user.language === null ? {} : { language: user.language }),
    },
    audit: { at: clock.now(), step: 'ResetPassword2', caller },
  });
  if (result.outcome !== 'changed') throw new OmsError('ResourceNotFound', INVALID_LINK);
  return result;
}
