// `npm run bench:failover`: a Redis primary SIGKILLed under traffic, on a 3 + 3 cluster and on Sentinel. Reports how
// soon calls answer 102, how long until they succeed again, and how many ResetPasswords answered true lose their
// mail, without REDIS_WAIT_REPLICAS and with 1; each run on new nodes, the gateway in this process.
import { parseArgs } from 'node:util';
import { formatColumns } from '../load/report';
import { machine } from './format';
import {
  cutReplica,
  failoverEnv,
  floodUserName,
  gapOf,
  missingMails,
  operatorSocket,
  primaryWithMostMailShards,
  recovered,
  resetAccepted,
  sentAfter,
  startFailoverGateway,
  startStream,
  tallyMails,
  targets,
  userInfoReturned,
  userStoredOn,
} from '../tests/support/failover-traffic';
import type { Answer, CallStream, Gap, MailTally } from '../tests/support/failover-traffic';
import { pollUntil } from '../tests/support/poll-until';
import { startRedisCluster, startRedisSentinel } from '../tests/support/redis-topology';
import type { RedisNode } from '../tests/support/redis-topology';
import { startSendGridServer } from '../tests/support/sendgrid-server';
import type { TestClient } from '../tests/support/ws-client';

type Topology = 'cluster' | 'sentinel';
/** plain: the primary is killed as it runs; lagging: its replica is stopped and its link cut first */
type Provocation = 'plain' | 'lagging';

/** cluster-node-timeout and down-after-milliseconds */
const NODE_TIMEOUT_MS = 1000;
const COMMAND_TIMEOUT_MS = 500;
const WAIT_TIMEOUT_MS = 200;
const FLOOD_USERS = 1500;
const FLOOD_SOCKETS = 4;
/** the longest any step waits for what it expects, so a broken recovery ends the run instead of hanging it */
const STEP_BOUND_MS = 60_000;

interface Run {
  readonly topology: Topology;
  readonly wait: 0 | 1;
  readonly provocation: Provocation;
  /** GetUserInfo on a user whose record lives on the killed primary */
  readonly info: Gap;
  /** the flood's ResetPasswords */
  readonly resets: Gap;
  /** the longest any call answered by or after the kill took */
  readonly longestCallMs: number;
  readonly mail: MailTally;
  /** ResetPasswords sent after GetUserInfo recovered: true, and 102 */
  readonly afterRecovery: { readonly ok: number; readonly unavailable: number };
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function runOnce(topology: Topology, wait: 0 | 1, provocation: Provocation): Promise<Run> {
  const sendgrid = await startSendGridServer();
  const cluster =
    topology === 'cluster' ? await startRedisCluster({ replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS }) : null;
  const sentinel =
    topology === 'sentinel'
      ? await startRedisSentinel({ downAfterMs: NODE_TIMEOUT_MS, failoverTimeoutMs: 5000 })
      : null;
  const streams: CallStream[] = [];
  const sockets: TestClient[] = [];
  try {
    const gw = await startFailoverGateway(
      {
        ...failoverEnv(sendgrid),
        ...(cluster
          ? { REDIS_CLUSTER_NODES: cluster.nodesEnv }
          : { REDIS_SENTINELS: sentinel!.sentinelsEnv, REDIS_SENTINEL_NAME: sentinel!.name }),
        REDIS_PREFIX: 'bench:',
        REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
        ...(wait === 1 && { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS) }),
        LOG_LEVEL: 'warn',
      },
      FLOOD_USERS,
    );
    try {
      const socket = async (): Promise<TestClient> => {
        const client = await operatorSocket(gw);
        sockets.push(client);
        return client;
      };
      let victim: RedisNode;
      let replica: RedisNode;
      let lookedUp = floodUserName(FLOOD_USERS - 1);
      if (cluster) {
        victim = await primaryWithMostMailShards(cluster);
        replica = (await cluster.replicaOf(victim))!;
        lookedUp = await userStoredOn(cluster, victim, await socket(), FLOOD_USERS);
      } else {
        victim = sentinel!.primary;
        replica = sentinel!.replica;
      }
      const admin = (cluster ?? sentinel!).admin(victim);

      const info = startStream(
        await socket(),
        () => ({ name: 'GetUserInfo', payload: { UserName: lookedUp } }),
        userInfoReturned,
        { paceMs: 20, answerBoundMs: STEP_BOUND_MS },
      );
      streams.push(info);
      const next = targets(FLOOD_USERS);
      for (let i = 0; i < FLOOD_SOCKETS; i++) {
        streams.push(
          startStream(await socket(), next, resetAccepted, { paceMs: 5, answerBoundMs: STEP_BOUND_MS }),
        );
      }
      const flood = (): Answer[] =>
        streams
          .slice(1)
          .flatMap((stream) => stream.answers)
          .sort((a, b) => a.sentAt - b.sentAt);
      const accepted = (answers: readonly Answer[]): number =>
        answers.filter((a) => a.outcome === 'ok').length;
      await pollUntil(() => accepted(flood()) >= 40, STEP_BOUND_MS, 5, 'resets accepted before the kill');

      let resume: (() => void) | null = null;
      if (provocation === 'lagging') {
        resume = await cutReplica(admin, replica);
        const cutAt = Date.now();
        await pollUntil(() => sentAfter(flood(), cutAt).length >= 40, STEP_BOUND_MS, 5, 'resets while cut');
      }
      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      resume?.();
      await pollUntil(
        () => recovered(info.answers, killedAt, 5),
        STEP_BOUND_MS,
        20,
        'GetUserInfo recovering',
      );
      const recoveredAt = Date.now();
      // the flood goes on a while after the recovery, for what resets get then
      // (bounded: the flood's users may run out first)
      await pollUntil(() => sentAfter(flood(), recoveredAt).length >= 80, 15_000, 5).catch(() => undefined);
      await Promise.all(streams.map((stream) => stream.stop()));

      const resets = flood();
      // delivery is asynchronous: a mail that survived arrives within seconds of the recovery
      await pollUntil(() => missingMails(resets, sendgrid).length === 0, 10_000, 50).catch(() => undefined);
      const answeredAfterKill = [...info.answers, ...resets].filter((a) => a.answeredAt >= killedAt);
      const after = sentAfter(resets, recoveredAt);
      return {
        topology,
        wait,
        provocation,
        info: gapOf(info.answers, killedAt),
        resets: gapOf(resets, killedAt),
        longestCallMs: Math.max(...answeredAfterKill.map((a) => a.answeredAt - a.sentAt)),
        mail: tallyMails(resets, sendgrid),
        afterRecovery: {
          ok: after.filter((a) => a.outcome === 'ok').length,
          unavailable: after.filter((a) => a.outcome === 'unavailable').length,
        },
      };
    } finally {
      await Promise.all(streams.map((stream) => stream.stop()));
      await Promise.all(sockets.map((client) => client.close()));
      await gw.close();
    }
  } finally {
    await sendgrid.close();
    await (cluster ?? sentinel)?.stop();
  }
}

