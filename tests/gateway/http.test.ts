// The plain HTTP routes beside the socket: health, readiness and Prometheus metrics.
import { singleNode } from '../../gateway/stores/redis/connection';
import { createRedisStore } from '../../gateway/stores/redis/redis-store';
import { freePort } from '../../testing/redis-server';
import { startGateway } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { captureLogs } from '../support/logs';
import { openClient } from '../support/ws-client';

describe('gateway HTTP routes', () => {
  it('answers /healthz and /readyz with 200 on the embedded store', async () => {
    const gw = closedAfterEach(await startGateway());
    const health = await fetch(`${gw.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gw.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', store: 'memory' });
  });

  it('answers /readyz with 503 when the store does not answer', async () => {
    const port = await freePort(); // nothing listens there
    const store = createRedisStore(
      { topology: singleNode(`redis://127.0.0.1:${port}`), prefix: 'x:', commandTimeoutMs: 100 },
      captureLogs().logger,
    );
    // closed after the gateway, which does not own it
    closedAfterEach(store);
    const gw = closedAfterEach(await startGateway({}, { store }));
    const ready = await fetch(`${gw.httpUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'store unreachable', store: 'redis' });
  });

  it('serves Prometheus metrics with connections, calls by function and outcome, latency and event-loop lag', async () => {
    const gw = closedAfterEach(await startGateway());
    const client = await openClient(gw.wsUrl);
    await client.call('Ping');
    client.send('garbage');
    await client.next();
    const response = await fetch(gw.metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('oms_connections_open 1');
    expect(text).toContain('oms_calls_total{function="Ping",errorcode="0"} 1');
    expect(text).toContain('oms_calls_total{function="(unknown)",errorcode="100"} 1');
    expect(text).toMatch(/oms_call_duration_seconds_count\{function="Ping"\} 1/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    await client.close();
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    const gw = closedAfterEach(await startGateway());
    expect((await fetch(`${gw.httpUrl}/nope`)).status).toBe(404);
    expect((await fetch(`${gw.httpUrl}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});
