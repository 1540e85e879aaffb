// The bench's reset rows on the Redis gateway: ResetPassword at 50×10, its Redis round trips, and ResetPassword2
// against the argon2 ceiling of this machine with a Ping connection alongside.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { connect } from '../client/node';
import { loadConfig } from '../gateway/config';
import type { Config } from '../gateway/config';
import { createLogger } from '../gateway/logger';
import { MailDelivery } from '../gateway/mail/delivery';
import { DevOutbox } from '../gateway/mail/dev-outbox';
import { hashPendingCode } from '../core/pending-code';
import { openRedisResetStore } from '../gateway/stores/redis/redis-reset-store';
import { createRedisStore } from '../gateway/stores/redis/redis-store';
import { runLoad } from '../load/runner';
import type { LoadReport } from '../load/runner';
import type { Scenario } from '../load/scenario';
import { pingScenario } from '../load/scenarios/ping';
import { resetRequestScenario } from '../load/scenarios/reset-request';
import { LOAD_SEED_DEFAULTS, loadSeedUsers } from '../load/seed-users';
import { median } from './median';
import type { BenchTopology } from './redis-topologies';

/**
 * Users the Redis gateway loads (SEED_FILE): more than ResetPassword reaches in one RESET_TARGET_INTERVAL_SECONDS
 * at the bench's rate, so round robin never asks for a user inside its interval.
 */
export const RESET_BENCH_USERS = 20_000;

/** Codes seeded for ResetPassword2: more than the flood can use in its seconds (argon2: ~100/s on 2 cores). */
export const RESET2_CODES = 1500;

/** How many seed users the reset rows load (--reset-users), and how many of them get a code for ResetPassword2. */
export interface ResetSizes {
  readonly users: number;
  readonly codes: number;
}

/**
 * RESET_BENCH_USERS and RESET2_CODES, or for fewer users (--quick: loading 20,000 takes each gateway seconds)
 * a tenth of them as codes. The ResetPassword rounds ask for the users below the codes and the timing row's: past
 * about that many calls a second they would find a user inside its RESET_TARGET_INTERVAL_SECONDS.
 */
export function resetSizes(users = RESET_BENCH_USERS): ResetSizes {
  if (!Number.isInteger(users) || users < 2000) throw new Error('--reset-users: a whole number from 2000');
  return { users, codes: Math.min(RESET2_CODES, Math.floor(users / 10)) };
}

/** The Redis gateway's extra settings for the reset rows (the rest as deployed, argon2 at its defaults). */
export function resetBenchEnv(seedFile: string): Record<string, string> {
  return {
    SEED_FILE: seedFile,
    RESET_TARGET_INTERVAL_SECONDS: '1',
    RESET_TARGET_HOURLY_LIMIT: '1000',
    RESET_CALLER_LIMIT: '1000000',
    RESET_CALLER_WINDOW_SECONDS: '3600',
    // the timing row asks public ResetPassword for known and unknown names
    RESET_ALLOW_PUBLIC: 'true',
    // the ResetPassword2 flood comes from one address
    RESET_COMPLETE_ADDRESS_LIMIT: '1000000',
    // the front-end role: it queues, and the bench delivers between rounds (drainMail), measured on its own
    MAIL_DELIVERY_CONCURRENCY: '0',
  };
}

/** Writes the seed file in a fresh temporary folder; `remove` deletes it. */
export function writeSeedFile(sizes: ResetSizes): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'oms-bench-'));
  const path = join(dir, 'seed-users.json');
  writeFileSync(path, JSON.stringify(loadSeedUsers(sizes.users)));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * One scenario for every ResetPassword run on a gateway, so its round robin goes on across rounds; over the users
 * below those the timing row and the seeded codes take, so that neither finds its users inside their interval.
 */
export function benchResetRequestScenario(sizes: ResetSizes): Scenario {
  return resetRequestScenario({
    operator: LOAD_SEED_DEFAULTS.operator,
    operatorPassword: LOAD_SEED_DEFAULTS.operatorPassword,
    users: LOAD_SEED_DEFAULTS.pattern,
    count: String(sizes.users - sizes.codes - TIMING_CALLS),
  });
}

/** Mails the bench's delivery loop sends at once while draining. */
export const DRAIN_CONCURRENCY = 16;

export interface Drained {
  readonly mails: number;
  readonly seconds: number;
}

