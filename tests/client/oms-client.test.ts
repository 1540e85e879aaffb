// The OMS client against a real gateway (with test handlers injected) and raw ws servers that misbehave on purpose.
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { connect, OmsCallError } from '../../client/node';
import type { OmsClient } from '../../client/node';
import { connect as connectIsomorphic } from '../../client/oms-client';
import { defineHandler } from '../../handlers/context';
import type { Handler } from '../../handlers/context';
import { ping } from '../../handlers/ping';
import { OmsError } from '../../protocol/codes';
import type { Caller } from '../../protocol/handler';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { freePort } from '../../testing/redis-server';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Calls of `Hold {Key}` wait until the test releases their key; `arrived(key)` resolves when one is running. */
function holdHandler(): {
  handler: Handler;
  arrived(key: string): Promise<void>;
  release(key: string): void;
  releaseAll(): void;
} {
  const arrivals = new Map<string, Deferred<void>>();
  const releases = new Map<string, Deferred<void>>();
  const slot = <T>(map: Map<string, Deferred<T>>, key: string): Deferred<T> => {
    const existing = map.get(key);
    if (existing) return existing;
    const created = deferred<T>();
    map.set(key, created);
    return created;
  };
  const handler = defineHandler({
    name: 'Hold',
    input: z.object({ Key: z.string() }),
    access: 'public',
    run: async ({ Key }) => {
      slot(arrivals, Key).resolve();
      await slot(releases, Key).promise;
      return { Key };
    },
  });
  return {
    handler,
    arrived: (key) => slot(arrivals, key).promise,
    release: (key) => slot(releases, key).resolve(),
    releaseAll: () => releases.forEach((release) => release.resolve()),
  };
}

const fail = defineHandler({
  name: 'Fail',
  input: z.object({}),
  access: 'public',
  run: () => Promise.reject(new OmsError('ResourceNotFound', 'No such user')),
});

const alice: Caller = { userId: 7, userName: 'alice', permissions: ['Trading'], accountIds: [1] };
const ALICE_TOKEN = 'session-token-of-alice';

/** Mimics WebAuthenticateUser (until the real one lands): a password or a live SessionToken binds alice's session. */
function webAuthenticateHandler(seen: Record<string, unknown>[]): Handler {
  return defineHandler({
    name: 'WebAuthenticateUser',
    input: z.object({
      UserName: z.string().optional(),
      Password: z.string().optional(),
      SessionToken: z.string().optional(),
    }),
    access: 'public',
    run: (payload, { connection }) => {
      seen.push(payload);
      const valid =
        payload.SessionToken === ALICE_TOKEN || (payload.UserName === 'alice' && payload.Password === 'pw');
      if (!valid) return Promise.resolve({ Authenticated: false, errormsg: 'Invalid username or password' });
      connection.bindSession(ALICE_TOKEN);
      return Promise.resolve({
        Authenticated: true,
        SessionToken: ALICE_TOKEN,
        UserId: alice.userId,
        errormsg: null,
      });
    },
  });
}

const whoAmI = defineHandler({
  name: 'WhoAmI',
  input: z.object({}),
  access: 'session',
  run: (_payload, { caller }) => Promise.resolve({ UserName: caller?.userName }),
});

/** A raw ws server on port 0 whose behaviour the test decides. */
async function rawServer(
  onConnection: (ws: WebSocket) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    onConnection(ws);
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () => {
      for (const ws of wss.clients) ws.terminate();
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<OmsCallError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OmsCallError) return error;
    throw error;
  }
  throw new Error('expected the call to reject');
}

