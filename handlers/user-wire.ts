// The user record at the wire edge: PascalCase as OMS clients read it, and never the password hash.
import { z } from 'zod';
import type { UserRecord } from '../core/ports/store';

/** A UserId as clients send it: a positive integer, or its digits in a string (the seeds type it "string"). */
export const wireUserId = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^[1-9]\d{0,14}$/, 'must be a positive integer')
    .transform(Number),
]);

/** A user name as sent: at most 128 characters (longer cannot exist). */
export const wireUserName = z.string().min(1).max(128);

/**
 * The user as OMS clients read it (the GetUserInfo reply): the one mapping from the record to PascalCase, which
 * AuthenticateUser's `User` and the oms-gateway command's lines are made from. Never the password hash.
 */
export function toUserInfo(user: UserRecord) {
  return {
    UserId: user.userId,
    UserName: user.userName,
    Email: user.email,
    EmailVerified: user.emailVerified,
    AccountId: user.accountId,
    DateTimeCreated: user.createdAt,
    OMSId: user.omsId,
    Use2FA: false,
    Locked: user.locked,
  };
}

/** The `User` object of AuthenticateUser: GetUserInfo's fields less its creation time and lock. */
export function toAuthenticatedUser(user: UserRecord) {
  const { UserId, UserName, Email, EmailVerified, AccountId, OMSId, Use2FA } = toUserInfo(user);
  return { UserId, UserName, Email, EmailVerified, AccountId, OMSId, Use2FA };
}
