// WebAuthenticateUser: password login, resuming a session by its token, and the idle TTL (moved by a manual clock).
import { Redis } from 'ioredis';
import { sha256Hex } from '../../core/digest';
import { ManualClock } from '../../core/ports/clock';
import { testRedisUrl, uniquePrefix } from '../support/gateway';
import { monitorRedis } from '../support/redis-monitor';
import { openClient } from '../support/ws-client';
import { closedAfterEach, openedForEach } from '../support/lifecycle';
import { startUserGateway, UUID_V4 } from './users-fixture';

describe('WebAuthenticateUser', () => {
  let clock: ManualClock;
  const gw = openedForEach(() =>
    startUserGateway({ SESSION_TTL_SECONDS: '60' }, { clock: (clock = new ManualClock()) }),
  );

  it('logs in with UserName and Password and answers the web shape', async () => {
    const client = await openClient(gw().wsUrl);
    const reply = (await client.call('WebAuthenticateUser', {
      UserName: 'viewer1',
      Password: 'pw-viewer1',
    })) as object;
    expect(reply).toEqual({
      Authenticated: true,
      SessionToken: expect.stringMatching(UUID_V4),
      UserId: gw().users.viewer1!.userId,
      Requires2FA: false,
      errormsg: null,
    });
    expect(Object.keys(reply)).toEqual([
      'Authenticated',
      'SessionToken',
      'UserId',
      'Requires2FA',
      'errormsg',
    ]);
    expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'viewer1' });
    await client.close();
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    const client = await openClient(gw().wsUrl);
    const refused = { Authenticated: false, errormsg: 'Invalid username or password' };
    expect(await client.call('WebAuthenticateUser', { UserName: 'viewer1', Password: 'x' })).toEqual(refused);
    expect(await client.call('WebAuthenticateUser', { UserName: 'ghost', Password: 'x' })).toEqual(refused);
    await client.close();
  });

  it('resumes a live session on another socket with its SessionToken', async () => {
    const { sessionToken } = await gw().login('trader1');
    const second = await openClient(gw().wsUrl);
    expect(await second.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
    expect(await second.call('WebAuthenticateUser', { SessionToken: sessionToken })).toEqual({
      Authenticated: true,
      SessionToken: sessionToken,
      UserId: gw().users.trader1!.userId,
      Requires2FA: false,
      errormsg: null,
    });
    expect(await second.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    await second.close();
  });

  it('refuses an unknown SessionToken', async () => {
    const client = await openClient(gw().wsUrl);
    expect(
      await client.call('WebAuthenticateUser', { SessionToken: '1b4e28ba-2fa1-41d2-883f-0016d3cca427' }),
    ).toEqual({ Authenticated: false, errormsg: 'Session expired or invalid' });
    await client.close();
  });

  it('ends a session idle for longer than SESSION_TTL_SECONDS, and then it cannot be resumed', async () => {
    const { client, sessionToken } = await gw().login('trader1');
    clock.advance(61_000);
    const frameReply = await (async () => {
      client.send({ m: 0, i: 10, n: 'GetUserInfo', o: '{}' });
      return client.next();
    })();
    expect(frameReply.m).toBe(1);
    expect(JSON.parse(frameReply.o)).toEqual({
      result: false,
      errormsg: 'Not Authorized',
      errorcode: 20,
      detail: 'Not logged in',
    });
    const other = await openClient(gw().wsUrl);
    expect(await other.call('WebAuthenticateUser', { SessionToken: sessionToken })).toEqual({
      Authenticated: false,
      errormsg: 'Session expired or invalid',
    });
    await other.close();
  });

  it('keeps a session alive while it is used: each call refreshes the idle TTL', async () => {
    const { client, sessionToken } = await gw().login('trader1');
    for (let minute = 0; minute < 3; minute++) {
      clock.advance(45_000);
      expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    }
    clock.advance(45_000);
    const other = await openClient(gw().wsUrl);
    expect(await other.call('WebAuthenticateUser', { SessionToken: sessionToken })).toMatchObject({
      Authenticated: true,
    });
    clock.advance(45_000); // the resume refreshed it too
    expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    await other.close();
  });

  it('ends a session at SESSION_MAX_LIFETIME_SECONDS even while it is used', async () => {
    const own = closedAfterEach(
      await startUserGateway({ SESSION_TTL_SECONDS: '60', SESSION_MAX_LIFETIME_SECONDS: '120' }, { clock }),
    );
    const { client, sessionToken } = await own.login('trader1');
    clock.advance(45_000);
    expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    clock.advance(45_000);
    expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    // 90 s old, used 0 s ago: idle TTL alone would keep it to 150 s; the lifetime ends it at 120 s
    clock.advance(31_000);
    expect(await client.call('GetUserInfo', {})).toEqual({
      result: false,
      errormsg: 'Not Authorized',
      errorcode: 20,
      detail: 'Not logged in',
    });
    const other = await openClient(own.wsUrl);
    expect(await other.call('WebAuthenticateUser', { SessionToken: sessionToken })).toEqual({
      Authenticated: false,
      errormsg: 'Session expired or invalid',
    });
    // a new login starts a new lifetime
    expect(
      await other.call('AuthenticateUser', { UserName: 'trader1', Password: 'pw-trader1' }),
    ).toMatchObject({
      Authenticated: true,
    });
    await other.close();
  });

  it('answers errorcode 100 with neither a password nor a token', async () => {
    const client = await openClient(gw().wsUrl);
    expect(await client.call('WebAuthenticateUser', { UserName: 'trader1' })).toEqual({
      result: false,
      errormsg: 'Invalid Response',
      errorcode: 100,
      detail: 'UserName and Password are required, or SessionToken to resume',
    });
    await client.close();
  });
});