describe('OMS client', () => {
  let gateway: TestGateway;
  let hold: ReturnType<typeof holdHandler>;
  let logins: Record<string, unknown>[];
  let client: OmsClient | undefined;
  const servers: { close(): Promise<void> }[] = [];

  beforeEach(async () => {
    hold = holdHandler();
    logins = [];
    gateway = await startGateway(
      { SHUTDOWN_TIMEOUT_MS: '100' },
      {
        handlers: [ping, hold.handler, fail, webAuthenticateHandler(logins), whoAmI],
        resolveSession: (token) => Promise.resolve(token === ALICE_TOKEN ? alice : null),
      },
    );
  });

  afterEach(async () => {
    hold.releaseAll();
    await client?.close();
    client = undefined;
    await Promise.all(servers.splice(0).map((server) => server.close()));
    await gateway.close();
  });

  it('returns the decoded o of the reply', async () => {
    client = await connect(gateway.wsUrl);
    await expect(client.ping()).resolves.toEqual({ msg: 'PONG' });
  });

  it('typed helpers send the wire names and payloads of the gateway functions', async () => {
    const frames: { n: string; o: unknown }[] = [];
    const server = await rawServer((ws) =>
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { i: number; n: string; o: string };
        frames.push({ n: frame.n, o: JSON.parse(frame.o) });
        ws.send(
          JSON.stringify({ m: 1, i: frame.i, n: frame.n, o: JSON.stringify({ result: true, errorcode: 0 }) }),
        );
      }),
    );
    servers.push(server);
    client = await connect(server.url);
    await client.resetPassword({ UserName: 'bob' });
    await client.resetPassword2({ UserId: 9, Password: 'new-secret', PendingCode: 'code' });
    await client.authenticateUser({ UserName: 'bob', Password: 'pw' });
    await client.getUserInfo({ UserId: 9 });
    await client.logOut();
    expect(frames).toEqual([
      { n: 'ResetPassword', o: { UserName: 'bob' } },
      { n: 'ResetPassword2', o: { UserId: 9, Password: 'new-secret', PendingCode: 'code' } },
      { n: 'AuthenticateUser', o: { UserName: 'bob', Password: 'pw' } },
      { n: 'GetUserInfo', o: { UserId: 9 } },
      { n: 'LogOut', o: {} },
    ]);
  });

  it('numbers calls 2, 4, 6, … on each socket', async () => {
    const sequences: number[] = [];
    const server = await rawServer((ws) =>
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { i: number; n: string };
        sequences.push(frame.i);
        ws.send(JSON.stringify({ m: 1, i: frame.i, n: frame.n, o: '{"msg":"PONG"}' }));
      }),
    );
    servers.push(server);
    client = await connect(server.url);
    await Promise.all([client.ping(), client.ping(), client.ping()]);
    await client.ping();
    expect(sequences).toEqual([2, 4, 6, 8]);
  });

  it('matches replies that arrive out of order to their calls by sequence number', async () => {
    client = await connect(gateway.wsUrl);
    const calls = ['a', 'b', 'c'].map((Key) => client!.call<{ Key: string }>('Hold', { Key }));
    await Promise.all(['a', 'b', 'c'].map((key) => hold.arrived(key)));
    expect(client.pending).toBe(3);
    hold.release('c');
    await expect(calls[2]).resolves.toEqual({ Key: 'c' });
    hold.release('a');
    hold.release('b');
    await expect(Promise.all(calls)).resolves.toEqual([{ Key: 'a' }, { Key: 'b' }, { Key: 'c' }]);
    expect(client.pending).toBe(0);
  });

  it('rejects an m:5 reply with the errorcode, errormsg and detail of the gateway', async () => {
    client = await connect(gateway.wsUrl);
    const error = await rejection(client.call('NoSuchFunction', {}));
    expect(error).toMatchObject({
      kind: 'response',
      code: '106',
      functionName: 'NoSuchFunction',
      errorcode: 106,
      errormsg: 'Operation Not Supported',
      detail: 'Endpoint Not Found',
    });
  });

  it('rejects a standard response with result false, and a bad payload with 100', async () => {
    client = await connect(gateway.wsUrl);
    await expect(rejection(client.call('Fail'))).resolves.toMatchObject({
      kind: 'response',
      errorcode: 104,
      errormsg: 'Resource Not Found',
      detail: 'No such user',
    });
    await expect(rejection(client.call('Hold', { Key: 5 }))).resolves.toMatchObject({
      kind: 'response',
      errorcode: 100,
    });
  });

  it('rejects a call that gets no reply in time with kind timeout, and ignores the late reply', async () => {
    client = await connect(gateway.wsUrl);
    const error = await rejection(client.call('Hold', { Key: 'slow' }, { timeoutMs: 20 }));
    expect(error).toMatchObject({ kind: 'timeout', code: 'timeout', errorcode: null, functionName: 'Hold' });
    expect(client.pending).toBe(0);
    hold.release('slow');
    await expect(client.ping()).resolves.toEqual({ msg: 'PONG' });
  });

  it('rejects a call whose signal aborts with kind aborted, before or after sending', async () => {
    client = await connect(gateway.wsUrl);
    const controller = new AbortController();
    const call = client.call('Hold', { Key: 'aborted' }, { signal: controller.signal });
    await hold.arrived('aborted');
    controller.abort();
    await expect(rejection(call)).resolves.toMatchObject({ kind: 'aborted' });
    await expect(rejection(client.ping({ signal: controller.signal }))).resolves.toMatchObject({
      kind: 'aborted',
    });
    expect(client.pending).toBe(0);
  });

  it('rejects every call in flight with kind closed when the gateway closes the socket mid-call', async () => {
    client = await connect(gateway.wsUrl);
    const closed = new Promise((resolve) => client!.on('close', resolve));
    const calls = ['p', 'q'].map((Key) => rejection(client!.call('Hold', { Key })));
    await Promise.all([hold.arrived('p'), hold.arrived('q')]);
    const [live] = [...gateway.gateway.connections];
    await live!.close(1001, 'Going away for the test');
    for (const error of await Promise.all(calls)) expect(error.kind).toBe('closed');
    await expect(closed).resolves.toEqual({ code: 1001, reason: 'Going away for the test' });
    expect(client.state).toBe('closed');
    await expect(rejection(client.ping())).resolves.toMatchObject({ kind: 'closed' });
  });

  it('rejects the call in flight when the socket dies without a close frame', async () => {
    const server = await rawServer((ws) => ws.on('message', () => ws.terminate()));
    servers.push(server);
    client = await connect(server.url);
    await expect(rejection(client.ping())).resolves.toMatchObject({ kind: 'closed' });
    expect(client.state).toBe('closed');
  });

  it('close() rejects every pending call and every later one', async () => {
    client = await connect(gateway.wsUrl);
    const calls = ['r', 's'].map((Key) => rejection(client!.call('Hold', { Key })));
    await Promise.all([hold.arrived('r'), hold.arrived('s')]);
    await client.close();
    for (const error of await Promise.all(calls)) expect(error.kind).toBe('closed');
    await expect(rejection(client.ping())).resolves.toMatchObject({ kind: 'closed' });
  });

  it('rejects connect when nothing listens, and without a WebSocket implementation', async () => {
    await expect(connect(`ws://127.0.0.1:${await freePort()}/`)).rejects.toThrow(/Could not connect/);
    await expect(connectIsomorphic(gateway.wsUrl)).rejects.toThrow(/No WebSocket implementation/);
  });

  it('reconnects after the gateway drops the socket, and calls made meanwhile go out on the new socket', async () => {
    client = await connect(gateway.wsUrl, { reconnect: { initialDelayMs: 5 } });
    const disconnected = new Promise((resolve) => client!.on('disconnect', resolve));
    const reconnected = new Promise((resolve) => client!.on('reconnect', resolve));
    const inFlight = rejection(client.call('Hold', { Key: 'cut' }));
    await hold.arrived('cut');
    await [...gateway.gateway.connections][0]!.close(1001, 'Restart');
    await disconnected;
    expect((await inFlight).kind).toBe('closed'); // sent on the old socket: it may have run, so it is not resent
    const meanwhile = client.ping();
    await reconnected;
    await expect(meanwhile).resolves.toEqual({ msg: 'PONG' });
    expect(client.state).toBe('open');
  });

  it('logs in again with WebAuthenticateUser {SessionToken} on reconnect, before calls queued meanwhile', async () => {
    client = await connect(gateway.wsUrl, { reconnect: { initialDelayMs: 5 } });
    const login = await client.webAuthenticateUser({ UserName: 'alice', Password: 'pw' });
    expect(login).toMatchObject({ Authenticated: true, UserId: 7 });
    expect(client.sessionToken).toBe(ALICE_TOKEN);
    await expect(client.call('WhoAmI')).resolves.toEqual({ UserName: 'alice' });

    const disconnected = new Promise((resolve) => client!.on('disconnect', resolve));
    await [...gateway.gateway.connections][0]!.close(1001, 'Restart');
    await disconnected;
    // a new socket has no session: WhoAmI succeeds only if the client logged in again first
    await expect(client.call('WhoAmI')).resolves.toEqual({ UserName: 'alice' });
    expect(logins).toEqual([{ UserName: 'alice', Password: 'pw' }, { SessionToken: ALICE_TOKEN }]);
  });

  it('drops the session and reports it when the re-login is refused', async () => {
    client = await connect(gateway.wsUrl, { reconnect: { initialDelayMs: 5 } });
    client.setSessionToken('a-session-that-expired');
    const refused = new Promise((resolve) => client!.on('reauthenticateFailed', resolve));
    await [...gateway.gateway.connections][0]!.close(1001, 'Restart');
    await refused;
    expect(client.sessionToken).toBeNull();
    await expect(rejection(client.call('WhoAmI'))).resolves.toMatchObject({
      kind: 'response',
      errorcode: 20,
    });
  });

  it('gives up after maxAttempts and rejects the calls that waited', async () => {
    client = await connect(gateway.wsUrl, { reconnect: { initialDelayMs: 5, maxAttempts: 2 } });
    const disconnected = new Promise((resolve) => client!.on('disconnect', resolve));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => client!.on('close', resolve));
    await gateway.close();
    await disconnected;
    const waiting = rejection(client.ping());
    expect((await closed).reason).toMatch(/Gave up reconnecting after 2 attempts/);
    await expect(waiting).resolves.toMatchObject({ kind: 'closed', functionName: 'Ping' });
  });

  it('sends an application-level Ping as keepalive', async () => {
    const pings = deferred();
    let count = 0;
    const counting = defineHandler({
      name: 'Ping',
      input: z.object({}),
      access: 'public',
      run: () => {
        if (++count === 2) pings.resolve();
        return Promise.resolve({ msg: 'PONG' });
      },
    });
    const own = await startGateway({}, { handlers: [counting] });
    servers.push(own);
    // long enough that a loaded machine answers each Ping within it (an unanswered one would drop the socket)
    client = await connect(own.wsUrl, { keepaliveMs: 250 });
    await pings.promise;
    expect(count).toBeGreaterThanOrEqual(2);
  });

  it('drops a socket whose keepalive Ping goes unanswered and reconnects', async () => {
    let connections = 0;
    const second = deferred();
    const server = await rawServer(() => {
      if (++connections === 2) second.resolve(); // the peer reads and never answers
    });
    servers.push(server);
    client = await connect(server.url, { keepaliveMs: 20, reconnect: { initialDelayMs: 5 } });
    const disconnected = new Promise((resolve) => client!.on('disconnect', resolve));
    await expect(disconnected).resolves.toEqual({ code: 4000, reason: 'Keepalive Ping unanswered' });
    await second.promise;
    expect(connections).toBe(2);
  });
});
