// Another user's login latency while one address floods AuthenticateUser with wrong passwords (issue 11, finding 2):
// reported, never asserted. An in-process gateway on the embedded store, with the production argon2 and queue bounds.
import { once } from 'node:events';
import WebSocket from 'ws';
import { loadConfig } from '../gateway/config';
import { seedUsers } from '../gateway/stores/seed-users';
import { createLogger } from '../gateway/logger';
import { createGateway } from '../gateway/create-gateway';

export interface LoginFloodResult {
  /** the other user's login, alone: median and worst, ms */
  readonly aloneMs: { readonly p50: number; readonly max: number };
  /** the same during the flood */
  readonly duringMs: { readonly p50: number; readonly max: number };
  /** the flood's calls and how they were answered */
  readonly flood: { readonly calls: number; readonly refused: number; readonly limited: number };
}

const LOGINS = 15;
const FLOOD_SOCKETS = 20;
const FLOOD_INFLIGHT = 10;

/** One call on its own socket from `localAddress`; resolves with the reply's `o` and the ms it took. */
async function timedLogin(url: string, localAddress: string, login: object): Promise<number> {
  const ws = new WebSocket(url, { localAddress });
  await once(ws, 'open');
  const started = performance.now();
  ws.send(JSON.stringify({ m: 0, i: 2, n: 'AuthenticateUser', o: JSON.stringify(login) }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  const elapsed = performance.now() - started;
  ws.close();
  const reply = JSON.parse((JSON.parse(data.toString('utf8')) as { o: string }).o) as {
    Authenticated?: boolean;
  };
  if (reply.Authenticated !== true) throw new Error(`the measured login failed: ${JSON.stringify(reply)}`);
  return elapsed;
}

function spread(values: number[]): { p50: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: sorted[Math.floor(sorted.length / 2)] ?? 0, max: sorted[sorted.length - 1] ?? 0 };
}

export async function measureLoginFlood(): Promise<LoginFloodResult> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', OMS_DEV: '1' });
  const logger = createLogger('silent');
  const gateway = createGateway(config, { logger });
  const { port } = await gateway.listen();
  const url = `ws://127.0.0.1:${port}/WSGateway`;
  try {
    const { store, hasher } = gateway.services;
    await seedUsers(
      store,
      hasher,
      [
        { UserName: 'victim', Email: 'victim@bench.invalid', Password: 'a victim password 1' },
        { UserName: 'bystander', Email: 'bystander@bench.invalid', Password: 'a bystander password 1' },
      ],
      logger,
    );
    const bystander = { UserName: 'bystander', Password: 'a bystander password 1' };
    const alone: number[] = [];
    for (let index = 0; index < LOGINS; index++) alone.push(await timedLogin(url, '127.0.0.2', bystander));

    // the flood: sockets from 127.0.0.1, each keeping FLOOD_INFLIGHT wrong guesses in flight until told to stop
    let flooding = true;
    const flood = { calls: 0, refused: 0, limited: 0 };
    const floodSockets = await Promise.all(
      Array.from({ length: FLOOD_SOCKETS }, async () => {
        const ws = new WebSocket(url, { localAddress: '127.0.0.1' });
        await once(ws, 'open');
        return ws;
      }),
    );
    let sequence = 0;
    const guess = (ws: WebSocket): void => {
      if (!flooding) return;
      sequence += 2;
      const login = { UserName: 'victim', Password: `guess ${sequence}` };
      ws.send(JSON.stringify({ m: 0, i: sequence, n: 'AuthenticateUser', o: JSON.stringify(login) }));
    };
    for (const ws of floodSockets) {
      ws.on('message', (data: Buffer) => {
        const reply = JSON.parse((JSON.parse(data.toString('utf8')) as { o: string }).o) as {
          errorcode?: number;
        };
        flood.calls++;
        if (reply.errorcode === 101) flood.limited++;
        else flood.refused++;
        guess(ws);
      });
      for (let index = 0; index < FLOOD_INFLIGHT; index++) guess(ws);
    }
    const during: number[] = [];
    for (let index = 0; index < LOGINS; index++) during.push(await timedLogin(url, '127.0.0.2', bystander));
    flooding = false;
    for (const ws of floodSockets) ws.close();
    return { aloneMs: spread(alone), duringMs: spread(during), flood };
  } finally {
    await gateway.close();
  }
}

export function formatLoginFlood(result: LoginFloodResult): string {
  const ms = (value: number): string => value.toFixed(1);
  return (
    `Another user's login (from another address) while one address floods wrong passwords ` +
    `(${FLOOD_SOCKETS}×${FLOOD_INFLIGHT}, load generator in the gateway process, ${result.flood.calls} calls: ${result.flood.refused} checked and refused, ` +
    `${result.flood.limited} answered 101 at once): p50 ${ms(result.duringMs.p50)} ms, max ` +
    `${ms(result.duringMs.max)} ms; alone p50 ${ms(result.aloneMs.p50)} ms, max ${ms(result.aloneMs.max)} ms`
  );
}
