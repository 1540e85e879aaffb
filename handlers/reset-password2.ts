// ResetPassword2 {UserId, Password, PendingCode}: the link's code is the credential; set the new password (seed 001).
import { z } from 'zod';
import { defineHandler } from './context';
import { StandardResponseSchema } from './replies';
import { wireUserId } from './user-wire';
import { logAudit, refusalReason } from '../core/audit';
import { changePassword } from '../core/password-change';
import { audit, callerLabel } from '../core/reset-limits';

const NAME = 'ResetPassword2';
const input = z.object({
  UserId: wireUserId,
  // bounded before hashing anything; the policy's own 128-character rule gives the caller a clear reason
  Password: z.string().min(1).max(1024),
  // a v4 UUID as the mail wrote it; anything longer cannot be one of ours
  PendingCode: z.string().min(1).max(64),
});

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
      const reason = refusalReason(error);
      await audit(context, { step: NAME, caller, targetUserId: payload.UserId, outcome: 'refused', reason });
      throw error;
    }
  },
});
