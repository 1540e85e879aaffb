// GetUserInfo: the caller's own record, or (Operator: anyone; Trading, AccountReadOnly: same account) another's.
import { z } from 'zod';
import { findTargetUser } from './access';
import { defineHandler } from './context';
import { UserInfoReply } from './replies';
import { toUserInfo, wireUserId, wireUserName } from './user-wire';

export const getUserInfo = defineHandler({
  name: 'GetUserInfo',
  input: z.object({ UserId: wireUserId.optional(), UserName: wireUserName.optional() }),
  summary: "A user's record: one's own, or (with the reach rule) another's by UserId or UserName.",
  output: UserInfoReply,
  errors: {
    NotAuthorized: "no session, or the user is out of the caller's reach",
    ResourceNotFound: 'no such user (for callers who may see any user)',
  },
  access: 'session',
  run: async (payload, context) => {
    const target = await findTargetUser(context.services, context.caller!, {
      userId: payload.UserId,
      userName: payload.UserName,
    });
    return toUserInfo(target);
  },
});
