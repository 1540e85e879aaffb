// Who may act on which user, for the user calls: the reach rule of core/reach.ts, with the wire's answers.
import type { Services } from './context';
import type { UserRecord } from '../core/ports/store';
import { ACCOUNT_SCOPED_PERMISSIONS, inReach, reachOf } from '../core/reach';
import { OmsError } from '../protocol/codes';
import type { Caller } from '../protocol/handler';

export { ACCOUNT_SCOPED_PERMISSIONS };

/**
 * Whether `caller` may act on `target`: itself always; an Operator anyone; a holder of one of
 * `scopedPermissions` (default Trading, AccountReadOnly) only users sharing an account with it.
 */
export function canActOn(
  caller: Caller,
  target: Pick<UserRecord, 'userId' | 'accountIds'>,
  scopedPermissions: readonly string[] = ACCOUNT_SCOPED_PERMISSIONS,
): boolean {
  return inReach(reachOf(caller, scopedPermissions), target);
}

export interface TargetQuery {
  readonly userId?: number;
  readonly userName?: string;
}

/**
 * The user a call names (by id, else by name; neither means the caller), checked against `canActOn`.
 * An unknown user is 104 for an Operator; for anyone else it is the same 20 as a user out of reach,
 * so account-scoped callers cannot learn which names exist.
 */
export async function findTargetUser(
  services: Services,
  caller: Caller,
  query: TargetQuery,
  scopedPermissions: readonly string[] = ACCOUNT_SCOPED_PERMISSIONS,
): Promise<UserRecord> {
  const { users } = services.store;
  const target =
    query.userId !== undefined
      ? await users.get(query.userId)
      : query.userName !== undefined
        ? await users.findByName(query.userName)
        : await users.get(caller.userId);
  return authorizeTarget(caller, target, scopedPermissions);
}

/** findTargetUser's check, on a user already looked up (null: no such user). */
export function authorizeTarget(
  caller: Caller,
  target: UserRecord | null,
  scopedPermissions: readonly string[] = ACCOUNT_SCOPED_PERMISSIONS,
): UserRecord {
  if (target && canActOn(caller, target, scopedPermissions)) return target;
  throw targetRefusal(caller, target === null);
}

/**
 * The refusal of a target the caller may not act on: an Operator learns that a name is nobody's (104); anyone
 * else gets the same 20 for an unknown user as for one out of reach.
 */
export function targetRefusal(caller: Caller, unknown: boolean): OmsError {
  return unknown && caller.permissions.includes('Operator')
    ? new OmsError('ResourceNotFound', 'User not found')
    : new OmsError('NotAuthorized', 'Permission denied');
}