describe('WebAuthenticateUser resume on Redis (a reconnect storm)', () => {
  const prefix = uniquePrefix();
  const gw = openedForEach(() => startUserGateway({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix }));

  it('costs the session touch and the user read, no password hash, and the next call reuses that check', async () => {
    const { sessionToken } = await gw().login('trader1');
    const hasher = gw().gateway.services.hasher;
    const hashes = [
      jest.spyOn(hasher, 'verify'),
      jest.spyOn(hasher, 'verifyNothing'),
      jest.spyOn(hasher, 'hash'),
    ];
    const marker = new Redis(testRedisUrl());
    // what the gateway sent between two markers (MONITOR lists commands in the order Redis ran them)
    const segments: string[][][] = [[]];
    const markers: (() => void)[] = [];
    const monitor = await monitorRedis(testRedisUrl(), ({ args, source }) => {
      // commands a script runs show as "lua"; only what the gateway sent costs a round trip
      if (source === 'lua' || !args.some((arg) => arg.includes(prefix))) return;
      if (args[0]?.toLowerCase() === 'get' && args[1] === `${prefix}marker`) {
        segments.push([]);
        return markers.shift()?.();
      }
      segments.at(-1)!.push([...args]);
    });
    const mark = async (): Promise<void> => {
      const seen = new Promise<void>((resolve) => markers.push(resolve));
      await marker.get(`${prefix}marker`);
      await seen;
    };
    try {
      await mark();
      const client = await openClient(gw().wsUrl);
      expect(await client.call('WebAuthenticateUser', { SessionToken: sessionToken })).toMatchObject({
        Authenticated: true,
      });
      await mark();
      // a call that needs the caller: served by the resume's check, so only its own read of the user
      expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
      await mark();
      const [, resume, next] = segments;
      // scripts only (EVAL the first time one runs on this Redis, EVALSHA after): the session's touch, the
      // user's read (its slot differs from the session's), and the index score, which is not waited for
      const commands = resume!.map((args) => args[0]?.toLowerCase());
      expect(commands).toHaveLength(3);
      for (const command of commands) expect(command).toMatch(/^eval(sha)?$/);
      expect(resume![0]).toContain(`${prefix}session:{${sha256Hex(sessionToken)}}`);
      expect(next!.some((args) => args.some((arg) => arg.includes('session:')))).toBe(false);
      for (const spy of hashes) expect(spy).not.toHaveBeenCalled();
      await client.close();
    } finally {
      monitor.close();
      marker.disconnect();
    }
  });
});
