// canActOn: the scoping rule on its own, including a caller-chosen set of scoped permissions (ResetPassword's).
import { canActOn } from '../../handlers/access';
import type { Caller } from '../../protocol/handler';

const caller = (permissions: string[], accountIds: number[]): Caller => ({
  userId: 1,
  userName: 'caller',
  permissions,
  accountIds,
});
const target = { userId: 2, accountIds: [5, 6] };

describe('canActOn', () => {
  it('lets anyone act on themselves, even with no permission', () => {
    expect(canActOn(caller([], []), { userId: 1, accountIds: [] })).toBe(true);
  });

  it('lets an Operator act on anyone', () => {
    expect(canActOn(caller(['Operator'], []), target)).toBe(true);
  });

  it('lets Trading and AccountReadOnly act only on users sharing an account', () => {
    expect(canActOn(caller(['Trading'], [6]), target)).toBe(true);
    expect(canActOn(caller(['AccountReadOnly'], [5]), target)).toBe(true);
    expect(canActOn(caller(['Trading'], [7]), target)).toBe(false);
  });

  it('refuses a caller sharing an account but holding no scoped permission', () => {
    expect(canActOn(caller(['GetUserInfo'], [5]), target)).toBe(false);
  });

  it('takes the scoped permissions a call chooses', () => {
    expect(canActOn(caller(['AccountReadOnly'], [5]), target, ['Trading'])).toBe(false);
    expect(canActOn(caller(['Trading'], [5]), target, ['Trading'])).toBe(true);
  });
});
