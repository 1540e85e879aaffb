// GetUserInfo: the caller's own record, or (Operator: anyone; Trading, AccountReadOnly: same account) another's.
import { z } from 'zod';
import { findTargetUser } from './access';
import { defineHandler } from './context';
import { toUserInfo, wireUserId, wireUserName } from './user-wire';

export const getUserInfo = defineHandler({
  name: 'GetUserInfo',
  input: z.object({ UserId: wireUserId.optional(), UserName: wireUserName.optional() }),
  access: 'session',
  run: async (payload, context) => {
    const target = await findTargetUser(context.services, context.caller!, {
      userId: payload.UserId,
      userName: payload.UserName,
    });
    return toUserInfo(target);
  },
});
