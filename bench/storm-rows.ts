// The storm row: N clients logged in on the Redis gateway; it gets SIGTERM, a new process starts on the same port,
// and every client reconnects at once and resumes its session with WebAuthenticateUser {SessionToken}.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash } from '@node-rs/argon2';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { freePort } from '../testing/redis-server';
import { sourceAddress } from './idle-memory';
import { cpuMicros } from './proc';
import { parseCommandStats } from './reset-bench';
import type { ServerProcess } from './server-process';

export const STORM_CLIENTS = 10_000;

/** argon2 at its floor for the storm's users: their logins only set the storm up, the resumes hash nothing */
const STORM_ARGON2 = { memoryCost: 64, timeCost: 1, parallelism: 1 } as const;
const STORM_PASSWORD = 'storm password';

/** Every this many clients, one also sends a Ping every PING_EVERY_MS once it is back. */
const PING_SAMPLE = 50;
const PING_EVERY_MS = 100;

/** A client whose reconnect failed after the new process listened tries again after a uniform 50–150 ms. */
const RETRY_MIN_MS = 50;
const RETRY_SPREAD_MS = 100;

/** Clients that open their socket in the same millisecond when the door opens (10,000 in 1 s at most) */
const LAUNCH_SLICE = 10;

/** The storm gives up on clients not back this long after the new process listened. */
const STORM_TIMEOUT_MS = 30_000;

export interface StormResult {
  readonly clients: number;
  /** ms from the new process listening until 50%, 99% and 100% of the clients were back (NaN: never) */
  readonly backMs: { readonly p50: number; readonly p99: number; readonly p100: number };
  readonly back: number;
  /** resumes the new process refused: sessions lost */
  readonly lost: number;
  /** reconnects that failed after the new process listened and were retried, by reason */
  readonly retried: Readonly<Record<string, number>>;
  /** ms from SIGTERM until the new process listened */
  readonly downMs: number;
  /** Redis commands from SIGTERM until all were back, per resume (INFO commandstats; inside scripts too) */
  readonly redisCommandsPerResume: number;
  readonly redisCommandsByName: Readonly<Record<string, number>>;
  /** the new gateway's CPU from listening until all were back, per resume */
  readonly gatewayCpuMicrosPerResume: number;
  /** this process's (the clients') CPU over the same time, per resume */
  readonly clientCpuMicrosPerResume: number;
  /** Ping of the sampled clients already back, while the others were still coming back */
  readonly pingP99Ms: number;
  readonly pings: number;
  /** the new gateway's longest event-loop delay from listening until all were back */
  readonly loopMaxMs: number;
}

/** One raw `ws` client: frames in, replies matched by `i`. */
class StormClient {
  ws: WebSocket | undefined;
  token = '';
  backAt = 0;
  private next = 2;
  private readonly waiting = new Map<
    number,
    { resolve: (o: Record<string, unknown>) => void; reject: (error: Error) => void }
  >();

  constructor(
    readonly index: number,
    private readonly url: string,
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, {
        perMessageDeflate: false,
        localAddress: sourceAddress(this.index),
      });
      ws.once('open', () => {
        this.ws = ws;
        resolve();
      });
      ws.once('error', reject);
      ws.on('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as { i: number; o: string };
        const answer = this.waiting.get(frame.i);
        this.waiting.delete(frame.i);
        answer?.resolve(JSON.parse(frame.o) as Record<string, unknown>);
      });
      ws.once('close', () => {
        for (const { reject: fail } of this.waiting.values()) fail(new Error('closed'));
        this.waiting.clear();
      });
    });
  }

  call(name: string, payload: object): Promise<Record<string, unknown>> {
    const ws = this.ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not open'));
    const i = this.next;
    this.next += 2;
    return new Promise((resolve, reject) => {
      this.waiting.set(i, { resolve, reject });
      ws.send(JSON.stringify({ m: 0, i, n: name, o: JSON.stringify(payload) }));
    });
  }
}

