// The gateway as a process: start-up, a bad config value, and SIGTERM's graceful exit.
import { openClient } from '../support/ws-client';
import { killGatewayProcesses, spawnGateway, startGatewayProcess } from '../support/gateway-process';

describe('gateway process', () => {
  afterEach(() => killGatewayProcesses());

  it('exits with code 2 and names the variable when a config value is bad', async () => {
    const gateway = await spawnGateway({ PORT: 'not-a-port', SENDGRID_API_KEY: 'SG.do-not-print' });
    expect(await gateway.exited).toBe(2);
    expect(gateway.stderr()).toContain('PORT:');
    expect(gateway.stderr()).not.toContain('SG.do-not-print');
  });

  it('on SIGTERM closes sockets with 1001 and exits 0', async () => {
    const gateway = await startGatewayProcess({ LOG_LEVEL: 'info' });
    const client = await openClient(`ws://127.0.0.1:${gateway.port}/WSGateway`);
    expect(await client.call('Ping')).toEqual({ msg: 'PONG' });
    gateway.child.kill('SIGTERM');
    expect((await client.closed).code).toBe(1001);
    expect(await gateway.exited).toBe(0);
    expect(gateway.lines.map((line) => line.msg)).toContain('gateway closed');
  });

  it('says at start-up that the embedded store is single-process and keeps nothing, and lists the demo users', async () => {
    const gateway = await startGatewayProcess({ LOG_LEVEL: 'info' });
    const warning = await gateway.waitForLine((line) =>
      String(line.msg).startsWith('embedded in-memory store'),
    );
    expect(warning.msg).toContain('keeps nothing');
    expect(gateway.lines.some((line) => JSON.stringify(line).includes('operator'))).toBe(true);
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });
});
