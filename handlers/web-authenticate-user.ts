// WebAuthenticateUser: log in with UserName + Password, or resume a live session with its SessionToken.
import { z } from 'zod';
import { defineHandler } from './context';
import { WebAuthenticateUserReply } from './replies';
import { loginWithPassword } from '../core/login';
import { wireUserName } from './user-wire';
import { resolveSession } from '../core/sessions';
import { OmsError } from '../protocol/codes';

export const SESSION_NOT_LIVE = 'Session expired or invalid';

const input = z.object({
  UserName: wireUserName.optional(),
  Password: z.string().max(1024).optional(),
  SessionToken: z.string().min(1).max(128).optional(),
});

export const webAuthenticateUser = defineHandler({
  name: 'WebAuthenticateUser',
  input,
  summary: 'Log in with UserName and Password, or resume a live session with its SessionToken.',
  output: WebAuthenticateUserReply,
  errors: {
    InvalidRequest: 'neither UserName and Password nor SessionToken',
    OperationFailed: 'too many failed logins (the wait is in detail)',
  },
  access: 'public',
  run: async (payload, context) => {
    const { store, config, logger } = context.services;
    if (payload.SessionToken !== undefined) {
      // resuming refreshes the idle TTL like any call; the token is unguessable, so no failure limit here
      const caller = await resolveSession(store, payload.SessionToken, config.sessionTtlSeconds);
      if (caller === null) return { Authenticated: false, errormsg: SESSION_NOT_LIVE };
      // the check just made serves the next calls too (SESSION_RECHECK_MS): a storm's resume is one round trip
      context.connection.bindSession(payload.SessionToken, caller);
      logger.info({ conn: context.connection.id, userId: caller.userId }, 'session resumed');
      return {
        Authenticated: true,
        SessionToken: payload.SessionToken,
        UserId: caller.userId,
        Requires2FA: false,
        errormsg: null,
      };
    }
    if (payload.UserName === undefined || payload.Password === undefined) {
      throw new OmsError('InvalidRequest', 'UserName and Password are required, or SessionToken to resume');
    }
    const result = await loginWithPassword(context, payload.UserName, payload.Password);
    if (!result.ok) return { Authenticated: false, errormsg: result.errormsg };
    return {
      Authenticated: true,
      SessionToken: result.sessionToken,
      UserId: result.user.userId,
      Requires2FA: false,
      errormsg: null,
    };
  },
});