/** A seed file of `count` users, load-user-1 …, all with one argon2 hash of STORM_PASSWORD. */
export async function writeStormSeed(count: number): Promise<{ path: string; remove(): void }> {
  const passwordHash = await hash(STORM_PASSWORD, { algorithm: 2, ...STORM_ARGON2 });
  const users = Array.from({ length: count }, (_, i) => ({
    UserName: `storm-user-${i + 1}`,
    Email: `storm-user-${i + 1}@load.invalid`,
    Permissions: ['Trading'],
    AccountIds: [1],
    PasswordHash: passwordHash,
  }));
  const dir = mkdtempSync(join(tmpdir(), 'oms-storm-'));
  const path = join(dir, 'seed-users.json');
  writeFileSync(path, JSON.stringify(users));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The storm gateways' settings: a fixed port (the new process takes the old one's), argon2 at its floor. */
export function stormGatewayEnv(port: number): Record<string, string> {
  return {
    PORT: String(port),
    ARGON2_MEMORY_KIB: String(STORM_ARGON2.memoryCost),
    ARGON2_ITERATIONS: String(STORM_ARGON2.timeCost),
  };
}

async function inTurns(count: number, lanes: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

function percentileOf(sorted: readonly number[], fraction: number, of: number): number {
  const rank = Math.ceil(fraction * of);
  return rank <= sorted.length ? sorted[rank - 1]! : NaN;
}

/**
 * The storm: `start` starts a Redis gateway on `port` (with `seed`, the first time). Logs every client in on the
 * first process, sends it SIGTERM, starts the second as soon as the first has exited, and measures the clients'
 * return against the second's listen time.
 */
export async function runStorm(options: {
  clients: number;
  redisUrl: string;
  /** a Redis gateway with these settings (and these variables for the bench's child, not the gateway) */
  start: (gatewayEnv: Record<string, string>, childEnv?: Record<string, string>) => Promise<ServerProcess>;
  log: (line: string) => void;
}): Promise<StormResult> {
  const { clients: count, log } = options;
  const port = await freePort();
  const seed = await writeStormSeed(count);
  const redis = new Redis(options.redisUrl, { lazyConnect: true });
  const clients: StormClient[] = [];
  let second: ServerProcess | undefined;
  try {
    log(`storm: ${count.toLocaleString('en-US')} clients log in…`);
    const first = await options.start({ ...stormGatewayEnv(port), SEED_FILE: seed.path });
    const url = `ws://127.0.0.1:${port}/WSGateway`;
    await inTurns(count, 200, async (index) => {
      const client = new StormClient(index, url);
      await client.open();
      const reply = await client.call('AuthenticateUser', {
        UserName: `storm-user-${index + 1}`,
        Password: STORM_PASSWORD,
      });
      if (reply.Authenticated !== true || typeof reply.SessionToken !== 'string') {
        throw new Error(`storm login ${index + 1} refused: ${JSON.stringify(reply)}`);
      }
      client.token = reply.SessionToken;
      clients.push(client);
    });

    // every client reconnects as soon as its socket closes, and retries until it is back or the storm is over
    let listenedAt = Number.POSITIVE_INFINITY;
    let lost = 0;
    const retried: Record<string, number> = {};
    let allBack!: () => void;
    const done = new Promise<void>((resolve) => (allBack = resolve));
    let settled = 0;
    const settle = (): void => {
      if (++settled === count) allBack();
    };
    const pings: number[] = [];
    let storming = true;
    const pingWhileStorming = (client: StormClient): void => {
      const sentAt = performance.now();
      client.call('Ping', {}).then(
        () => {
          if (!storming) return;
          pings.push(performance.now() - sentAt);
          setTimeout(() => pingWhileStorming(client), PING_EVERY_MS);
        },
        () => undefined,
      );
    };
    // the clients hold off until the new process listens, then all go at once: the hardest burst, and no CPU of
    // this machine's 2 cores spent on connects the old process would refuse (real clients run elsewhere)
    let openDoor!: () => void;
    const doorOpen = new Promise<void>((resolve) => (openDoor = resolve));
    const comeBack = async (client: StormClient): Promise<void> => {
      for (;;) {
        const triedAt = Date.now();
        try {
          await client.open();
          const reply = await client.call('WebAuthenticateUser', { SessionToken: client.token });
          if (reply.Authenticated === true) {
            client.backAt = Date.now();
            if (client.index % PING_SAMPLE === 0) pingWhileStorming(client);
          } else lost++;
          return settle();
        } catch (error) {
          // only attempts that began after the new process listened (the old one refused the rest)
          if (triedAt >= listenedAt) {
            const reason =
              error instanceof Error ? error.message.replace(/\d+\.\d+\.\d+\.\d+:\d+/, '') : 'error';
            retried[reason] = (retried[reason] ?? 0) + 1;
          }
          if (Date.now() > listenedAt + STORM_TIMEOUT_MS) return settle();
          await new Promise((resolve) => setTimeout(resolve, RETRY_MIN_MS + Math.random() * RETRY_SPREAD_MS));
        }
      }
    };
    // when the door opens, the clients go in slices of LAUNCH_SLICE per turn of this process's event loop, so
    // that the first replies are read while later sockets open (10,000 opened in one turn took seconds, during
    // which no reply was read and the gateway's 10 s headers timeout answered 408)
    const launch = async (client: StormClient): Promise<void> => {
      await doorOpen;
      await new Promise((resolve) => setTimeout(resolve, Math.floor(client.index / LAUNCH_SLICE)));
      await comeBack(client);
    };
    for (const client of clients) client.ws!.once('close', () => void launch(client));

    await redis.connect();
    const statsBefore = parseCommandStats(await redis.info('commandstats'));
    log('storm: SIGTERM, and a new process on the same port…');
    const terminatedAt = Date.now();
    await first.terminate();
    second = await options.start(stormGatewayEnv(port), { BENCH_MONITOR_LOOP: '1' });
    listenedAt = second.listenedAt;
    openDoor();
    const clientCpuBefore = process.cpuUsage();
    const timeout = setTimeout(allBack, STORM_TIMEOUT_MS + 5_000);
    await done;
    clearTimeout(timeout);
    storming = false;
    const gatewayCpu = cpuMicros(second.pid) - second.cpuAtListen;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const loop = await second.request({ type: 'loop-delay' }, 'loop-delay');
    const statsAfter = parseCommandStats(await redis.info('commandstats'));

    const back = clients.filter((client) => client.backAt > 0);
    const times = back.map((client) => Math.max(0, client.backAt - listenedAt)).sort((a, b) => a - b);
    const byName: Record<string, number> = {};
    let commands = 0;
    for (const [name, calls] of statsAfter) {
      const delta = calls - (statsBefore.get(name) ?? 0);
      if (delta <= 0 || name === 'info') continue;
      byName[name] = delta / Math.max(1, back.length);
      commands += delta;
    }
    const sortedPings = [...pings].sort((a, b) => a - b);
    return {
      clients: count,
      backMs: {
        p50: percentileOf(times, 0.5, count),
        p99: percentileOf(times, 0.99, count),
        p100: percentileOf(times, 1, count),
      },
      back: back.length,
      lost,
      retried,
      downMs: listenedAt - terminatedAt,
      redisCommandsPerResume: commands / Math.max(1, back.length),
      redisCommandsByName: byName,
      gatewayCpuMicrosPerResume: gatewayCpu / Math.max(1, back.length),
      clientCpuMicrosPerResume: (clientCpu.user + clientCpu.system) / Math.max(1, back.length),
      pingP99Ms: sortedPings.length > 0 ? percentileOf(sortedPings, 0.99, sortedPings.length) : NaN,
      pings: sortedPings.length,
      loopMaxMs: loop.maxMs,
    };
  } finally {
    for (const client of clients) {
      client.ws?.removeAllListeners('close');
      client.ws?.terminate();
    }
    await second?.stop();
    redis.disconnect();
    seed.remove();
  }
}
