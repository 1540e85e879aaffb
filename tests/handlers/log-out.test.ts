// LogOut: ends the session (on every socket bound to it), keeps the socket open and unauthenticated.
import { openClient } from '../support/ws-client';
import { useUserGateway } from './users-fixture';

describe('LogOut', () => {
  const gw = useUserGateway();

  it('answers the standard success object and leaves the socket open but unauthenticated', async () => {
    const { client, sessionToken } = await gw().login('trader1');
    expect(await client.call('LogOut', {})).toEqual({
      result: true,
      errormsg: null,
      errorcode: 0,
      detail: null,
    });
    expect(await client.call('GetUserInfo', {})).toEqual({
      result: false,
      errormsg: 'Not Authorized',
      errorcode: 20,
      detail: 'Not logged in',
    });
    expect(await client.call('Ping', {})).toEqual({ msg: 'PONG' });
    expect(await client.call('WebAuthenticateUser', { SessionToken: sessionToken })).toEqual({
      Authenticated: false,
      errormsg: 'Session expired or invalid',
    });
    expect(
      await client.call('AuthenticateUser', { UserName: 'trader1', Password: 'pw-trader1' }),
    ).toMatchObject({
      Authenticated: true,
    });
  });

  it('de-authenticates another socket that resumed the same session', async () => {
    const { client, sessionToken } = await gw().login('trader1');
    const resumed = await openClient(gw().wsUrl);
    await resumed.call('WebAuthenticateUser', { SessionToken: sessionToken });
    await client.call('LogOut', {});
    await gw().logs.waitFor((entry) => entry.msg === 'session revoked: connection de-authenticated');
    expect(await resumed.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
    await resumed.close();
  });

  it("leaves the user's other sessions alone", async () => {
    const first = await gw().login('trader1');
    const second = await gw().login('trader1');
    await first.client.call('LogOut', {});
    expect(await second.client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
  });

  it('answers errorcode 20 on a socket that is not logged in', async () => {
    const client = await openClient(gw().wsUrl);
    expect(await client.call('LogOut', {})).toEqual({
      result: false,
      errormsg: 'Not Authorized',
      errorcode: 20,
      detail: 'Not logged in',
    });
    await client.close();
  });
});
