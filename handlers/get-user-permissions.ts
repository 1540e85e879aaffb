// GetUserPermissions: a user's permission names, scoped like GetUserInfo.
import { z } from 'zod';
import { findTargetUser } from './access';
import { defineHandler } from './context';
import { wireUserId } from './user-wire';

export const getUserPermissions = defineHandler({
  name: 'GetUserPermissions',
  input: z.object({ UserId: wireUserId }),
  access: 'session',
  run: async (payload, context) => {
    const target = await findTargetUser(context.services, context.caller!, { userId: payload.UserId });
    return [...target.permissions];
  },
});
