// A benchmarked server in its own process (its RSS is its own; load generation does not share its event loop).
// Started by bench.ts with fork(); talks over IPC: ready {port} → stats/gc/redis-writes requests → stop.
import { Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { loadConfig } from '../gateway/config';
import type { Config } from '../gateway/config';
import { loadStartupUsers } from '../gateway/stores/seed-users';
import { createGateway } from '../gateway/create-gateway';
import { startBaselineServer } from './baseline-server';

export type ServerKind = 'baseline' | 'gateway-memory' | 'gateway-redis';

export type ParentMessage =
  { type: 'stats' } | { type: 'gc' } | { type: 'redis-writes' } | { type: 'loop-delay' } | { type: 'stop' };
export type ChildMessage =
  /** listening, since `listenedAt` (Date.now()) */
  | { type: 'ready'; port: number; listenedAt: number; cpuMicros: number }
  | { type: 'stats'; connections: number }
  /** after a full GC: the V8 heap in use, a cross-check on RSS (which also holds freed pages not yet returned) */
  | { type: 'gc-done'; heapUsedBytes: number }
  /** socket writes to Redis so far, by the local port of the connection (one write is one round trip) */
  | { type: 'redis-writes'; byLocalPort: Record<string, number> }
  /** the event loop's delay since the last ask (perf_hooks.monitorEventLoopDelay, 10 ms timer), in ms; 0 at the first */
  | { type: 'loop-delay'; p50Ms: number; p99Ms: number; maxMs: number }
  | { type: 'error'; message: string };

interface Running {
  readonly port: number;
  /** the Redis nodes' ports, for the write counter */
  readonly redisPorts: ReadonlySet<number>;
  connections(): number;
  close(): Promise<void>;
}

/** perf_hooks.monitorEventLoopDelay's timer, in ms */
const LOOP_DELAY_RESOLUTION_MS = 10;

const redisWrites = new Map<number, number>();
let countingRedisWrites = false;

/**
 * Counts writes on sockets to the row's Redis (any of its nodes). ioredis writes a command, a pipeline or a
 * MULTI…EXEC block in one socket write, and the gateway awaits each before the next of the same call, so at one
 * call in flight the writes per call are its round trips. Installed only when asked (after the Ping rows), so Ping
 * never pays for it.
 */
function countRedisWrites(redisPorts: ReadonlySet<number>): void {
  if (countingRedisWrites) return;
  countingRedisWrites = true;
  // a wrapper on the prototype: the bench has no handle on the gateway's ioredis sockets, and this is its own process
  const prototype = Socket.prototype as unknown as { write: (this: Socket, ...args: unknown[]) => boolean };
  const write = prototype.write;
  prototype.write = function countingWrite(this: Socket, ...args: unknown[]): boolean {
    if (this.remotePort !== undefined && redisPorts.has(this.remotePort) && this.localPort !== undefined) {
      redisWrites.set(this.localPort, (redisWrites.get(this.localPort) ?? 0) + 1);
    }
    return write.apply(this, args);
  };
}

/** The ports of the Redis nodes the gateway was given: REDIS_URL's, or every REDIS_CLUSTER_NODES entry's. */
function redisPortsOf(config: Config): Set<number> {
  const topology = config.redis?.topology;
  if (topology === undefined) return new Set();
  if (topology.kind === 'single') return new Set([Number(new URL(topology.url).port)]);
  if (topology.kind === 'cluster') return new Set(topology.nodes.map((node) => node.port));
  // a Sentinel's primary is found at start-up; the bench runs none
  return new Set();
}

async function start(kind: ServerKind, redisUrl: string | undefined): Promise<Running> {
  if (kind === 'baseline') return { ...(await startBaselineServer()), redisPorts: new Set() };
  // the gateway as deployed, except: development mode on loopback (the dev outbox instead of SendGrid, and the
  // embedded store for gateway-memory), port 0, warn-level logs (info logs one line per connect and close), and
  // what a row needs (BENCH_GATEWAY_ENV: for the reset rows raised reset limits and a SEED_FILE of load users,
  // for the scale rows a short heartbeat)
  const extra = JSON.parse(process.env.BENCH_GATEWAY_ENV ?? '{}') as Record<string, string>;
  const config = loadConfig({
    OMS_DEV: '1',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // the bench's sockets all come from 127.0.0.1, and its idle ones never log in
    MAX_CONNECTIONS: '1000000',
    MAX_CONNECTIONS_PER_ADDRESS: '1000000',
    // the rows connect thousands of sockets at once and count a refusal as a failed connect
    MAX_HANDSHAKES_PER_SECOND: '0',
    UNAUTHENTICATED_IDLE_MS: '0',
    HASH_QUEUE_MAX_PER_ADDRESS: '10000',
    // the reset rows log 50 sockets in as one operator at once, and the storm thousands of users, all from one
    // address: logins in flight count against these until they succeed
    LOGIN_LIMIT_ATTEMPTS: '1000000',
    LOGIN_ADDRESS_LIMIT_ATTEMPTS: '1000000',
    LOGIN_NAME_THROTTLE_ATTEMPTS: '1000000',
    // a row on a cluster names its nodes instead (REDIS_CLUSTER_NODES): one topology at a time
    REDIS_URL: kind === 'gateway-redis' && extra.REDIS_CLUSTER_NODES === undefined ? redisUrl : undefined,
    ...extra,
  });
  const gateway = createGateway(config);
  if (config.seedFile !== null) {
    await loadStartupUsers(gateway.services.store, gateway.services.hasher, config, gateway.services.logger);
  }
  const address = await gateway.listen();
  return {
    port: address.port,
    redisPorts: redisPortsOf(config),
    connections: () => gateway.connections.size,
    close: () => gateway.close(),
  };
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const kind = process.argv[2] as ServerKind;
  const redisUrl = process.env.BENCH_REDIS_URL;
  const running = await start(kind, redisUrl);
  // started at the first ask (the scale rows), so the rows that never ask have no extra timer; its samples are
  // the intervals between ticks of a 10 ms timer, so the delay is a sample less those 10 ms
  let loopDelay: IntervalHistogram | undefined;
  const monitorLoop = (): IntervalHistogram => {
    if (loopDelay === undefined) {
      loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
      loopDelay.enable();
    }
    return loopDelay;
  };
  // the storm row watches the new process from the moment it listens
  if (process.env.BENCH_MONITOR_LOOP === '1') monitorLoop();
  const delayMs = (nanoseconds: number): number => Math.max(0, nanoseconds / 1e6 - LOOP_DELAY_RESOLUTION_MS);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stats') send({ type: 'stats', connections: running.connections() });
    else if (message.type === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      send({ type: 'gc-done', heapUsedBytes: process.memoryUsage().heapUsed });
    } else if (message.type === 'redis-writes') {
      countRedisWrites(running.redisPorts);
      send({ type: 'redis-writes', byLocalPort: Object.fromEntries(redisWrites) });
    } else if (message.type === 'loop-delay') {
      const histogram = monitorLoop();
      const sampled = histogram.count > 0;
      send({
        type: 'loop-delay',
        p50Ms: sampled ? delayMs(histogram.percentile(50)) : 0,
        p99Ms: sampled ? delayMs(histogram.percentile(99)) : 0,
        maxMs: sampled ? delayMs(histogram.max) : 0,
      });
      histogram.reset();
    } else if (message.type === 'stop') {
      // exit normally (not kill) so that --cpu-prof writes its profile
      void running.close().finally(() => process.exit(0));
    }
  });
  // as gateway/main.ts does: SIGTERM drains and closes (the storm row's deploy)
  process.once('SIGTERM', () => void running.close().finally(() => process.exit(0)));
  const cpu = process.cpuUsage();
  send({ type: 'ready', port: running.port, listenedAt: Date.now(), cpuMicros: cpu.user + cpu.system });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
