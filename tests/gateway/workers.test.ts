// WORKERS=2 on a real Redis: the real bundled process, its sockets spread over both workers, /metrics summed by the
// primary, a revocation through one worker reaching a socket on the other, a killed worker replaced, SIGTERM.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGatewayProcesses, spawnGateway, startGatewayProcess } from '../support/gateway-process';
import type { GatewayProcess } from '../support/gateway-process';
import { testRedisUrl, uniquePrefix } from '../support/gateway';
import { restartDelayMs } from '../../gateway/workers';
import { openClient } from '../support/ws-client';
import type { TestClient } from '../support/ws-client';

/** A seed file with one Trading user (each worker loads it; names already there are kept). */
function seedFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'oms-workers-')), 'seed.json');
  const user = { UserName: 'trader1', Email: 'trader1@example.com', Password: 'pw-trader1' };
  writeFileSync(path, JSON.stringify([{ ...user, Permissions: ['Trading'], AccountIds: [1] }]));
  return path;
}

/** Two workers on the shared test Redis, in development mode, with a cheap argon2; resolves once both listen. */
async function startCluster(): Promise<GatewayProcess & { port: number; metricsUrl: string }> {
  const gateway = await startGatewayProcess({
    SEED_FILE: seedFile(),
    LOG_LEVEL: 'info',
    WORKERS: '2',
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: uniquePrefix(),
    ARGON2_MEMORY_KIB: '64',
    ARGON2_ITERATIONS: '1',
    UNAUTHENTICATED_IDLE_MS: '0',
  });
  await gateway.waitForLine((line) => line.msg === 'workers listening');
  const first = await gateway.waitForLine((line) => line.msg === 'gateway listening');
  await gateway.waitForLine((line) => line.msg === 'gateway listening' && line.worker !== first.worker);
  const metrics = await gateway.waitForLine((line) => line.msg === 'metrics listening');
  return { ...gateway, metricsUrl: `http://127.0.0.1:${metrics.port as number}/metrics` };
}

/** Opens a socket and says which worker took it: the one that logged its peer port. */
async function openOnWorker(
  gateway: GatewayProcess & { port: number },
): Promise<{ client: TestClient; worker: number }> {
  const client = await openClient(`ws://127.0.0.1:${gateway.port}/WSGateway`);
  const port = (client.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
  const line = await gateway.waitForLine((entry) => entry.msg === 'connection open' && entry.port === port);
  return { client, worker: line.worker as number };
}

/** A sample's value in Prometheus text. */
function sample(text: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`${name} is not in /metrics`);
  return Number(match[1]);
}

describe('restart backoff', () => {
  it('restarts at once after a worker that ran, then doubles from 0.5 s up to 30 s while it keeps dying', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 50].map(restartDelayMs)).toEqual([
      0, 500, 1000, 2000, 4000, 30_000, 30_000, 30_000,
    ]);
  });
});

describe('WORKERS=2', () => {
  afterEach(() => killGatewayProcesses());

  it('refuses more than one worker on the embedded store at start-up', async () => {
    const gateway = await spawnGateway({ OMS_DEV: '1', WORKERS: '2' });
    expect(await gateway.exited).toBe(2);
    expect(gateway.stderr()).toContain('WORKERS: more than 1 needs Redis');
  });

  it('spreads sockets over both workers, sums /metrics over them, and revokes a session on the other worker', async () => {
    const gateway = await startCluster();
    const sockets = [];
    for (let index = 0; index < 20; index++) sockets.push(await openOnWorker(gateway));
    const perWorker = new Map<number, number>();
    for (const { worker } of sockets) perWorker.set(worker, (perWorker.get(worker) ?? 0) + 1);
    expect(perWorker.size).toBe(2);
    // the primary hands connections out in turn
    for (const count of perWorker.values()) expect(count).toBeGreaterThanOrEqual(8);

    const metrics = await (await fetch(gateway.metricsUrl)).text();
    expect(sample(metrics, 'oms_connections_open')).toBe(20);
    expect(sample(metrics, 'oms_connections_total')).toBe(20);
    expect(sample(metrics, 'oms_store_up')).toBe(1);
    expect(sample(metrics, 'oms_workers')).toBe(2);

    // log in on one worker, resume the session on the other, log out on the first
    const [first] = sockets;
    const other = sockets.find(({ worker }) => worker !== first!.worker)!;
    const login = (await first!.client.call('WebAuthenticateUser', {
      UserName: 'trader1',
      Password: 'pw-trader1',
    })) as { SessionToken: string; Authenticated: boolean };
    expect(login.Authenticated).toBe(true);
    expect(
      await other.client.call('WebAuthenticateUser', { SessionToken: login.SessionToken }),
    ).toMatchObject({ Authenticated: true });
    expect(await other.client.call('GetUserInfo', {})).toMatchObject({ UserName: 'trader1' });
    await first!.client.call('LogOut', {});
    await gateway.waitForLine(
      (line) => line.msg === 'session revoked: connection de-authenticated' && line.worker === other.worker,
    );
    expect(await other.client.call('GetUserInfo', {})).toMatchObject({ errorcode: 20 });
    for (const { client } of sockets) await client.close();
  });

  it('replaces a worker killed with SIGKILL, logs it, and on SIGTERM drains every worker and exits 0', async () => {
    const gateway = await startCluster();
    const victim = await gateway.waitForLine((line) => line.msg === 'gateway listening');
    const workers = new Set(
      gateway.lines.filter((line) => line.msg === 'gateway listening').map((line) => line.worker),
    );
    expect(workers.size).toBe(2);
    process.kill(victim.pid as number, 'SIGKILL');
    const died = await gateway.waitForLine((line) => line.msg === 'worker died; starting another');
    expect(died).toMatchObject({ worker: victim.worker, signal: 'SIGKILL', level: 'error' });
    const replacement = await gateway.waitForLine(
      (line) => line.msg === 'gateway listening' && !workers.has(line.worker),
    );
    expect(replacement.pid).not.toBe(victim.pid);

    // sockets on both workers, the replacement included, each with its SIGTERM
    const sockets = [];
    while (new Set(sockets.map(({ worker }) => worker)).size < 2) sockets.push(await openOnWorker(gateway));
    expect(sockets.map(({ worker }) => worker)).toContain(replacement.worker);
    gateway.child.kill('SIGTERM');
    for (const { client } of sockets) expect((await client.closed).code).toBe(1001);
    expect(await gateway.exited).toBe(0);
    const closed = gateway.lines.filter((line) => line.msg === 'gateway closed' && line.worker !== undefined);
    expect(new Set(closed.map((line) => line.worker)).size).toBe(2);
  });
});
