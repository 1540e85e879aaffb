// The gateway protects itself at the edge: connection caps, a login deadline, HTTP timeouts, HSTS.
import { connect } from 'node:net';
import WebSocket from 'ws';
import { z } from 'zod';
import { defineHandler } from '../../handlers/context';
import { handlers as productHandlers } from '../../handlers';
import { startUserGateway } from '../handlers/users-fixture';
import { deferred } from '../support/deferred';
import { startGateway } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { openClient } from '../support/ws-client';
import type { TestClient } from '../support/ws-client';

/** The status and headers of a refused upgrade. */
function refusedUpgrade(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('error', () => undefined);
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] });
      response.resume();
      ws.terminate();
    });
  });
}

async function refusedCount(gw: TestGateway, reason: string): Promise<number> {
  const metric = await gw.gateway.metrics.connectionsRefused.get();
  return metric.values.find((value) => value.labels.reason === reason)?.value ?? 0;
}

describe('admission control', () => {
  it('refuses the 4th socket from one address with 503 and Retry-After, accepts another address, and keeps the first three', async () => {
    const gw = closedAfterEach(await startGateway({ MAX_CONNECTIONS_PER_ADDRESS: '3' }));
    const first: TestClient[] = [];
    for (let index = 0; index < 3; index++) first.push(await openClient(gw.wsUrl));
    const flood = await Promise.all([1, 2, 3].map(() => refusedUpgrade(gw.wsUrl)));
    expect(flood).toEqual([1, 2, 3].map(() => ({ status: 503, retryAfter: '5' })));
    expect(await refusedCount(gw, 'max_connections_per_address')).toBe(3);
    // one log line for the burst, not one per refusal
    const lines = gw.logs.entries().filter((entry) => entry.reason === 'max_connections_per_address');
    expect(lines).toHaveLength(1);

    const other = await openClient(gw.wsUrl, { localAddress: '127.0.0.2' });
    expect(await other.call('Ping')).toEqual({ msg: 'PONG' });
    for (const client of first) expect(await client.call('Ping')).toEqual({ msg: 'PONG' });

    await first[0]!.close();
    // the gateway frees the slot once it saw the close
    await gw.logs.waitFor((entry) => entry.msg === 'connection closed');
    const again = await openClient(gw.wsUrl);
    expect(await again.call('Ping')).toEqual({ msg: 'PONG' });
    for (const client of [...first.slice(1), other, again]) await client.close();
  });

  it('refuses past MAX_CONNECTIONS whatever the address', async () => {
    const gw = closedAfterEach(await startGateway({ MAX_CONNECTIONS: '2' }));
    const a = await openClient(gw.wsUrl);
    const b = await openClient(gw.wsUrl, { localAddress: '127.0.0.2' });
    expect(await refusedUpgrade(gw.wsUrl, { localAddress: '127.0.0.3' })).toEqual({
      status: 503,
      retryAfter: '5',
    });
    expect(await refusedCount(gw, 'max_connections')).toBe(1);
    expect(await a.call('Ping')).toEqual({ msg: 'PONG' });
    await a.close();
    await b.close();
  });

  it('counts one /64 as one address: sockets from two addresses of it share the cap', async () => {
    const gw = closedAfterEach(
      await startGateway({ MAX_CONNECTIONS_PER_ADDRESS: '1', TRUST_PROXY: 'loopback' }),
    );
    const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });
    const first = await openClient(gw.wsUrl, from('2001:db8:5:5::1'));
    expect((await refusedUpgrade(gw.wsUrl, from('2001:db8:5:5:ffff::2'))).status).toBe(503);
    const elsewhere = await openClient(gw.wsUrl, from('2001:db8:5:6::1'));
    await first.close();
    await elsewhere.close();
  });

  it('refuses a burst of upgrades past MAX_HANDSHAKES_PER_SECOND with 503 and Retry-After: 1, and the socket already connected keeps answering', async () => {
    const gw = closedAfterEach(await startGateway({ MAX_HANDSHAKES_PER_SECOND: '1' }));
    // takes the bucket's one token; the burst below comes well within the second it takes to refill
    const connected = await openClient(gw.wsUrl);
    const burst = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<{ status: number; retryAfter?: string; ws?: WebSocket }>((resolve) => {
            const ws = new WebSocket(gw.wsUrl);
            ws.on('error', () => undefined);
            ws.once('open', () => resolve({ status: 101, ws }));
            ws.once('unexpected-response', (_request, response) => {
              resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] });
              response.resume();
              ws.terminate();
            });
          }),
      ),
    );
    const refused = burst.filter((result) => result.status !== 101);
    expect(refused.length).toBeGreaterThanOrEqual(8);
    for (const result of refused) expect(result).toEqual({ status: 503, retryAfter: '1' });
    expect(await refusedCount(gw, 'handshake_rate')).toBe(refused.length);
    expect(await connected.call('Ping')).toEqual({ msg: 'PONG' });
    await gw.logs.waitFor((entry) => entry.reason === 'handshake_rate');
    for (const result of burst) result.ws?.terminate();
    await connected.close();
  });
});

