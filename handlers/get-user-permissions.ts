// GetUserPermissions: a user's permission names, scoped like GetUserInfo.
import { z } from 'zod';
import { findTargetUser } from './access';
import { defineHandler } from './context';
import { UserPermissionsReply } from './replies';
import { wireUserId } from './user-wire';

export const getUserPermissions = defineHandler({
  name: 'GetUserPermissions',
  input: z.object({ UserId: wireUserId }),
  summary: "A user's permission names, scoped like GetUserInfo.",
  output: UserPermissionsReply,
  errors: {
    NotAuthorized: "no session, or the user is out of the caller's reach",
    ResourceNotFound: 'no such user (for callers who may see any user)',
  },
  access: 'session',
  run: async (payload, context) => {
    const target = await findTargetUser(context.services, context.caller!, { userId: payload.UserId });
    return [...target.permissions];
  },
});