const ms = (value: number | null): string => (value === null ? 'never' : String(value));

function formatRuns(runs: readonly Run[]): string {
  return formatColumns([
    [
      'topology',
      'WAIT',
      'replica at the kill',
      'kill→first 102 ms',
      'kill→ok again ms',
      'resets: kill→ok ms',
      'longest call ms',
      'accepted',
      'mails arrived',
      'lost',
      'duplicates',
      'mail for a 102',
      'after recovery true/102',
    ],
    ...runs.map((run) => [
      run.topology,
      String(run.wait),
      run.provocation === 'plain' ? 'in step' : 'stopped, link cut',
      ms(run.info.firstUnavailableMs),
      ms(run.info.recoveredMs),
      ms(run.resets.recoveredMs),
      String(run.longestCallMs),
      String(run.mail.accepted),
      String(run.mail.arrived),
      String(run.mail.lost),
      String(run.mail.duplicates),
      String(run.mail.arrivedForUnavailable),
      `${run.afterRecovery.ok}/${run.afterRecovery.unavailable}`,
    ]),
  ]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '1' },
      topology: { type: 'string', default: 'cluster,sentinel' },
      json: { type: 'boolean', default: false },
    },
  });
  const topologies = values.topology.split(',') as Topology[];
  const runs: Run[] = [];
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const topology of topologies) {
      for (const wait of [0, 1] as const) {
        for (const provocation of ['plain', 'lagging'] as const) {
          log(`round ${round}: ${topology}, REDIS_WAIT_REPLICAS=${wait}, ${provocation}`);
          runs.push(await runOnce(topology, wait, provocation));
          log(formatRuns(runs.slice(-1)));
        }
      }
    }
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ machine: machine(), runs })}\n`);
    return;
  }
  process.stdout.write(
    [
      `Redis failover under traffic (${machine()})`,
      `node timeout / down-after ${NODE_TIMEOUT_MS} ms, REDIS_COMMAND_TIMEOUT_MS ${COMMAND_TIMEOUT_MS}, ` +
        `REDIS_WAIT_TIMEOUT_MS ${WAIT_TIMEOUT_MS}; GetUserInfo every 20 ms on a user stored on the killed primary, ` +
        `ResetPassword from ${FLOOD_SOCKETS} sockets every 5 ms, each for another user; the cluster kills the ` +
        'primary with the most mail queue shards.',
      "'stopped, link cut': the replica was SIGSTOPped and its link cut (CLIENT KILL TYPE replica on the primary) " +
        'for 40 more resets before the SIGKILL, then SIGCONTed: how a lagging replica (asynchronous replication) ' +
        'loses acknowledged writes.',
      formatRuns(runs),
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
