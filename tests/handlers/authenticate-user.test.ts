// AuthenticateUser over a real socket: password and API-key logins, identical refusals, failed-login limits.
import { signApiLogin } from '../../core/login';
import { createPasswordHasher } from '../../gateway/password-hasher';
import type { PasswordHasher } from '../../gateway/password-hasher';
import { openClient } from '../support/ws-client';
import { closedAfterEach } from '../support/lifecycle';
import { startUserGateway, UUID_V4, useUserGateway } from './users-fixture';

const REFUSED = {
  Authenticated: false,
  SessionToken: null,
  User: null,
  Locked: false,
  Requires2FA: false,
  TwoFAType: null,
  TwoFAToken: null,
  errormsg: 'Invalid username or password',
};

describe('AuthenticateUser', () => {
  describe('with UserName and Password', () => {
    const gw = useUserGateway();

    it('answers the OMS shape with a v4 SessionToken and binds the session to the socket', async () => {
      const client = await openClient(gw().wsUrl);
      const reply = (await client.call('AuthenticateUser', {
        UserName: 'trader2',
        Password: 'pw-trader2',
      })) as Record<string, unknown>;
      expect(reply).toEqual({
        Authenticated: true,
        SessionToken: expect.stringMatching(UUID_V4),
        User: {
          UserId: gw().users.trader2!.userId,
          UserName: 'trader2',
          Email: 'trader2@example.com',
          EmailVerified: true,
          AccountId: 1,
          OMSId: 1,
          Use2FA: false,
        },
        Locked: false,
        Requires2FA: false,
        TwoFAType: null,
        TwoFAToken: null,
        errormsg: null,
      });
      expect(Object.keys(reply)).toEqual([
        'Authenticated',
        'SessionToken',
        'User',
        'Locked',
        'Requires2FA',
        'TwoFAType',
        'TwoFAToken',
        'errormsg',
      ]);
      expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader2' });
      await client.close();
    });

    it('matches the user name case-insensitively', async () => {
      const client = await openClient(gw().wsUrl);
      expect(
        await client.call('AuthenticateUser', { username: 'TRADER1', password: 'pw-trader1' }),
      ).toMatchObject({
        Authenticated: true,
        User: { UserName: 'trader1' },
      });
      await client.close();
    });

    it('refuses a wrong password and an unknown user with the same reply, leaving the socket unauthenticated', async () => {
      const client = await openClient(gw().wsUrl);
      const wrong = await client.call('AuthenticateUser', { UserName: 'trader1', Password: 'nope' });
      const unknown = await client.call('AuthenticateUser', { UserName: 'nobody', Password: 'nope' });
      expect(wrong).toEqual(REFUSED);
      expect(unknown).toEqual(REFUSED);
      expect(await client.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
      await client.close();
    });

    it('says Locked for a locked user with the right password, and no session', async () => {
      const client = await openClient(gw().wsUrl);
      expect(await client.call('AuthenticateUser', { UserName: 'locked', Password: 'pw-locked' })).toEqual({
        ...REFUSED,
        Locked: true,
        errormsg: 'User is locked',
      });
      expect(await client.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
      await client.close();
    });

    it('answers errorcode 100 when neither form is complete', async () => {
      const client = await openClient(gw().wsUrl);
      expect(await client.call('AuthenticateUser', { UserName: 'trader1' })).toEqual({
        result: false,
        errormsg: 'Invalid Response',
        errorcode: 100,
        detail: 'UserName and Password are required (or APIKey, Signature, UserId, Nonce)',
      });
      expect(await client.call('AuthenticateUser', { UserName: 5, Password: 'x' })).toMatchObject({
        errorcode: 100,
        detail: expect.stringContaining('UserName'),
      });
      await client.close();
    });

    it('never writes the password or the SessionToken to the log', async () => {
      const client = await openClient(gw().wsUrl);
      const reply = (await client.call('AuthenticateUser', {
        UserName: 'trader1',
        Password: 'pw-trader1',
      })) as {
        SessionToken: string;
      };
      await client.call('AuthenticateUser', { UserName: 'trader1', Password: 'wrong-secret-pw' });
      await gw().logs.waitFor((entry) => entry.msg === 'login failed');
      const text = gw().logs.lines.join('\n');
      expect(text).not.toContain(reply.SessionToken);
      expect(text).not.toContain('pw-trader1');
      expect(text).not.toContain('wrong-secret-pw');
      await client.close();
    });
  });

  describe('timing parity', () => {
    it('spends an argon2 verification on an unknown user name, as on a known one', async () => {
      const real = createPasswordHasher({ memoryKib: 64, iterations: 1, parallelism: 1, concurrency: 4 });
      const counts = { verify: 0, verifyNothing: 0 };
      // the real hasher, counted: not a mock, it still does the argon2 work
      const counted: PasswordHasher = {
        hash: (password) => real.hash(password),
        verify: (hash, password) => (counts.verify++, real.verify(hash, password)),
        verifyNothing: (password) => (counts.verifyNothing++, real.verifyNothing(password)),
        get running() {
          return real.running;
        },
        get queued() {
          return real.queued;
        },
      };
      const gw = closedAfterEach(await startUserGateway({}, { hasher: counted }));
      const client = await openClient(gw.wsUrl);
      await client.call('AuthenticateUser', { UserName: 'nobody', Password: 'x' });
      expect(counts).toEqual({ verify: 0, verifyNothing: 1 }); // argon2 against the dummy hash
      await client.call('AuthenticateUser', { UserName: 'trader1', Password: 'x' });
      expect(counts).toEqual({ verify: 1, verifyNothing: 1 });
      await client.close();
    });
  });

  describe('with an API key', () => {
    const apiKey = '0123456789abcdef0123456789abcdef';
    const secret = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';

    const gw = useUserGateway();
    beforeEach(() => gw().gateway.services.store.apiKeys.create(gw().users.trader1!.userId, apiKey, secret));

    const request = (nonce: number | string, userId: number, key = apiKey, signingSecret = secret) => ({
      APIKey: key,
      Signature: signApiLogin(signingSecret, String(nonce), userId, key),
      UserId: userId,
      Nonce: nonce,
    });

    it('logs in with a valid signature over Nonce + UserId + APIKey', async () => {
      const userId = gw().users.trader1!.userId;
      const client = await openClient(gw().wsUrl);
      expect(await client.call('AuthenticateUser', request(1_700_000_000_000, userId))).toMatchObject({
        Authenticated: true,
        SessionToken: expect.stringMatching(UUID_V4),
        User: { UserId: userId, UserName: 'trader1' },
        errormsg: null,
      });
      expect(await client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
      await client.close();
    });

    it('takes UserId and Nonce as strings, as many clients send them, and a signature in upper case', async () => {
      const userId = gw().users.trader1!.userId;
      const body = request('42', userId);
      const client = await openClient(gw().wsUrl);
      const reply = await client.call('AuthenticateUser', {
        ...body,
        UserId: String(userId),
        Signature: body.Signature.toUpperCase(),
      });
      expect(reply).toMatchObject({ Authenticated: true });
      await client.close();
    });

    it('refuses a replayed or lower nonce', async () => {
      const userId = gw().users.trader1!.userId;
      const client = await openClient(gw().wsUrl);
      expect(await client.call('AuthenticateUser', request(100, userId))).toMatchObject({
        Authenticated: true,
      });
      const refused = { ...REFUSED, errormsg: 'Invalid API key, signature or nonce' };
      expect(await client.call('AuthenticateUser', request(100, userId))).toEqual(refused);
      expect(await client.call('AuthenticateUser', request(99, userId))).toEqual(refused);
      expect(await client.call('AuthenticateUser', request(101, userId))).toMatchObject({
        Authenticated: true,
      });
      await client.close();
    });

    it('refuses a bad signature without using up the nonce, and an unknown key or user alike', async () => {
      const userId = gw().users.trader1!.userId;
      const client = await openClient(gw().wsUrl);
      const refused = { ...REFUSED, errormsg: 'Invalid API key, signature or nonce' };
      expect(await client.call('AuthenticateUser', request(5, userId, apiKey, 'wrong secret'))).toEqual(
        refused,
      );
      expect(await client.call('AuthenticateUser', request(6, userId, 'f'.repeat(32)))).toEqual(refused);
      expect(await client.call('AuthenticateUser', request(7, gw().users.trader2!.userId))).toEqual(refused);
      expect(await client.call('AuthenticateUser', request(5, userId))).toMatchObject({
        Authenticated: true,
      });
      await client.close();
    });

    it('answers errorcode 100 when a field of the API-key form is missing', async () => {
      const client = await openClient(gw().wsUrl);
      expect(await client.call('AuthenticateUser', { APIKey: apiKey, Nonce: 1 })).toEqual({
        result: false,
        errormsg: 'Invalid Response',
        errorcode: 100,
        detail: 'APIKey login needs APIKey, Signature, UserId and Nonce',
      });
      await client.close();
    });
  });

  describe('failed-login limits', () => {
    const gw = useUserGateway({
      LOGIN_LIMIT_ATTEMPTS: '3',
      LOGIN_LIMIT_WINDOW_SECONDS: '600',
      TRUST_PROXY: 'loopback',
      LOGIN_ADDRESS_LIMIT_ATTEMPTS: '5',
      LOGIN_NAME_THROTTLE_ATTEMPTS: '6',
      LOGIN_NAME_THROTTLE_SECONDS: '60',
    });

    /** A socket from a loopback address of its own (127.0.0.0/8 is all loopback on Linux): no proxy header. */
    const from = (address: string) => openClient(gw().wsUrl, { localAddress: address });
    const attempt = async (address: string, login: object) => {
      const client = await from(address);
      const reply = await client.call('AuthenticateUser', login);
      await client.close();
      return reply;
    };
    const LIMITED = {
      result: false,
      errormsg: 'Operation Failed',
      errorcode: 101,
      detail: expect.stringMatching(/^Too many failed login attempts; retry after \d+ seconds$/),
    };
    const waitOf = (reply: unknown): number =>
      Number(/after (\d+) seconds/.exec((reply as { detail: string }).detail)![1]);

    it('answers 101 with a retry-after once a name has used up its failures from one address, even with the right password', async () => {
      const client = await from('127.0.0.2');
      for (const index of [1, 2, 3]) {
        expect(
          await client.call('AuthenticateUser', { UserName: 'trader1', Password: `bad${index}` }),
        ).toEqual(REFUSED);
      }
      const blocked = await client.call('AuthenticateUser', { UserName: 'trader1', Password: 'pw-trader1' });
      expect(blocked).toEqual(LIMITED);
      expect(waitOf(blocked)).toBeGreaterThan(0);
      expect(waitOf(blocked)).toBeLessThanOrEqual(600);
      // another user from the same address is not held by trader1's failures
      expect(
        await client.call('AuthenticateUser', { UserName: 'trader2', Password: 'pw-trader2' }),
      ).toMatchObject({ Authenticated: true });
      await client.close();
    });

    it('does not lock a user out from another address when one address guesses their password', async () => {
      const replies: unknown[] = [];
      for (let index = 0; index < 12; index++) {
        replies.push(await attempt('127.0.0.3', { UserName: 'trader1', Password: `guess${index}` }));
      }
      expect(replies.slice(0, 3)).toEqual([REFUSED, REFUSED, REFUSED]);
      for (const reply of replies.slice(3)) expect(reply).toEqual(LIMITED);
      expect(await attempt('127.0.0.4', { UserName: 'trader1', Password: 'pw-trader1' })).toMatchObject({
        Authenticated: true,
      });
    });

    it('throttles a name tried from many addresses for the short throttle window only, not a lockout', async () => {
      for (let index = 0; index < 6; index++) {
        expect(await attempt(`127.0.1.${index + 1}`, { UserName: 'trader1', Password: 'bad' })).toEqual(
          REFUSED,
        );
      }
      const throttled = await attempt('127.0.1.100', { UserName: 'trader1', Password: 'pw-trader1' });
      expect(throttled).toEqual(LIMITED);
      expect(waitOf(throttled)).toBeLessThanOrEqual(60);
      // other names are not slowed by it
      expect(await attempt('127.0.1.100', { UserName: 'trader2', Password: 'pw-trader2' })).toMatchObject({
        Authenticated: true,
      });
    });

    it('limits an unknown user name exactly like a known one', async () => {
      const replies: unknown[] = [];
      for (let index = 0; index < 4; index++) {
        replies.push(await attempt('127.0.2.1', { UserName: 'ghost', Password: 'x' }));
      }
      expect(replies.slice(0, 3)).toEqual([REFUSED, REFUSED, REFUSED]);
      expect(replies[3]).toEqual(LIMITED);
    });

    it('limits one client address across user names', async () => {
      const client = await from('127.0.3.1');
      for (const name of ['a', 'b', 'c', 'd', 'e']) {
        expect(await client.call('AuthenticateUser', { UserName: name, Password: 'x' })).toEqual(REFUSED);
      }
      expect(await client.call('AuthenticateUser', { UserName: 'trader1', Password: 'pw-trader1' })).toEqual(
        LIMITED,
      );
      expect(await attempt('127.0.3.2', { UserName: 'trader1', Password: 'pw-trader1' })).toMatchObject({
        Authenticated: true,
      });
      await client.close();
    });

    it("clears a name's failures from an address when it logs in from there", async () => {
      const trader1 = (password: string) => attempt('127.0.4.1', { UserName: 'trader1', Password: password });
      await trader1('bad');
      await trader1('bad');
      expect(await trader1('pw-trader1')).toMatchObject({ Authenticated: true });
      await trader1('bad');
      await trader1('bad');
      expect(await trader1('pw-trader1')).toMatchObject({ Authenticated: true });
    });

    it("counts wrong API keys against the key tried, so they do not lock out a bot's real key", async () => {
      const apiKey = '0123456789abcdef0123456789abcdef';
      const secret = 'fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';
      const userId = gw().users.trader1!.userId;
      await gw().gateway.services.store.apiKeys.create(userId, apiKey, secret);
      const login = (nonce: number, key: string) => ({
        APIKey: key,
        Signature: signApiLogin(secret, String(nonce), userId, key),
        UserId: userId,
        Nonce: nonce,
      });
      const refused = { ...REFUSED, errormsg: 'Invalid API key, signature or nonce' };
      // a stranger who knows the bot's UserId but not its key, from two addresses
      for (const [index, address] of ['127.0.5.1', '127.0.5.2'].entries()) {
        for (let tries = 0; tries < 3; tries++) {
          expect(await attempt(address, login(1, `${index}${tries}`.padEnd(32, 'f')))).toEqual(refused);
        }
      }
      expect(await attempt('127.0.5.3', login(2, apiKey))).toMatchObject({ Authenticated: true });
      // the real key's own failures are its own: three from one address hold that pair
      const forged = { ...login(3, apiKey), Signature: 'f'.repeat(64) };
      for (let tries = 0; tries < 3; tries++) expect(await attempt('127.0.5.4', forged)).toEqual(refused);
      expect(await attempt('127.0.5.4', login(4, apiKey))).toEqual(LIMITED);
      expect(await attempt('127.0.5.5', login(5, apiKey))).toMatchObject({ Authenticated: true });
    });
  });
});