/** Bench-side access to a row's Redis: the same stores the gateway uses, on the same prefix, and each node. */
export interface BenchRedis {
  readonly config: Config;
  readonly topology: BenchTopology;
  /** INFO commandstats, summed over the primaries (a replica counts again what its primary sent it) */
  commandStats(): Promise<Map<string, number>>;
  /** CLIENT LIST of every node: each connection's name and the node it is to, by its local port */
  connections(): Promise<Map<string, { name: string; nodePort: number }>>;
  /**
   * Delivers every queued mail from the bench process (the gateway under load only queues: the front-end role,
   * MAIL_DELIVERY_CONCURRENCY=0), through the gateway's own delivery loop into a dev outbox; bounded, 60 s.
   */
  drainMail(): Promise<Drained>;
  close(): Promise<void>;
}

export function openBenchRedis(topology: BenchTopology): BenchRedis {
  const config = loadConfig({ OMS_DEV: '1', ...topology.redisEnv });
  const logger = createLogger('warn');
  const resets = openRedisResetStore(config.redis!, logger);
  const admins = topology.nodes.map((node) => ({
    node,
    redis: new Redis({ host: '127.0.0.1', port: node.port, maxRetriesPerRequest: 1 }),
  }));
  return {
    config,
    topology,
    commandStats: async () => {
      const sum = new Map<string, number>();
      for (const { node, redis } of admins) {
        if (node.role !== 'primary') continue;
        for (const [command, calls] of parseCommandStats(await redis.info('commandstats'))) {
          sum.set(command, (sum.get(command) ?? 0) + calls);
        }
      }
      return sum;
    },
    connections: async () => {
      const byPort = new Map<string, { name: string; nodePort: number }>();
      for (const { node, redis } of admins) {
        for (const line of String(await redis.client('LIST')).split('\n')) {
          const port = /addr=[^ ]*:(\d+) /.exec(line)?.[1];
          const name = / name=(\S*)/.exec(line)?.[1];
          if (port !== undefined) byPort.set(port, { name: name || '(unnamed)', nodePort: node.port });
        }
      }
      return byPort;
    },
    drainMail: async () => {
      const queued = await resets.queuedMailCount();
      if (queued === 0) return { mails: 0, seconds: 0 };
      const delivery = new MailDelivery(resets, new DevOutbox(logger), logger, {
        concurrency: DRAIN_CONCURRENCY,
      });
      const started = performance.now();
      delivery.start();
      const deadline = Date.now() + 60_000;
      try {
        while ((await resets.queuedMailCount()) > 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      } finally {
        await delivery.stop();
      }
      return { mails: queued, seconds: (performance.now() - started) / 1000 };
    },
    close: async () => {
      await resets.close();
      for (const { redis } of admins) redis.disconnect();
    },
  };
}

export function parseCommandStats(info: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

/**
 * Commands of the readings and of the clients' upkeep, not of a call: INFO and CLIENT LIST (the bench's), and on a
 * cluster the slot-map refresh every client makes each second (ioredis: a new connection, CLIENT SETNAME, CLUSTER
 * SLOTS)
 */
const NOT_THE_CALLS = new Set(['info', 'client|list', 'client|setname', 'cluster|slots']);

export interface RoundTrips {
  readonly calls: number;
  /**
   * socket writes to Redis per call, by the gateway's connection name (on a cluster, name → node port): one call
   * at a time, so on one node these are its round trips; on a cluster, writes to different nodes sent together
   * count once each
   */
  readonly perCallByConnection: Readonly<Record<string, number>>;
  /** commands Redis ran per call (INFO commandstats deltas over the primaries, commands inside scripts included) */
  readonly commandsPerCall: Readonly<Record<string, number>>;
  /** the median call's latency, one at a time: what the round trips (and a WAIT) add up to */
  readonly p50Ms: number;
}

/**
 * ResetPassword one call at a time over one logged-in socket: writes on each of the gateway's Redis connections
 * (from the child's count), named through CLIENT LIST, and INFO commandstats, each divided by the calls. The mail
 * each call queued is sent by the bench (drainMail) after the readings: its commands are not the call's.
 */
export async function measureRoundTrips(
  wsUrl: string,
  redis: BenchRedis,
  scenario: Scenario,
  redisWrites: () => Promise<Record<string, number>>,
  calls: number,
): Promise<RoundTrips> {
  const client = await connect(wsUrl, { timeoutMs: 10_000 });
  try {
    await scenario.setup?.(client, { connectionIndex: 0, connections: 1, url: wsUrl, params: {}, state: {} });
    await redis.drainMail();
    const step = scenario.steps[0]!;
    const context = { connectionIndex: 0, connections: 1, url: wsUrl, params: {}, state: {} };
    const writesBefore = await redisWrites();
    const statsBefore = await redis.commandStats();
    const latencies: number[] = [];
    for (let i = 0; i < calls; i++) {
      const started = performance.now();
      await step.run(client, context);
      latencies.push(performance.now() - started);
    }
    const writesAfter = await redisWrites();
    const statsAfter = await redis.commandStats();
    // sent by the bench, not the gateway: after the readings
    await redis.drainMail();
    const connections = await redis.connections();
    const multiNode = redis.topology.redisEnv.REDIS_CLUSTER_NODES !== undefined;
    const perCallByConnection: Record<string, number> = {};
    for (const [port, after] of Object.entries(writesAfter)) {
      const delta = after - (writesBefore[port] ?? 0);
      if (delta === 0) continue;
      const connection = connections.get(port);
      const name =
        connection === undefined
          ? // gone by now: the cluster client's slot-map refresh, a connection each time
            'closed since'
          : multiNode
            ? `${connection.name}→:${connection.nodePort}`
            : connection.name;
      perCallByConnection[name] = (perCallByConnection[name] ?? 0) + delta / calls;
    }
    const commandsPerCall: Record<string, number> = {};
    for (const [command, after] of statsAfter) {
      const delta = after - (statsBefore.get(command) ?? 0);
      if (delta > 0 && !NOT_THE_CALLS.has(command)) commandsPerCall[command] = delta / calls;
    }
    return { calls, perCallByConnection, commandsPerCall, p50Ms: median(latencies) };
  } finally {
    await client.close();
  }
}

export interface Argon2Ceiling {
  readonly hashesPerSecond: number;
  /** hashes kept in flight: the child's libuv threadpool size */
  readonly slots: number;
}

/**
 * @node-rs/argon2 alone in its own process with the gateway's parameters, `slots` hashes always in flight (the
 * child's UV_THREADPOOL_SIZE), nothing else of the bench running meanwhile.
 */
export function measureArgon2(config: Config, seconds: number, slots: number): Promise<Argon2Ceiling> {
  const { memoryKib, iterations, parallelism } = config.argon2;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        join(__dirname, 'argon2-child.js'),
        String(seconds),
        String(memoryKib),
        String(iterations),
        String(parallelism),
      ],
      { env: { ...process.env, UV_THREADPOOL_SIZE: String(slots) } },
      (error, stdout) => {
        if (error) reject(new Error(`argon2 bench failed: ${error.message}`));
        else resolve(JSON.parse(stdout) as Argon2Ceiling);
      },
    );
  });
}

