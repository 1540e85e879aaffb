// The reply payloads of the wire functions, as schemas: each handler names its own, and the API documents
// (AsyncAPI, OpenAPI, docs/protocol-reference.md) are generated from them. tests/gateway/api-docs checks real replies.
import { z } from 'zod';
import { ErrorCodes } from '../protocol/codes';

/** The OMS standard response object as a schema (protocol/standard-response.ts), for the replies of functions documented to return it. */
export const StandardResponseSchema = z
  .object({
    result: z.boolean(),
    errormsg: z.enum(Object.values(ErrorCodes).map((entry) => entry.message)).nullable(),
    errorcode: z.union([z.literal(0), ...Object.values(ErrorCodes).map((entry) => z.literal(entry.code))]),
    detail: z.string().nullable(),
  })
  .meta({ description: 'The OMS standard response object' });

export const PingReply = z.object({ msg: z.literal('PONG') });

const AuthenticatedUser = z.object({
  UserId: z.number().int().positive(),
  UserName: z.string(),
  Email: z.string(),
  EmailVerified: z.boolean(),
  AccountId: z.number().int().nonnegative(),
  OMSId: z.number().int(),
  Use2FA: z.literal(false),
});

export const AuthenticateUserReply = z.object({
  Authenticated: z.boolean(),
  /** the session's credential: send it as WebAuthenticateUser {SessionToken} or as the APToken header */
  SessionToken: z.string().nullable(),
  User: AuthenticatedUser.nullable(),
  Locked: z.boolean(),
  Requires2FA: z.literal(false),
  TwoFAType: z.null(),
  TwoFAToken: z.null(),
  /** why a login failed, null on success */
  errormsg: z.string().nullable(),
});

export const WebAuthenticateUserReply = z.union([
  z.object({
    Authenticated: z.literal(true),
    SessionToken: z.string(),
    UserId: z.number().int().positive(),
    Requires2FA: z.literal(false),
    errormsg: z.null(),
  }),
  z.object({ Authenticated: z.literal(false), errormsg: z.string() }),
]);

export const UserInfoReply = AuthenticatedUser.omit({ Use2FA: true }).extend({
  DateTimeCreated: z.string(),
  Use2FA: z.literal(false),
  Locked: z.boolean(),
});

export const UserPermissionsReply = z.array(z.string());
