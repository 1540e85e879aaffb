// AuthenticateUser: log in with UserName + Password, or with an API key (APIKey, Signature, UserId, Nonce).
import { z } from 'zod';
import { defineHandler } from './context';
import { AuthenticateUserReply } from './replies';
import { loginWithApiKey, loginWithPassword } from '../core/login';
import type { LoginResult } from '../core/login';
import { toAuthenticatedUser, wireUserId, wireUserName } from './user-wire';
import { OmsError } from '../protocol/codes';

const input = z.object({
  UserName: wireUserName.optional(),
  Password: z.string().max(1024).optional(),
  APIKey: z.string().min(1).max(256).optional(),
  Signature: z.string().min(1).max(256).optional(),
  UserId: wireUserId.optional(),
  /** digits kept as text: the signature covers the nonce as sent */
  Nonce: z
    .union([z.number().int().nonnegative(), z.string().regex(/^\d{1,15}$/, 'must be a non-negative integer')])
    .transform(String)
    .optional(),
});

function reply(result: LoginResult) {
  return {
    Authenticated: result.ok,
    SessionToken: result.ok ? result.sessionToken : null,
    User: result.ok ? toAuthenticatedUser(result.user) : null,
    Locked: !result.ok && result.locked,
    Requires2FA: false,
    TwoFAType: null,
    TwoFAToken: null,
    errormsg: result.ok ? null : result.errormsg,
  };
}

export const authenticateUser = defineHandler({
  name: 'AuthenticateUser',
  input,
  summary: 'Log in with UserName and Password, or with an API key (APIKey, Signature, UserId, Nonce).',
  output: AuthenticateUserReply,
  errors: {
    InvalidRequest:
      'neither UserName and Password nor a whole API-key login (APIKey, Signature, UserId, Nonce)',
    OperationFailed: 'too many failed logins (the wait is in detail)',
  },
  access: 'public',
  run: async (payload, context) => {
    if (payload.APIKey !== undefined) {
      const { APIKey, Signature, UserId, Nonce } = payload;
      if (Signature === undefined || UserId === undefined || Nonce === undefined) {
        throw new OmsError('InvalidRequest', 'APIKey login needs APIKey, Signature, UserId and Nonce');
      }
      return reply(
        await loginWithApiKey(context, {
          apiKey: APIKey,
          signature: Signature,
          userId: UserId,
          nonce: Nonce,
        }),
      );
    }
    if (payload.UserName === undefined || payload.Password === undefined) {
      throw new OmsError(
        'InvalidRequest',
        'UserName and Password are required (or APIKey, Signature, UserId, Nonce)',
      );
    }
    return reply(await loginWithPassword(context, payload.UserName, payload.Password));
  },
});
