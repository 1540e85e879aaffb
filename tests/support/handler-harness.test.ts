// The handler harness: logins bind a session to its connection, replies are the socket's frames, mails go once.
import { RESET_USERS } from './reset';
import { useHandlerHarness } from './handler-harness';
import { standardSuccess } from '../../protocol/standard-response';

describe('handler harness', () => {
  const h = useHandlerHarness({ users: RESET_USERS });

  it('logs a seeded user in on one connection only, as AuthenticateUser on a socket does', async () => {
    const alice = await h().loginAs('alice');
    expect(await alice.call('GetUserInfo', {})).toMatchObject({
      UserName: 'alice',
      UserId: h().users.alice!.userId,
    });
    expect(await h().connect().call('GetUserInfo', {})).toMatchObject({
      errorcode: 20,
      detail: 'Not logged in',
    });
    expect(await alice.call('LogOut', {})).toEqual(standardSuccess());
    expect(await alice.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
  });

  it('refuses loginAs for a user it did not seed, and when AuthenticateUser refuses', async () => {
    await expect(h().loginAs('nobody')).rejects.toThrow('no seeded user nobody');
    await h().services.store.users.setLocked(h().users.bob!.userId, true);
    await expect(h().loginAs('bob')).rejects.toThrow('login as bob failed');
  });

  it('answers with the frames a socket gets: m 1 for a reply, m 5 for an unknown function', async () => {
    const anonymous = h().connect();
    expect(await anonymous.request('Ping', {}, 8)).toEqual({ m: 1, i: 8, n: 'Ping', o: '{"msg":"PONG"}' });
    const unknown = await anonymous.request('NoSuchCall', {}, 10);
    expect(unknown).toMatchObject({ m: 5, i: 10, n: 'NoSuchCall' });
    expect(JSON.parse(unknown.o)).toMatchObject({ errorcode: 106 });
  });

  it('delivers each queued mail once, rendered with its link', async () => {
    const op = await h().loginAs('op');
    expect(await op.call('ResetPassword', { UserName: 'carol' })).toEqual(standardSuccess());
    const [mail, ...more] = await h().deliverMails();
    expect(more).toEqual([]);
    expect(mail).toMatchObject({ kind: 'reset', to: 'carol@test.invalid', userName: 'carol' });
    expect(mail!.link).toContain(`UserId=${h().users.carol!.userId}`);
    expect(await h().services.resets.queuedMailCount()).toBe(0);
    expect(await h().deliverMails()).toEqual([]);
  });

  it('runs the services on its manual clock and the calls from the connection address', async () => {
    const before = h().clock.now();
    h().clock.advance(5000);
    expect(h().services.clock.now()).toBe(before + 5000);
    const from = h().connect('127.0.0.9');
    expect(from.clientAddress).toBe('127.0.0.9');
    await from.call('ResetPassword2', { UserId: 1, Password: 'a long new passphrase', PendingCode: 'x' });
    expect(await h().services.resets.recentRefusals(1)).toMatchObject([
      { first: { caller: 'address:127.0.0.9', at: before + 5000 } },
    ]);
  });
});
