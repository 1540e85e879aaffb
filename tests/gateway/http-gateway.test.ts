// POST /AP/<FunctionName> over real HTTP against a real gateway on Redis: bodies, statuses, sessions, CORS.
import { request as httpRequest } from 'node:http';
import { closedAfterEach } from '../support/lifecycle';
import { nextOutboxLink, passwordOf, useResetGateway } from '../support/reset';
import { openClient } from '../support/ws-client';
import { standardSuccess } from '../../protocol/standard-response';

const APP_ORIGIN = 'https://app.example';
const OK = standardSuccess();
const NEW_PASSWORD = 'tangerine submarine orchestra';

/** A JSON body that fetch sends without any Content-Type (a Blob without a type), as the OMS front end does. */
const bare = (value: unknown): Blob => new Blob([JSON.stringify(value)]);

describe('POST /AP/<FunctionName>', () => {
  const gw = useResetGateway({ ALLOWED_ORIGINS: APP_ORIGIN, MAX_FRAME_BYTES: '2048' });

  function post(name: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${gw().httpUrl}/AP/${name}`, {
      method: 'POST',
      body: typeof body === 'string' ? body : bare(body),
      headers,
    });
  }

  async function call(name: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
    const response = await post(name, body, headers);
    expect(response.status).toBe(200);
    return response.json();
  }

  async function login(userName: string): Promise<string> {
    const reply = (await call('AuthenticateUser', {
      UserName: userName,
      Password: passwordOf(userName),
    })) as {
      Authenticated: boolean;
      SessionToken: string;
    };
    expect(reply.Authenticated).toBe(true);
    return reply.SessionToken;
  }

  it('answers with exactly what the socket reply carries in o, as application/json', async () => {
    const response = await post('Ping', {});
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await response.text();

    const client = closedAfterEach(await openClient(gw().wsUrl));
    client.send({ m: 0, i: 2, n: 'Ping', o: '{}' });
    expect((await client.next()).o).toBe(text);
    expect(JSON.parse(text)).toEqual({ msg: 'PONG' });
  });

  it('matches function names case-insensitively, as the socket does, and takes an empty body as no payload', async () => {
    const response = await fetch(`${gw().httpUrl}/ap/ping`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ msg: 'PONG' });
  });

  it('answers 404 with the standard object, errorcode 106, for an unknown function', async () => {
    const response = await post('NoSuchFunction', {});
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      result: false,
      errormsg: 'Operation Not Supported',
      errorcode: 106,
      detail: 'Endpoint Not Found',
    });
  });

  it('answers 400 for a body that is not JSON, without echoing it', async () => {
    const response = await post('AuthenticateUser', '{"UserName":"op","Password":"hunter2-secret"');
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      result: false,
      errormsg: 'Invalid Response',
      errorcode: 100,
      detail: 'Request body is not valid JSON',
    });
    expect(text).not.toContain('hunter2');
    expect(gw().logs.lines.join('\n')).not.toContain('hunter2');
  });

  it('answers 200 with the standard object for a call the handler refuses (a business error)', async () => {
    const response = await post('ResetPassword2', { UserId: 'x' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ result: false, errorcode: 100 });
  });

  it('answers 413 for a body over MAX_FRAME_BYTES, declared or streamed', async () => {
    const declared = await post('Ping', { pad: 'x'.repeat(3000) });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({
      result: false,
      errormsg: 'Invalid Response',
      errorcode: 100,
      detail: 'Request body is larger than 2048 bytes',
    });

    // chunked: no Content-Length, so the limit is found while reading
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${gw().httpUrl}/AP/Ping`, { method: 'POST' }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write(`{"pad":"${'x'.repeat(1500)}`);
      req.write(`${'x'.repeat(1500)}"}`);
      req.end();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject({ errorcode: 100 });
  });

  it('answers 405 to other methods on the route', async () => {
    const response = await fetch(`${gw().httpUrl}/AP/Ping`);
    expect(response.status).toBe(405);
  });

  describe('sessions', () => {
    it('returns the SessionToken of a login, and the APToken header carries it into a permissioned call', async () => {
      const token = await login('op');
      expect(await call('ResetPassword', { UserName: 'alice' }, { APToken: token })).toEqual(OK);
      await nextOutboxLink(gw(), 'alice@test.invalid');
      expect(await call('GetUserInfo', {}, { APToken: token })).toMatchObject({ UserName: 'op' });
    });

    it('applies the same permissions as the socket: no session, and a Trading user out of reach, get 20', async () => {
      expect(await call('ResetPassword', { UserName: 'alice' })).toEqual({
        result: false,
        errormsg: 'Not Authorized',
        errorcode: 20,
        detail: 'Not logged in',
      });
      const carol = await login('carol');
      expect(await call('ResetPassword', { UserName: 'alice' }, { APToken: carol })).toMatchObject({
        result: false,
        errorcode: 20,
      });
      expect(await call('GetUserInfo', {}, { APToken: 'not-a-session' })).toMatchObject({ errorcode: 20 });
    });

    it('resumes a session with WebAuthenticateUser and ends it with LogOut', async () => {
      const token = await login('alice');
      expect(await call('WebAuthenticateUser', { SessionToken: token })).toMatchObject({
        Authenticated: true,
        SessionToken: token,
      });
      expect(await call('LogOut', {}, { APToken: token })).toEqual(OK);
      expect(await call('GetUserInfo', {}, { APToken: token })).toMatchObject({ errorcode: 20 });
    });

    it('accepts a session made on the socket as APToken', async () => {
      const client = closedAfterEach(await openClient(gw().wsUrl));
      const reply = (await client.call('AuthenticateUser', {
        UserName: 'bob',
        Password: passwordOf('bob'),
      })) as { SessionToken: string };
      expect(await call('GetUserInfo', {}, { APToken: reply.SessionToken })).toMatchObject({
        UserName: 'bob',
      });
    });
  });

  it("serves the OMS front end's reset page: ResetPassword2 with no Content-Type and UserId as a string", async () => {
    const op = await login('op');
    expect(await call('ResetPassword', { UserName: 'alice' }, { APToken: op })).toEqual(OK);
    const link = await nextOutboxLink(gw(), 'alice@test.invalid');
    expect(typeof link.userId).toBe('string');

    // exactly what the page sends: {PendingCode, Password, UserId} from its own origin, no Content-Type
    const response = await fetch(`${gw().httpUrl}/AP/ResetPassword2`, {
      method: 'POST',
      body: bare({ PendingCode: link.pendingCode, Password: NEW_PASSWORD, UserId: link.userId }),
      headers: { Origin: APP_ORIGIN },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(await response.json()).toMatchObject({ result: true, errorcode: 0 });

    const relogin = (await call('AuthenticateUser', { UserName: 'alice', Password: NEW_PASSWORD })) as {
      Authenticated: boolean;
    };
    expect(relogin.Authenticated).toBe(true);
    const logs = gw()
      .logs.lines.filter((line) => !line.includes('dev outbox'))
      .join('\n');
    expect(logs).not.toContain(link.pendingCode);
    expect(logs).not.toContain(NEW_PASSWORD);
    expect(logs).not.toContain(op);
  });

  describe('CORS', () => {
    it('answers a preflight from an allowed origin with the methods and headers a page may use', async () => {
      const response = await fetch(`${gw().httpUrl}/AP/ResetPassword2`, {
        method: 'OPTIONS',
        headers: {
          Origin: APP_ORIGIN,
          'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'content-type, aptoken',
        },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      expect(response.headers.get('access-control-allow-methods')).toBe('POST');
      expect(response.headers.get('access-control-allow-headers')).toBe('Content-Type, APToken');
      expect(response.headers.get('vary')).toBe('Origin');
    });

    it('refuses a preflight and a call from another origin, without CORS headers and without running the call', async () => {
      const preflight = await fetch(`${gw().httpUrl}/AP/ResetPassword`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.status).toBe(403);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();

      const op = await login('op');
      const response = await post(
        'ResetPassword',
        { UserName: 'alice' },
        {
          Origin: 'https://evil.example',
          APToken: op,
        },
      );
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(await response.json()).toEqual({
        result: false,
        errormsg: 'Not Authorized',
        errorcode: 20,
        detail: 'Origin not allowed',
      });
      // the call never ran: it left no audit record
      const audit = await gw().gateway.services.resets.recentAudit(10);
      expect(audit.filter((event) => event.step === 'ResetPassword')).toEqual([]);
    });

    it('sends no CORS headers to a program (no Origin)', async () => {
      const response = await post('Ping', {});
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('vary')).toBe('Origin');
    });
  });
});