/**
 * Live codes for the last `sizes.codes` seeded users, issued straight through the reset store (as ResetPassword
 * would, known codes instead of mailed ones), so each ResetPassword2 call of the flood hashes exactly once.
 */
export async function seedCodes(
  redis: BenchRedis,
  sizes: ResetSizes,
): Promise<{ userId: number; code: string }[]> {
  const logger = createLogger('warn');
  const store = createRedisStore(redis.config.redis!, logger);
  const resets = openRedisResetStore(redis.config.redis!, logger);
  try {
    const codes: { userId: number; code: string }[] = [];
    for (let n = sizes.users; n > sizes.users - sizes.codes; n--) {
      const user = await store.users.findByName(LOAD_SEED_DEFAULTS.pattern.replace('{n}', String(n)));
      if (user === null) throw new Error(`seed user ${n} missing`);
      const code = randomUUID();
      await resets.issueCode(user.userId, hashPendingCode(code), 3_600_000, {
        kind: 'reset',
        to: user.email,
        userId: user.userId,
        userName: user.userName,
        link: 'http://bench.invalid/reset (code seeded by the bench)',
        expiresInMinutes: 60,
      });
      codes.push({ userId: user.userId, code });
    }
    return codes;
  } finally {
    await resets.close();
    await store.close();
  }
}

/** ResetPassword2 with the seeded codes, one each, and a fresh 24-character password each. */
export function resetPassword2Scenario(codes: readonly { userId: number; code: string }[]): Scenario {
  let next = 0;
  return {
    name: 'ResetPassword2',
    steps: [
      {
        name: 'ResetPassword2',
        run: (client) => {
          const entry = codes[next++];
          if (entry === undefined) return Promise.reject(new Error('the bench ran out of seeded codes'));
          return client.resetPassword2({
            UserId: entry.userId,
            Password: randomBytes(18).toString('base64url'),
            PendingCode: entry.code,
          });
        },
      },
    ],
  };
}

