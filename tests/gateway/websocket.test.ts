// The gateway over real sockets: round trips, tolerances, pipelining, error frames, limits, heartbeat, shutdown.
import WebSocket from 'ws';
import { z } from 'zod';
import { defineHandler } from '../../handlers/context';
import type { Handler } from '../../handlers/context';
import { handlers as productHandlers } from '../../handlers';
import { deferred } from '../support/deferred';
import type { Deferred } from '../support/deferred';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { openClient } from '../support/ws-client';

/** Test-only functions injected beside the product's: held until the test releases them, or large replies. */
function testHandlers(held: Map<string, Deferred<void>>, started: (key: string) => void): Handler[] {
  return [
    ...productHandlers,
    defineHandler({
      name: 'Hold',
      input: z.object({ Key: z.string() }),
      access: 'public',
      run: async ({ Key }) => {
        started(Key);
        await held.get(Key)!.promise;
        return { Key };
      },
    }),
    defineHandler({
      name: 'Blob',
      input: z.object({}),
      access: 'public',
      run: () => Promise.resolve({ data: 'x'.repeat(60_000) }),
    }),
  ];
}

describe('gateway WebSocket', () => {
  let held: Map<string, Deferred<void>>;
  let startedKeys: Map<string, Deferred<void>>;

  /** A gateway with the test functions, closed after the test. */
  async function start(env: Record<string, string> = {}): Promise<TestGateway> {
    held = new Map();
    startedKeys = new Map();
    return closedAfterEach(
      await startGateway(env, { handlers: testHandlers(held, (key) => startedKeys.get(key)?.resolve()) }),
    );
  }
  /** Makes the test's calls of Hold with this key wait until the test resolves `held.get(key)`. */
  const hold = (key: string) => {
    held.set(key, deferred());
    startedKeys.set(key, deferred());
  };

  it.each(['/WSGateway', '/wsgateway/', '/WSGATEWAY', '/'])('answers Ping with PONG at %s', async (path) => {
    const gw = await start();
    const client = await openClient(gw.httpUrl.replace('http', 'ws') + path);
    client.send('{"m":0,"i":2,"n":"Ping","o":"{}"}');
    const reply = await client.next();
    expect(reply).toEqual({ m: 1, i: 2, n: 'Ping', o: '{"msg":"PONG"}' });
    await client.close();
  });

  it('refuses an upgrade on any other path with 404', async () => {
    const gw = await start();
    await expect(openClient(gw.httpUrl.replace('http', 'ws') + '/other')).rejects.toThrow(
      'upgrade refused: 404',
    );
  });

  it.each([
    ['o missing', '{"m":0,"i":3,"n":"Ping"}'],
    ['o empty', '{"m":0,"i":3,"n":"Ping","o":""}'],
    ['o "null"', '{"m":0,"i":3,"n":"Ping","o":"null"}'],
    ['o an object', '{"m":0,"i":3,"n":"Ping","o":{"extra":1}}'],
    ['a lower-case name', '{"m":0,"i":3,"n":"ping","o":"{}"}'],
  ])('tolerates %s', async (_label, text) => {
    const gw = await start();
    const client = await openClient(gw.wsUrl);
    client.send(text);
    const reply = await client.next();
    expect(reply.m).toBe(1);
    expect(reply.i).toBe(3);
    expect(JSON.parse(reply.o)).toEqual({ msg: 'PONG' });
    await client.close();
  });

  it('answers exact error frames for garbage, a non-frame and an unknown function, and stays open', async () => {
    const gw = await start();
    const client = await openClient(gw.wsUrl);
    client.send('not json at all');
    expect(await client.next()).toEqual({
      m: 5,
      i: 0,
      n: '',
      o: '{"result":false,"errormsg":"Invalid Response","errorcode":100,"detail":"Frame is not valid JSON"}',
    });
    client.send('{"m":0,"i":7}');
    expect(await client.next()).toEqual({
      m: 5,
      i: 7,
      n: '',
      o: '{"result":false,"errormsg":"Invalid Response","errorcode":100,"detail":"Frame field \\"n\\" must be a function name"}',
    });
    client.send('{"m":0,"i":9,"n":"GetL2Snapshot","o":"{}"}');
    expect(await client.next()).toEqual({
      m: 5,
      i: 9,
      n: 'GetL2Snapshot',
      o: '{"result":false,"errormsg":"Operation Not Supported","errorcode":106,"detail":"Endpoint Not Found"}',
    });
    client.send('{"m":2,"i":11,"n":"SubscribeLevel1","o":"{}"}');
    expect(await client.next()).toMatchObject({ m: 5, i: 11, n: 'SubscribeLevel1' });
    expect(await client.call('Ping')).toEqual({ msg: 'PONG' });
    await client.close();
  });

  it('answers a binary frame with an error frame, errorcode 100', async () => {
    const gw = await start();
    const client = await openClient(gw.wsUrl);
    client.ws.send(Buffer.from('{"m":0,"i":2,"n":"Ping"}'), { binary: true });
    const reply = await client.next();
    expect(reply.m).toBe(5);
    expect(JSON.parse(reply.o)).toMatchObject({
      errorcode: 100,
      detail: 'Binary frames are not supported; send JSON text',
    });
    await client.close();
  });

  it('pipelines calls: a fast reply overtakes a slow one, each matched by its i', async () => {
    const gw = await start();
    const client = await openClient(gw.wsUrl);
    hold('slow');
    client.send({ m: 0, i: 2, n: 'Hold', o: '{"Key":"slow"}' });
    await startedKeys.get('slow')!.promise;
    client.send({ m: 0, i: 4, n: 'Ping', o: '' });
    expect(await client.next()).toMatchObject({ i: 4, n: 'Ping' });
    held.get('slow')!.resolve();
    expect(await client.next()).toMatchObject({ m: 1, i: 2, n: 'Hold', o: '{"Key":"slow"}' });
    await client.close();
  });

  it('echoes reused sequence numbers', async () => {
    const gw = await start();
    const client = await openClient(gw.wsUrl);
    client.send({ m: 0, i: 1, n: 'Ping' });
    client.send({ m: 0, i: 1, n: 'Ping' });
    expect((await client.next()).i).toBe(1);
    expect((await client.next()).i).toBe(1);
    await client.close();
  });

  it('runs at most MAX_INFLIGHT_PER_CONNECTION calls at once and answers every one', async () => {
    const gw = await start({ MAX_INFLIGHT_PER_CONNECTION: '2' });
    const client = await openClient(gw.wsUrl);
    for (const key of ['a', 'b', 'c', 'd']) hold(key);
    for (const [index, key] of ['a', 'b', 'c', 'd'].entries()) {
      client.send({ m: 0, i: index * 2 + 2, n: 'Hold', o: { Key: key } });
    }
    await startedKeys.get('a')!.promise;
    await startedKeys.get('b')!.promise;
    // c may only start once a or b has finished
    let cStarted = false;
    void startedKeys.get('c')!.promise.then(() => (cStarted = true));
    client.send({ m: 0, i: 100, n: 'Hold', o: { Key: 'a' } }); // queued behind c and d as well
    expect(cStarted).toBe(false);
    held.get('a')!.resolve();
    expect((await client.next()).i).toBe(2);
    await startedKeys.get('c')!.promise;
    for (const key of ['b', 'c', 'd']) held.get(key)!.resolve();
    const rest = [await client.next(), await client.next(), await client.next(), await client.next()];
    expect(rest.map((frame) => frame.i).sort((x, y) => x - y)).toEqual([4, 6, 8, 100]);
    await client.close();
  });

  it('closes with 1008 after MAX_BAD_FRAMES bad frames in a row, answering each one first', async () => {
    const gw = await start({ MAX_BAD_FRAMES: '5' });
    const client = await openClient(gw.wsUrl);
    for (let n = 0; n < 4; n++) client.send('garbage');
    client.send({ m: 0, i: 2, n: 'Ping' }); // a good frame resets the count
    for (let n = 0; n < 4; n++) expect((await client.next()).m).toBe(5);
    expect((await client.next()).m).toBe(1);
    for (let n = 0; n < 5; n++) client.send('garbage');
    for (let n = 0; n < 5; n++) expect((await client.next()).m).toBe(5);
    expect(await client.closed).toEqual({ code: 1008, reason: 'Too many bad frames' });
  });

  it('closes with 1009 when a frame is over MAX_FRAME_BYTES', async () => {
    const gw = await start({ MAX_FRAME_BYTES: '1024', CLOSE_TIMEOUT_MS: '50' });
    const client = await openClient(gw.wsUrl);
    client.send({ m: 0, i: 2, n: 'Ping', o: JSON.stringify({ pad: 'x'.repeat(2000) }) });
    expect((await client.closed).code).toBe(1009);
    await expect(gw.logs.waitFor((entry) => entry.msg === 'connection closed')).resolves.toBeTruthy();
  });

  it('closes with 1008 a client that stops reading once MAX_BUFFERED_BYTES are queued', async () => {
    const gw = await start({ MAX_BUFFERED_BYTES: '65536', MAX_INFLIGHT_PER_CONNECTION: '1000' });
    const client = await openClient(gw.wsUrl);
    client.ws.pause();
    for (let n = 0; n < 600; n++) client.send({ m: 0, i: n, n: 'Blob' });
    await gw.logs.waitFor((entry) => entry.msg === 'closing connection: client is not reading its replies');
    client.ws.resume();
    expect(await client.closed).toEqual({ code: 1008, reason: 'Client not reading' });
  });

  it('keeps a peer that answers pings, and terminates one that stops', async () => {
    // short enough for a quick test, long enough that a busy test worker still pongs in time: at 30 ms a stall
    // of this process over two intervals got the healthy peer terminated too
    const gw = await start({ HEARTBEAT_INTERVAL_MS: '200' });
    const healthy = await openClient(gw.wsUrl);
    let pings = 0;
    const threePings = new Promise<void>((resolve) =>
      healthy.ws.on('ping', () => {
        if (++pings === 3) resolve();
      }),
    );
    const silent = await openClient(gw.wsUrl, { autoPong: false });
    expect((await silent.closed).code).toBe(1006);
    await threePings;
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    expect(await healthy.call('Ping')).toEqual({ msg: 'PONG' });
    await healthy.close();
  });

  it('shuts down gracefully: a call in flight finishes, then sockets close with 1001', async () => {
    const gw = await start();
    const client = await openClient(gw.wsUrl);
    hold('inflight');
    client.send({ m: 0, i: 2, n: 'Hold', o: { Key: 'inflight' } });
    await startedKeys.get('inflight')!.promise;
    const closing = gw.gateway.close();
    // no new connections while shutting down
    await expect(openClient(gw.wsUrl)).rejects.toThrow();
    held.get('inflight')!.resolve();
    expect(await client.next()).toMatchObject({ m: 1, i: 2, o: '{"Key":"inflight"}' });
    expect((await client.closed).code).toBe(1001);
    await closing;
  });

  it('shuts down within SHUTDOWN_TIMEOUT_MS even when a call never finishes', async () => {
    const gw = await start({ SHUTDOWN_TIMEOUT_MS: '50' });
    const client = await openClient(gw.wsUrl);
    hold('forever');
    client.send({ m: 0, i: 2, n: 'Hold', o: { Key: 'forever' } });
    await startedKeys.get('forever')!.promise;
    await gw.gateway.close();
    expect((await client.closed).code).toBe(1001);
    await gw.logs.waitFor((entry) => entry.msg === 'shutdown timeout: closing with calls still in flight');
  });

  it('never writes a secret sent in a frame to the log', async () => {
    const gw = await start();
    const client = await openClient(gw.wsUrl);
    const secrets = ['Pw-9f8e7d6c', '6f1c3e0a-1111-4aaa-8bbb-123456789abc', 'sess-5c4b3a29', 'key-a1b2c3'];
    const payload = {
      Password: secrets[0],
      PendingCode: secrets[1],
      SessionToken: secrets[2],
      APIKey: secrets[3],
    };
    client.send({ m: 0, i: 2, n: 'Ping', o: JSON.stringify(payload) });
    client.send({ m: 0, i: 4, n: 'NoSuchFunction', o: JSON.stringify(payload) });
    client.send({ m: 0, i: 6, n: 'Hold', o: JSON.stringify({ Key: 5, ...payload }) });
    client.send(`{"m":0,"i":8,"n":"Ping","o":"{\\"Password\\":\\"${secrets[0]}"`);
    client.send(`{"m":0,"i":10,"n":"Ping","o":"{\\"Password\\":\\"${secrets[0]}"}`);
    for (let n = 0; n < 5; n++) await client.next();
    await client.close();
    await gw.logs.waitFor((entry) => entry.msg === 'connection closed');
    expect(gw.logs.lines.length).toBeGreaterThan(3);
    for (const line of gw.logs.lines) for (const secret of secrets) expect(line).not.toContain(secret);
  });

  it('logs one line per connection open and close, and one per failed call', async () => {
    const gw = await start();
    const client = await openClient(gw.wsUrl);
    await client.call('Ping');
    client.send('garbage');
    await client.next();
    await client.close();
    await gw.logs.waitFor((entry) => entry.msg === 'connection closed');
    const messages = gw.logs.entries().map((entry) => entry.msg);
    expect(messages.filter((msg) => msg === 'connection open')).toHaveLength(1);
    expect(messages.filter((msg) => msg === 'call failed')).toHaveLength(1);
    expect(messages.filter((msg) => msg === 'connection closed')).toHaveLength(1);
  });
});
