// `npm run bench`: the gateway (embedded store and real Redis) against a bare ws baseline, same machine, same run,
// same load; one table of ratios to the baseline, and the targets checked against it.
import { parseArgs } from 'node:util';
import { startRedisServer } from '../testing/redis-server';
import { formatResets, formatStorm, formatTable, machine } from './format';
import { runIdleMemoryRows } from './idle-memory';
import type { MemoryResult } from './idle-memory';
import { formatLoginFlood, measureLoginFlood } from './login-flood-bench';
import type { LoginFloodResult } from './login-flood-bench';
import { runPingRows } from './ping-rows';
import type { CaseResult } from './ping-rows';
import { RESET_BENCH_USERS, resetBenchEnv, resetSizes, writeSeedFile } from './reset-bench';
import { parseTopologies, startTopology, TOPOLOGIES, TOPOLOGY_LABELS } from './redis-topologies';
import type { BenchTopology } from './redis-topologies';
import { ARGON2_PARAMS, runResetRows } from './reset-rows';
import type { ResetMeasures, ResetTarget } from './reset-rows';
import { runScaleRows, SCALE_COUNTS, SCALE_HEARTBEAT_MS } from './scale-rows';
import type { ScaleRow } from './scale-rows';
import { startServer } from './server-process';
import { runStorm, STORM_CLIENTS } from './storm-rows';
import type { StormResult } from './storm-rows';
import type { ServerProcess } from './server-process';
import type { ServerKind } from './server-child';
import { checkTargets } from './targets';

const SERVERS: readonly ServerKind[] = ['baseline', 'gateway-memory', 'gateway-redis'];