/** Pings per second on the other socket during the ResetPassword2 flood */
const PING_ALONGSIDE_RATE = 200;

export interface FloodResult {
  readonly reset2: LoadReport;
  readonly ping: LoadReport;
}

/** The ResetPassword2 flood (C×K in flight, bounded by the codes) and, at the same time, 200 Pings/s on their own socket. */
export async function floodResetPassword2(
  wsUrl: string,
  codes: readonly { userId: number; code: string }[],
  connections: number,
  inflight: number,
  durationS: number,
): Promise<FloodResult> {
  const [reset2, ping] = await Promise.all([
    runLoad({
      url: wsUrl,
      scenario: resetPassword2Scenario(codes),
      connections,
      inflight,
      durationS,
      maxCalls: codes.length,
      // queued behind HASH_CONCURRENCY hashes, by design: the wait is long, not a failure
      timeoutMs: 60_000,
    }),
    // open loop at a modest rate: it measures what a Ping waits while hashes run, without a closed loop's
    // thousands of Pings a second taking the CPU the hashes need
    runLoad({
      url: wsUrl,
      scenario: pingScenario,
      connections: 1,
      inflight: 1,
      durationS,
      rate: PING_ALONGSIDE_RATE,
      timeoutMs: 10_000,
    }),
  ]);
  return { reset2, ping };
}

/** Interleaved public ResetPassword calls per kind (known, unknown) in the timing row. */
export const TIMING_CALLS = 300;

export interface KnownVsUnknown {
  readonly calls: number;
  /** median latency of known minus unknown, µs */
  readonly medianDiffMicros: number;
  /** Mann–Whitney U z-score of known against unknown latencies (|z| < 2: no difference to see) */
  readonly z: number;
  /** the same for a Ping sent right after each reply */
  readonly pingMedianDiffMicros: number;
  readonly pingZ: number;
}

/** Mann–Whitney U of a against b, as a z-score (normal approximation, ties given mid ranks). */
export function mannWhitneyZ(a: readonly number[], b: readonly number[]): number {
  const all = [...a.map((v) => ({ v, a: true })), ...b.map((v) => ({ v, a: false }))].sort(
    (x, y) => x.v - y.v,
  );
  let rankSumA = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k]!.a) rankSumA += rank;
    i = j + 1;
  }
  const n1 = a.length;
  const n2 = b.length;
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  return (u - (n1 * n2) / 2) / Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
}

/**
 * Public ResetPassword (no session, RESET_ALLOW_PUBLIC) for known and unknown names, interleaved one at a time
 * on one socket, each followed by a Ping: the latency of each, known against unknown (issue 11, finding 4).
 * Known names are seed users counted down from `firstKnown`, each asked once, so no per-target limit refuses.
 */
export async function measureKnownVsUnknown(wsUrl: string, firstKnown: number): Promise<KnownVsUnknown> {
  const client = await connect(wsUrl, { timeoutMs: 10_000 });
  const known: number[] = [];
  const unknown: number[] = [];
  const pingKnown: number[] = [];
  const pingUnknown: number[] = [];
  const run = randomUUID().slice(0, 8);
  try {
    for (let i = 0; i < TIMING_CALLS * 2; i++) {
      // pairs in alternating order (known first, then unknown first), so neither always follows the other
      const isKnown = (i & 1) === ((i >> 1) & 1);
      const name = isKnown
        ? LOAD_SEED_DEFAULTS.pattern.replace('{n}', String(firstKnown - (i >> 1)))
        : `nobody-${run}-${i}`;
      const started = performance.now();
      const reply = await client.resetPassword({ UserName: name });
      const answered = performance.now();
      await client.ping();
      const pinged = performance.now();
      if (!reply.result) throw new Error(`public ResetPassword refused: ${reply.detail ?? reply.errormsg}`);
      (isKnown ? known : unknown).push((answered - started) * 1000);
      (isKnown ? pingKnown : pingUnknown).push((pinged - answered) * 1000);
    }
  } finally {
    await client.close();
  }
  return {
    calls: TIMING_CALLS,
    medianDiffMicros: median(known) - median(unknown),
    z: mannWhitneyZ(known, unknown),
    pingMedianDiffMicros: median(pingKnown) - median(pingUnknown),
    pingZ: mannWhitneyZ(pingKnown, pingUnknown),
  };
}
