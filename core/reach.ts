// Who may act on whom, written once: the user calls (handlers/access.ts canActOn), the reset request (the
// embedded flow in core/reset-flow.ts, and the Redis request script, which names this file as its twin).
import type { Caller } from '../protocol/handler';

/** Whom a caller reaches besides anyone an Operator reaches: itself, and the users sharing one of `accountIds`. */
export interface Reach {
  readonly self: number;
  readonly accountIds: readonly number[];
}

/** Permissions that reach the users sharing one of the caller's accounts (Operator reaches everyone). */
export const ACCOUNT_SCOPED_PERMISSIONS: readonly string[] = ['Trading', 'AccountReadOnly'];

/**
 * The caller's reach: null (everyone) for an Operator; itself and the users sharing an account for a holder of
 * one of `scopedPermissions`; itself only for anyone else.
 */
export function reachOf(
  caller: Caller,
  scopedPermissions: readonly string[] = ACCOUNT_SCOPED_PERMISSIONS,
): Reach | null {
  if (caller.permissions.includes('Operator')) return null;
  const scoped = caller.permissions.some((permission) => scopedPermissions.includes(permission));
  return { self: caller.userId, accountIds: scoped ? caller.accountIds : [] };
}

/** Whether `target` is within `reach` (null reaches everyone). */
export function inReach(
  reach: Reach | null,
  target: { readonly userId: number; readonly accountIds: readonly number[] },
): boolean {
  if (reach === null || target.userId === reach.self) return true;
  return target.accountIds.some((accountId) => reach.accountIds.includes(accountId));
}
