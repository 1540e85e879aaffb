// What one session resume (WebAuthenticateUser {SessionToken}) costs in a storm, on a throwaway redis-server: the
// gateway's CPU, Redis's commands and CPU, and the writes to Redis (round trips), per resume and per first call
// after it. `node dist/bench/resume-cost.js [sockets] [rounds]`; RESUME_AUTOPIPELINING=0 turns ioredis's
// auto-pipelining off for a comparison. The sockets run in a child process, so the CPU measured is the gateway's.
import { fork, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { loadConfig } from '../gateway/config';
import { createLogger } from '../gateway/logger';
import { createGateway } from '../gateway/create-gateway';
import { createRedisStore } from '../gateway/stores/redis/redis-store';
import { startSession } from '../core/sessions';
import { freePort } from '../testing/redis-server';

interface Round {
  readonly resumes: number;
  readonly failed: number;
}

/** The client side: opens `count` sockets, then on each 'go' resumes every socket at once and makes one call. */
async function runClients(url: string, tokens: string[]): Promise<void> {
  const sockets = await Promise.all(
    tokens.map(
      (_token, index) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { localAddress: `127.0.0.${2 + (index % 200)}` });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  let sequence = 2;
  const call = (ws: WebSocket, name: string, payload: object): Promise<Record<string, unknown>> =>
    new Promise((resolve) => {
      const i = (sequence += 2);
      const onMessage = (data: Buffer): void => {
        const frame = JSON.parse(data.toString()) as { i: number; o: string };
        if (frame.i !== i) return;
        ws.off('message', onMessage);
        resolve(JSON.parse(frame.o) as Record<string, unknown>);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ m: 0, i, n: name, o: JSON.stringify(payload) }));
    });
  process.send?.({ ready: true });
  process.on('message', (message: { go?: 'resume' | 'call'; done?: true }) => {
    if (message.done) {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
    void Promise.all(
      sockets.map((ws, index) =>
        message.go === 'resume'
          ? call(ws, 'WebAuthenticateUser', { SessionToken: tokens[index] })
          : call(ws, 'GetUserInfo', {}),
      ),
    ).then((replies) => {
      const failed = replies.filter((reply) =>
        message.go === 'resume' ? reply.Authenticated !== true : reply.UserName === undefined,
      ).length;
      process.send?.({ round: { resumes: replies.length, failed } satisfies Round });
    });
  });
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 2000);
  const rounds = Number(process.argv[3] ?? 5);
  const port = await freePort();
  const redisServer = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) =>
    redisServer.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) resolve();
    }),
  );
  const redisUrl = `redis://127.0.0.1:${port}`;
  const config = loadConfig({
    OMS_DEV: '1',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    MAX_CONNECTIONS: '1000000',
    MAX_CONNECTIONS_PER_ADDRESS: '1000000',
    MAX_HANDSHAKES_PER_SECOND: '0',
    UNAUTHENTICATED_IDLE_MS: '0',
    SESSION_RECHECK_MS: '60000',
  });
  const logger = createLogger('warn');
  const connection = new Redis(redisUrl, {
    keyPrefix: config.redis!.prefix,
    enableAutoPipelining: process.env.RESUME_AUTOPIPELINING !== '0',
  });
  let writes = 0;
  connection.on('connect', () => {
    const stream = (connection as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = stream.write.bind(stream);
    stream.write = (...args: unknown[]) => {
      writes++;
      return write(...args);
    };
  });
  const store = createRedisStore(config.redis!, logger, connection);
  const gateway = createGateway(config, { logger, store });
  const address = await gateway.listen();
  const tokens: string[] = [];
  for (let user = 0; user < Math.ceil(count / 10); user++) {
    const { userId } = await store.users.create({
      userName: `resume${user}`,
      email: `resume${user}@example.invalid`,
      permissions: ['Trading'],
      accountIds: [1],
    });
    for (let session = 0; session < 10 && tokens.length < count; session++) {
      const token = await startSession(store, userId, {
        ttlSeconds: 3600,
        maxPerUser: 100,
        maxLifetimeSeconds: 43200,
      });
      tokens.push(token!);
    }
  }
  const stats = new Redis(redisUrl);
  const redisCounters = async (): Promise<{ calls: number; cpu: number }> => {
    const info = `${await stats.info('commandstats')}${await stats.info('cpu')}`;
    const calls = [...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
      .filter(([, name]) => name !== 'info')
      .reduce((sum, match) => sum + Number(match[2]), 0);
    const cpu = ['used_cpu_sys', 'used_cpu_user']
      .map((name) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1] ?? 0))
      .reduce((a, b) => a + b, 0);
    return { calls, cpu };
  };

  const client = fork(__filename, ['--client', `ws://127.0.0.1:${address.port}/WSGateway`], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: ((message: { ready?: true; round?: Round }) => void)[] = [];
  client.on('message', (message: { ready?: true; round?: Round }) => messages.shift()?.(message));
  const next = (): Promise<{ ready?: true; round?: Round }> =>
    new Promise((resolve) => messages.push(resolve));
  const ready = next();
  client.send({ tokens });
  await ready;

  const measure = async (go: 'resume' | 'call'): Promise<string> => {
    const before = { cpu: process.cpuUsage(), redis: await redisCounters(), writes, at: performance.now() };
    const done = next();
    client.send({ go });
    const { round } = await done;
    const cpu = process.cpuUsage(before.cpu);
    const redis = await redisCounters();
    const n = round!.resumes;
    return [
      `${go === 'resume' ? 'resume' : 'first call after'}: ${n} sockets in ${(performance.now() - before.at).toFixed(0)} ms`,
      `${round!.failed} failed`,
      `gateway CPU ${((cpu.user + cpu.system) / n).toFixed(1)} µs`,
      `Redis ${((redis.calls - before.redis.calls) / n).toFixed(2)} commands, ${(((redis.cpu - before.redis.cpu) * 1e6) / n).toFixed(1)} µs CPU`,
      `${((writes - before.writes) / n).toFixed(3)} writes to Redis`,
    ].join(', ');
  };
  process.stdout.write(
    `resume cost, ${count} sockets, auto-pipelining ${process.env.RESUME_AUTOPIPELINING === '0' ? 'off' : 'on'}\n`,
  );
  for (let round = 0; round < rounds; round++) {
    process.stdout.write(`${await measure('resume')}\n`);
    process.stdout.write(`${await measure('call')}\n`);
  }
  client.send({ done: true });
  await gateway.close();
  await store.close();
  stats.disconnect();
  redisServer.kill('SIGTERM');
}

if (process.argv[2] === '--client') {
  const url = process.argv[3]!;
  process.once('message', (message: { tokens: string[] }) => void runClients(url, message.tokens));
} else {
  main().catch((error: unknown) => {
    process.stderr.write(
      `resume-cost: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
