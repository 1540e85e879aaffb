// The open-files limit: logged at start-up, and at the limit (less FD_RESERVE) upgrades get 503 while /metrics,
// the sockets already open and the log keep working. Run with a real `ulimit -n 200` on the gateway process.
import WebSocket from 'ws';
import { fileBudget, openFilesLimit } from '../../gateway/server/file-limit';
import { killGatewayProcesses, startGatewayProcess } from '../support/gateway-process';
import { openClient } from '../support/ws-client';

/** Opens a socket: 101 with the socket, or the refusal's status and Retry-After; never a reset. */
function upgrade(url: string): Promise<{ status: number; retryAfter?: string; ws?: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] });
      response.resume();
      ws.terminate();
    });
    ws.once('error', (error) => reject(new Error(`no answer to the upgrade: ${error.message}`)));
  });
}

describe('open-files limit', () => {
  afterEach(() => killGatewayProcesses());

  it('reads the soft limit from /proc/self/limits and leaves the reserve and the open files out of the budget', () => {
    expect(openFilesLimit()).toBeGreaterThan(0);
    expect(openFilesLimit('/nonexistent/limits')).toBeNull();
    expect(fileBudget(64, 200, 30)).toEqual({ limit: 200, openAtStart: 30, connections: 106 });
    expect(fileBudget(64, null, 30).connections).toBe(Infinity);
  });

  it('under ulimit -n 200 warns at start-up, then answers 503 past the budget while /metrics and open sockets answer', async () => {
    const gateway = await startGatewayProcess(
      {
        LOG_LEVEL: 'info',
        MAX_HANDSHAKES_PER_SECOND: '0',
        MAX_CONNECTIONS_PER_ADDRESS: '1000',
        UNAUTHENTICATED_IDLE_MS: '0',
      },
      { openFiles: 200 },
    );
    const warning = await gateway.waitForLine((line) =>
      String(line.msg).startsWith('MAX_CONNECTIONS is above what the open-files limit leaves'),
    );
    expect(warning).toMatchObject({
      level: 'warn',
      openFilesLimit: 200,
      fdReserve: 64,
      maxConnections: 10000,
    });
    const budget = warning.connectionBudget as number;
    expect(budget).toBeGreaterThan(50);
    expect(budget).toBeLessThan(200 - 64);
    const metricsPort = (await gateway.waitForLine((line) => line.msg === 'metrics listening'))
      .port as number;

    const url = `ws://127.0.0.1:${gateway.port}/WSGateway`;
    const first = await openClient(url);
    const open: WebSocket[] = [];
    const refused: { status: number; retryAfter?: string }[] = [];
    while (refused.length < 20) {
      const result = await upgrade(url);
      if (result.ws) open.push(result.ws);
      else refused.push(result);
    }
    expect(open).toHaveLength(budget - 1);
    expect(refused).toEqual(refused.map(() => ({ status: 503, retryAfter: '5' })));

    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('oms_connections_refused_total{reason="file_limit"} 20');
    const logged = await gateway.waitForLine((line) => line.reason === 'file_limit');
    expect(logged.msg).toMatch(/^websocket upgrade refused/);

    // a socket already open still answers, and a closed one frees its slot
    expect(await first.call('Ping')).toEqual({ msg: 'PONG' });
    open.pop()?.terminate();
    await gateway.waitForLine((line) => line.msg === 'connection closed');
    const again = await openClient(url);
    expect(await again.call('Ping')).toEqual({ msg: 'PONG' });
    for (const ws of open) ws.terminate();
  });
});
