// GetUserInfo and GetUserPermissions: the replies field by field, and who may ask about whom (the scoping matrix),
// called directly (the handler harness); a socket's reuse of its session check, on a gateway.
import { ManualClock } from '../../core/ports/clock';
import { createHandlerHarness } from '../support/handler-harness';
import type { HarnessConnection } from '../support/handler-harness';
import { closedAfterEach, openedForAll } from '../support/lifecycle';
import { startUserGateway, TEST_USERS } from './users-fixture';

const NOT_AUTHORIZED = {
  result: false,
  errormsg: 'Not Authorized',
  errorcode: 20,
  detail: 'Permission denied',
};
const NOT_LOGGED_IN = { ...NOT_AUTHORIZED, detail: 'Not logged in' };

describe('GetUserInfo and GetUserPermissions', () => {
  const h = openedForAll(() => createHandlerHarness({ users: TEST_USERS }), 'the handler harness');
  const callers: Record<string, HarnessConnection> = {};

  beforeAll(async () => {
    for (const name of ['operator', 'trader1', 'trader3', 'viewer1', 'plain'])
      callers[name] = await h().loginAs(name);
    callers.none = h().connect();
  });

  it("answers the caller's own record in PascalCase, without any password hash", async () => {
    const trader2 = h().users.trader2!;
    const client = await h().loginAs('trader2');
    const reply = await client.call('GetUserInfo', {});
    expect(reply).toEqual({
      UserId: trader2.userId,
      UserName: 'trader2',
      Email: 'trader2@example.com',
      EmailVerified: true,
      AccountId: 1,
      DateTimeCreated: trader2.createdAt,
      OMSId: 1,
      Use2FA: false,
      Locked: false,
    });
    expect(JSON.stringify(reply)).not.toMatch(/argon2|hash/i);
  });

  it("answers the caller's own permissions", async () => {
    expect(await callers.viewer1!.call('GetUserPermissions', { UserId: h().users.viewer1!.userId })).toEqual([
      'AccountReadOnly',
    ]);
  });

  // trader2 belongs to accounts 1 and 3
  const matrix: [caller: string, allowed: boolean][] = [
    ['operator', true],
    ['trader1', true], // Trading, account 1
    ['viewer1', true], // AccountReadOnly, account 1
    ['trader3', false], // Trading, account 2
    ['plain', false], // no permission, account 1
  ];

  it.each(matrix)('GetUserInfo about trader2 by UserId: %s allowed=%s', async (caller, allowed) => {
    const reply = await callers[caller]!.call('GetUserInfo', { UserId: h().users.trader2!.userId });
    if (allowed) expect(reply).toMatchObject({ UserId: h().users.trader2!.userId, UserName: 'trader2' });
    else expect(reply).toEqual(NOT_AUTHORIZED);
  });

  it.each(matrix)('GetUserInfo about trader2 by UserName: %s allowed=%s', async (caller, allowed) => {
    const reply = await callers[caller]!.call('GetUserInfo', { UserName: 'TRADER2' });
    if (allowed) expect(reply).toMatchObject({ UserName: 'trader2' });
    else expect(reply).toEqual(NOT_AUTHORIZED);
  });

  it.each(matrix)('GetUserPermissions of trader2: %s allowed=%s', async (caller, allowed) => {
    const reply = await callers[caller]!.call('GetUserPermissions', {
      UserId: String(h().users.trader2!.userId),
    });
    expect(reply).toEqual(allowed ? ['Trading'] : NOT_AUTHORIZED);
  });

  it('answers errorcode 20 to a socket with no session, as an m:1 reply', async () => {
    for (const [name, payload] of [
      ['GetUserInfo', {}],
      ['GetUserPermissions', { UserId: 1 }],
    ] as const) {
      const frame = await callers.none!.request(name, payload, 7);
      expect(frame).toMatchObject({ m: 1, i: 7, n: name });
      expect(JSON.parse(frame.o)).toEqual(NOT_LOGGED_IN);
    }
  });

  it('answers 104 to an Operator asking for a user that does not exist, and 20 to everyone else', async () => {
    expect(await callers.operator!.call('GetUserInfo', { UserId: 999 })).toEqual({
      result: false,
      errormsg: 'Resource Not Found',
      errorcode: 104,
      detail: 'User not found',
    });
    expect(await callers.operator!.call('GetUserInfo', { UserName: 'ghost' })).toMatchObject({
      errorcode: 104,
    });
    expect(await callers.trader1!.call('GetUserInfo', { UserId: 999 })).toEqual(NOT_AUTHORIZED);
    expect(await callers.trader1!.call('GetUserPermissions', { UserId: 999 })).toEqual(NOT_AUTHORIZED);
  });

  it('answers errorcode 100 for a UserId that is not a positive integer, and for a missing one', async () => {
    expect(await callers.operator!.call('GetUserInfo', { UserId: 'abc' })).toMatchObject({
      errorcode: 100,
      detail: expect.stringContaining('UserId'),
    });
    expect(await callers.operator!.call('GetUserPermissions', {})).toMatchObject({
      errorcode: 100,
      detail: expect.stringContaining('UserId'),
    });
  });

  it('sees a permission change once SESSION_RECHECK_MS has passed, without logging in again', async () => {
    const clock = new ManualClock();
    const own = closedAfterEach(await startUserGateway({}, { clock }));
    const { client } = await own.login('plain');
    const plainId = own.users.plain!.userId;
    const { store } = own.gateway.services;
    // this call checks the session against the store; the socket reuses that answer within the window
    expect(await client.call('GetUserInfo', { UserName: 'trader2' })).toEqual(NOT_AUTHORIZED);
    await store.users.grant(plainId, 'Trading');
    expect(await client.call('GetUserInfo', { UserName: 'trader2' })).toEqual(NOT_AUTHORIZED);
    clock.advance(own.config.sessionRecheckMs);
    expect(await client.call('GetUserInfo', { UserName: 'trader2' })).toMatchObject({
      UserName: 'trader2',
    });
    await store.users.revoke(plainId, 'Trading');
    clock.advance(own.config.sessionRecheckMs);
    expect(await client.call('GetUserInfo', { UserName: 'trader2' })).toEqual(NOT_AUTHORIZED);
  });
});