/** The options --quick sets. */
const QUICK = {
  duration: '0.3',
  warmup: '0.1',
  rounds: '1',
  idle: '200',
  'idle-rounds': '1',
  'reset-duration': '0.5',
  'reset-users': '6000',
  scale: '300,600',
  'scale-heartbeat': '300',
  storm: '300',
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '0.5' },
      rounds: { type: 'string', default: '3' },
      idle: { type: 'string', default: '5000' },
      'idle-rounds': { type: 'string', default: '3' },
      only: { type: 'string' },
      profile: { type: 'string' },
      'no-reset': { type: 'boolean', default: false },
      'reset-on': { type: 'string', default: TOPOLOGIES.join(',') },
      'reset-duration': { type: 'string', default: '3' },
      'reset-users': { type: 'string', default: String(RESET_BENCH_USERS) },
      json: { type: 'boolean', default: false },
      'no-login-flood': { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      scale: { type: 'string', default: SCALE_COUNTS.join(',') },
      'no-scale': { type: 'boolean', default: false },
      'scale-heartbeat': { type: 'string', default: String(SCALE_HEARTBEAT_MS) },
      storm: { type: 'string', default: String(STORM_CLIENTS) },
      'no-storm': { type: 'boolean', default: false },
    },
  });
  // --quick: every row once, briefly, for a smoke run of the bench itself (tests/bench); its figures mean nothing
  if (values.quick) Object.assign(values, QUICK);
  const resetRows = !values['no-reset'];
  const resetOn = parseTopologies(values['reset-on']);
  const sizes = resetSizes(Number(values['reset-users']));
  const resetDurationS = Number(values['reset-duration']);
  const durationS = Number(values.duration);
  const warmupS = Number(values.warmup);
  const idle = Number(values.idle);
  const idleRounds = Number(values['idle-rounds']);
  const roundCount = Number(values.rounds);
  const servers = values.only ? (values.only.split(',') as ServerKind[]) : SERVERS;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const redis = await startRedisServer();
  const seedFile = resetRows ? writeSeedFile(sizes) : null;
  const results: CaseResult[] = [];
  let memory: MemoryResult[] = [];
  const running: ServerProcess[] = [];
  const topologies: BenchTopology[] = [];
  let resets: ResetMeasures[] = [];
  let scale: ScaleRow[] = [];
  let storm: StormResult | null = null;
  try {
    // idle memory first, in fresh processes with nothing else running; the Redis gateway as deployed, without the
    // seed file
    if (idle > 0) {
      memory = await runIdleMemoryRows(servers, (kind) => startServer(kind, redis.url, undefined), {
        idle,
        rounds: idleRounds,
        log,
      });
    }
    // then the scale rows, again in fresh processes: thousands of sockets, their memory, Ping beside them
    if (!values['no-scale']) {
      scale = await runScaleRows(servers, (kind, env) => startServer(kind, redis.url, undefined, env), {
        counts: values.scale.split(',').map(Number),
        durationS,
        heartbeatMs: Number(values['scale-heartbeat']),
        log,
      });
    }
    // the reconnect storm, on Redis (the sessions outlive the process), in processes of its own
    if (!values['no-storm'] && servers.includes('gateway-redis')) {
      storm = await runStorm({
        clients: Number(values.storm),
        redisUrl: redis.url,
        start: (env, childEnv) => startServer('gateway-redis', redis.url, undefined, env, childEnv),
        log,
      });
    }
    for (const kind of servers) {
      if (kind === 'gateway-redis' && seedFile) log(`gateway-redis: loading the seed users…`);
      const env = kind === 'gateway-redis' && seedFile ? resetBenchEnv(seedFile.path) : {};
      running.push(await startServer(kind, redis.url, values.profile, env));
    }
    results.push(...(await runPingRows(running, { durationS, warmupS, roundCount, log })));
    const redisGateway = running.find((server) => server.kind === 'gateway-redis');
    if (resetRows && redisGateway && seedFile) {
      // each topology but the bench's own node gets a gateway of its own, up beside the others so that the
      // ResetPassword rounds can alternate between them; started together, since loading the seed users is
      // mostly waiting on Redis
      const started = await Promise.allSettled(
        resetOn.map(async (name): Promise<ResetTarget> => {
          const topology = await startTopology(name, redis);
          topologies.push(topology);
          if (name === 'single') return { topology, server: redisGateway };
          log(`gateway-redis (${TOPOLOGY_LABELS[name]}): loading the seed users…`);
          const env = { ...resetBenchEnv(seedFile.path), ...topology.redisEnv, ...topology.gatewayEnv };
          const server = await startServer('gateway-redis', redis.url, values.profile, env);
          running.push(server);
          return { topology, server };
        }),
      );
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      const targets = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const measured = await runResetRows(targets, {
        durationS,
        warmupS,
        roundCount,
        resetDurationS,
        sizes,
        log,
      });
      results.push(...measured.rows);
      resets = measured.resets;
    }
  } finally {
    await Promise.all(running.map((server) => server.stop()));
    await Promise.all(topologies.map((topology) => topology.stop()));
    await redis.stop();
    seedFile?.remove();
  }

  let loginFlood: LoginFloodResult | null = null;
  if (!values['no-login-flood']) {
    log('gateway (embedded store): another login during a wrong-password flood…');
    loginFlood = await measureLoginFlood();
  }
  const loginFloodText = loginFlood ? `\n${formatLoginFlood(loginFlood)}\n` : '';

  const checks = checkTargets({ results, memory, resets, scale, storm });
  if (values.json) {
    const plain = results.map(({ scenario, ...rest }) => ({ ...rest, scenario: scenario.name }));
    process.stdout.write(
      `${JSON.stringify({ machine: machine(), results: plain, memory, scale, storm, resets, loginFlood, checks })}\n`,
    );
  } else {
    const stormText = storm ? `\n${formatStorm(storm)}\n` : '';
    const resetText = resets.length > 0 ? `\n${formatResets(resets, results, ARGON2_PARAMS)}\n` : '';
    process.stdout.write(
      `machine: ${machine()}\n\n${formatTable(results, memory, checks, scale)}${stormText}${resetText}${loginFloodText}`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