describe('UNAUTHENTICATED_IDLE_MS', () => {
  it('closes a socket that never logs in with 1008 and a reason, Pings or not', async () => {
    const gw = closedAfterEach(await startGateway({ UNAUTHENTICATED_IDLE_MS: '200' }));
    const silent = await openClient(gw.wsUrl);
    const pinging = await openClient(gw.wsUrl);
    expect(await pinging.call('Ping')).toEqual({ msg: 'PONG' });
    expect(await silent.closed).toEqual({ code: 1008, reason: 'Not logged in in time' });
    expect((await pinging.closed).code).toBe(1008);
  });

  it('keeps a socket that logged in before the deadline', async () => {
    const gw = closedAfterEach(await startUserGateway({ UNAUTHENTICATED_IDLE_MS: '300' }));
    const user = await openClient(gw.wsUrl);
    const anonymous = await openClient(gw.wsUrl);
    expect(
      await user.call('AuthenticateUser', { UserName: 'trader1', Password: 'pw-trader1' }),
    ).toMatchObject({ Authenticated: true });
    // the anonymous socket opened after the user's: once it is closed, the user's deadline has passed too
    expect((await anonymous.closed).code).toBe(1008);
    expect(user.ws.readyState).toBe(WebSocket.OPEN);
    expect(await user.call('Ping')).toEqual({ msg: 'PONG' });
    await user.close();
  });

  it('answers a call in flight at the deadline before closing (the reset page sends ResetPassword2 unauthenticated)', async () => {
    const release = deferred();
    const started = deferred();
    const hold = defineHandler({
      name: 'Hold',
      input: z.object({}),
      access: 'public',
      run: async () => {
        started.resolve();
        await release.promise;
        return { held: true };
      },
    });
    const gw = closedAfterEach(
      await startGateway({ UNAUTHENTICATED_IDLE_MS: '200' }, { handlers: [...productHandlers, hold] }),
    );
    const client = await openClient(gw.wsUrl);
    const reply = client.call('Hold');
    await started.promise;
    // a socket opened later is closed: the held socket's deadline has passed, and it stays while the call runs
    const later = await openClient(gw.wsUrl);
    expect((await later.closed).code).toBe(1008);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    release.resolve();
    expect(await reply).toEqual({ held: true });
    expect((await client.closed).code).toBe(1008);
  });
});

describe('HTTP timeouts', () => {
  it('ends a request whose body never finishes (a slow-body attack) at HTTP_REQUEST_TIMEOUT_MS', async () => {
    const gw = closedAfterEach(
      await startGateway({ HTTP_HEADERS_TIMEOUT_MS: '100', HTTP_REQUEST_TIMEOUT_MS: '300' }),
    );
    const port = gw.gateway.address().port;
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      'POST /AP/Ping HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('ends a request whose headers never finish at HTTP_HEADERS_TIMEOUT_MS', async () => {
    const gw = closedAfterEach(
      await startGateway({ HTTP_HEADERS_TIMEOUT_MS: '100', HTTP_REQUEST_TIMEOUT_MS: '60000' }),
    );
    const socket = connect(gw.gateway.address().port, '127.0.0.1');
    socket.on('data', () => undefined);
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('POST /AP/Ping HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await ended;
  });

  it('refuses a headers timeout above the request timeout at start-up', async () => {
    await expect(
      startGateway({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }),
    ).rejects.toThrow(/HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS/);
  });
});

describe('HSTS', () => {
  it('is sent on the page, /AP and authreset when RESET_PAGE_URL is https', async () => {
    const gw = closedAfterEach(await startGateway({ RESET_PAGE_URL: 'https://oms.example.com/reset' }));
    for (const [path, method] of [
      ['/reset', 'GET'],
      ['/AP/Ping', 'POST'],
      ['/api/User/authreset', 'POST'],
    ] as const) {
      const response = await fetch(`${gw.httpUrl}${path}`, {
        method,
        body: method === 'POST' ? '{}' : undefined,
      });
      expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      await response.arrayBuffer();
    }
  });

  it('is not sent when RESET_PAGE_URL is http', async () => {
    const gw = closedAfterEach(await startGateway({}));
    const response = await fetch(`${gw.httpUrl}/AP/Ping`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(200);
    expect(response.headers.get('strict-transport-security')).toBeNull();
  });
});
