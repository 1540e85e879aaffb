// A Redis primary SIGKILLed while a gateway serves calls, on a 3 + 3 cluster and on a Sentinel setup: calls answer
// 102 (each one, never a hang) until the replica is promoted, then work again with no restart; and with
// REDIS_WAIT_REPLICAS=1 no accepted reset loses its mail, even when the replica lagged behind the killed primary.
// bench/failover.ts measures how long the 102s last and how many mails are lost without the WAIT.
import { uniquePrefix } from '../support/gateway';
import type { TestGateway } from '../support/gateway';
import { closedAfterAll, closedAfterEach } from '../support/lifecycle';
import { pollUntil } from '../support/poll-until';
import { startRedisCluster, startRedisSentinel } from '../support/redis-topology';
import type { RedisCluster, RedisSentinelSetup } from '../support/redis-topology';
import { startSendGridServer } from '../support/sendgrid-server';
import type { SendGridServer } from '../support/sendgrid-server';
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
} from '../support/failover-traffic';
import type { Answer, CallStream } from '../support/failover-traffic';
import type { TestClient } from '../support/ws-client';

/** cluster-node-timeout and Sentinel's down-after-milliseconds: how long a silent primary takes to be failed */
const NODE_TIMEOUT_MS = 1000;
/**
 * Recovery takes the failure detection (that timeout), the replica's election and promotion, and ioredis seeing
 * the new primary (the slot map refreshed each second, or +switch-master). 20 × the node timeout is a generous
 * bound for all of it on a loaded two-core machine: it only keeps a broken recovery from hanging the test, and
 * is not a figure the gateway is held to (bench/failover.ts measures it).
 */
const RECOVERY_BOUND_MS = 20 * NODE_TIMEOUT_MS;
/** REDIS_COMMAND_TIMEOUT_MS */
const COMMAND_TIMEOUT_MS = 500;
/** A call makes at most five round trips and a WAIT, each bounded by the command timeout: 10 s means a hang. */
const ANSWER_BOUND_MS = 10_000;
/** the pause between an answer and a stream's next call: a steady load on two cores shared with the nodes */
const PACE_MS = 20;
/** Successes in a row after the outage that count as recovered. */
const OK_IN_A_ROW = 5;
const FLOOD_USERS = 600;
const SETUP_MS = 90_000;
/** a failover that Redis takes its time over, then the gateway's recovery */
const TEST_MS = 120_000;

let sendgrid: SendGridServer;
let clusterForCalls: RedisCluster;
let clusterForWait: RedisCluster;
let sentinel: RedisSentinelSetup;

beforeAll(async () => {
  // started together: each takes seconds of waiting on its nodes, little CPU
  const stop = (what: { stop(): Promise<void> }): { close: () => Promise<void> } => ({
    close: () => what.stop(),
  });
  [sendgrid, clusterForCalls, clusterForWait, sentinel] = await Promise.all([
    startSendGridServer().then((server) => closedAfterAll(server)),
    startRedisCluster({ replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS }).then(
      (c) => (closedAfterAll(stop(c)), c),
    ),
    startRedisCluster({ replicas: 1, nodeTimeoutMs: NODE_TIMEOUT_MS }).then(
      (c) => (closedAfterAll(stop(c)), c),
    ),
    startRedisSentinel({ downAfterMs: NODE_TIMEOUT_MS, failoverTimeoutMs: 5000 }).then(
      (s) => (closedAfterAll(stop(s)), s),
    ),
  ]);
}, SETUP_MS);

async function gatewayOn(topology: Record<string, string>): Promise<TestGateway> {
  return closedAfterEach(
    await startFailoverGateway(
      {
        ...failoverEnv(sendgrid),
        ...topology,
        REDIS_PREFIX: uniquePrefix(),
        REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS),
      },
      FLOOD_USERS,
    ),
  );
}

async function operator(gw: TestGateway): Promise<TestClient> {
  return closedAfterEach(await operatorSocket(gw));
}

/** A stream that is stopped after the test even when it fails. */
function stopped(stream: CallStream): CallStream {
  closedAfterEach({ close: () => stream.stop() });
  return stream;
}

const okCount = (answers: readonly Answer[]): number => answers.filter((a) => a.outcome === 'ok').length;

/** The answers that were neither a success nor a 102, with their replies: none may exist. */
function strayAnswers(answers: readonly Answer[]): { outcome: string; reply: unknown }[] {
  return answers
    .filter((answer) => answer.outcome !== 'ok' && answer.outcome !== 'unavailable')
    .map(({ outcome, reply }) => ({ outcome, reply }));
}

async function readyzStatus(gw: TestGateway): Promise<number> {
  return (await fetch(`${gw.httpUrl}/readyz`)).status;
}

/**
 * A ResetPassword stream (each target once) and a GetUserInfo stream for `lookedUp`, running until both have
 * succeeded a few times; then `kill` runs; resolves once both streams answered 102 and then recovered.
 */
/**
 * Redis's own failover (the replica's election, or the Sentinels' vote) takes longer on a machine busy with other
 * tests: a first attempt that stalls is retried after the failover timeout. Its bound keeps a failover that never
 * comes from hanging the test; the gateway's recovery is bounded from the moment Redis has failed over.
 */
const FAILOVER_BOUND_MS = 60 * NODE_TIMEOUT_MS;

/**
 * Calls on two streams while `kill` stops the primary: they must answer 102, and once Redis has `failedOver`
 * (resolves when it has), succeed again within RECOVERY_BOUND_MS.
 */
async function trafficAcross(
  gw: TestGateway,
  lookedUp: string,
  kill: () => Promise<void>,
  failedOver: () => Promise<unknown>,
): Promise<{ resets: Answer[]; infos: Answer[]; killedAt: number }> {
  const options = { paceMs: PACE_MS, answerBoundMs: ANSWER_BOUND_MS };
  const resets = stopped(startStream(await operator(gw), targets(FLOOD_USERS), resetAccepted, options));
  const infos = stopped(
    startStream(
      await operator(gw),
      () => ({ name: 'GetUserInfo', payload: { UserName: lookedUp } }),
      userInfoReturned,
      options,
    ),
  );
  await pollUntil(
    () => okCount(resets.answers) >= OK_IN_A_ROW && okCount(infos.answers) >= OK_IN_A_ROW,
    RECOVERY_BOUND_MS,
    PACE_MS,
    'calls succeeding before the kill',
  );
  const killedAt = Date.now();
  await kill();
  await failedOver();
  // settled: recovered, or already failed (an answer neither a success nor a 102), which the caller reports
  const settled = (answers: readonly Answer[]): boolean =>
    backToOk(answers, killedAt) || strayAnswers(answers).length > 0;
  await pollUntil(
    () => settled(resets.answers) && settled(infos.answers),
    RECOVERY_BOUND_MS,
    PACE_MS,
    'ResetPassword and GetUserInfo answering 102 after the kill, then succeeding again',
  ).catch((error: Error) => {
    const seen = (answers: readonly Answer[]): string =>
      JSON.stringify({
        ...gapOf(answers, killedAt),
        // ms after the kill each call was sent, how long it took, and what it got
        calls: sentAfter(answers, killedAt)
          .slice(0, 12)
          .map((answer) => [answer.sentAt - killedAt, answer.answeredAt - answer.sentAt, answer.outcome]),
      });
    throw new Error(
      `${error.message}; ResetPassword ${seen(resets.answers)}; GetUserInfo ${seen(infos.answers)}`,
    );
  });
  await Promise.all([resets.stop(), infos.stop()]);
  return { resets: resets.answers, infos: infos.answers, killedAt };
}

/**
 * The last OK_IN_A_ROW calls sent after the kill succeeded. A stream need not have seen a 102 itself: a call in
 * flight when the primary died may wait out a quick promotion within its bound, and the next ones succeed.
 */
function backToOk(answers: readonly Answer[], killedAt: number): boolean {
  const last = sentAfter(answers, killedAt).slice(-OK_IN_A_ROW);
  return last.length === OK_IN_A_ROW && last.every((answer) => answer.outcome === 'ok');
}

/**
 * What every failover must show: calls answering 102 after the kill (on one stream at least), nothing else but
 * successes, each call answered, and both streams succeeding again.
 */
function expectOutageThenRecovery(streams: readonly (readonly Answer[])[], killedAt: number): void {
  for (const answers of streams) {
    expect(strayAnswers(answers)).toEqual([]);
    expect(backToOk(answers, killedAt)).toBe(true);
  }
  expect(streams.some((answers) => recovered(answers, killedAt, OK_IN_A_ROW))).toBe(true);
}

/** The resets accepted after the outage had their mail delivered: the delivery loop recovered too. */
async function expectMailsAfterRecovery(resets: readonly Answer[], killedAt: number): Promise<void> {
  const lastUnavailable = Math.max(
    ...sentAfter(resets, killedAt)
      .filter((answer) => answer.outcome === 'unavailable')
      .map((answer) => answer.sentAt),
  );
  const acceptedAfter = sentAfter(resets, lastUnavailable).filter((answer) => answer.outcome === 'ok');
  expect(acceptedAfter.length).toBeGreaterThan(0);
  await pollUntil(
    () => missingMails(acceptedAfter, sendgrid).length === 0,
    RECOVERY_BOUND_MS,
    50,
    'the mails of the resets accepted after the failover',
  );
}

describe('a gateway on Redis whose primary is SIGKILLed during traffic', () => {
  it(
    'on a cluster: answers 102 until the replica is promoted, then serves calls and sends mail again, and /readyz is 200 again',
    async () => {
      const cluster = clusterForCalls;
      const gw = await gatewayOn({ REDIS_CLUSTER_NODES: cluster.nodesEnv });
      // every ResetPassword appends to the audit stream under {reset}: its primary is one every reset needs
      const victim = await cluster.primaryForSlot(await cluster.keySlot('audit:{reset}'));
      const replica = (await cluster.replicaOf(victim))!;
      const lookedUp = await userStoredOn(cluster, victim, await operator(gw), FLOOD_USERS);
      expect(await readyzStatus(gw)).toBe(200);

      const slot = await cluster.keySlot('audit:{reset}');
      const { resets, infos, killedAt } = await trafficAcross(
        gw,
        lookedUp,
        () => victim.kill('SIGKILL'),
        () =>
          pollUntil(
            async () => (await cluster.primaryForSlot(slot)).port === replica.port,
            FAILOVER_BOUND_MS,
            50,
            'the replica promoted',
          ),
      );

      expectOutageThenRecovery([resets, infos], killedAt);
      expect((await cluster.primaryForSlot(await cluster.keySlot('audit:{reset}'))).port).toBe(replica.port);
      await pollUntil(async () => (await readyzStatus(gw)) === 200, RECOVERY_BOUND_MS, 50, '/readyz 200');
      await expectMailsAfterRecovery(resets, killedAt);
    },
    TEST_MS,
  );

  it(
    'on Sentinel: answers 102 until the Sentinels switch to the replica, then serves calls and sends mail again',
    async () => {
      const gw = await gatewayOn({
        REDIS_SENTINELS: sentinel.sentinelsEnv,
        REDIS_SENTINEL_NAME: sentinel.name,
      });
      const watch = closedAfterEach(await sentinel.watchSwitchMaster());
      expect(await readyzStatus(gw)).toBe(200);

      let switched: unknown;
      void watch.next.then((next) => (switched = next));
      const { resets, infos, killedAt } = await trafficAcross(
        gw,
        floodUserName(FLOOD_USERS - 1),
        () => sentinel.primary.kill('SIGKILL'),
        () =>
          pollUntil(
            () => switched !== undefined,
            FAILOVER_BOUND_MS,
            50,
            'the Sentinels switching to the replica',
          ),
      );

      expect(switched).toEqual({ host: sentinel.replica.host, port: sentinel.replica.port });
      expectOutageThenRecovery([resets, infos], killedAt);
      await pollUntil(async () => (await readyzStatus(gw)) === 200, RECOVERY_BOUND_MS, 50, '/readyz 200');
      await expectMailsAfterRecovery(resets, killedAt);
    },
    TEST_MS,
  );

  it(
    'with REDIS_WAIT_REPLICAS=1, every reset answered true during a flood has its mail arrive, though the replica lagged when its primary died',
    async () => {
      const cluster = clusterForWait;
      const gw = await gatewayOn({
        REDIS_CLUSTER_NODES: cluster.nodesEnv,
        REDIS_WAIT_REPLICAS: '1',
        REDIS_WAIT_TIMEOUT_MS: '200',
      });
      const victim = await primaryWithMostMailShards(cluster);
      const replica = (await cluster.replicaOf(victim))!;

      const next = targets(FLOOD_USERS);
      const options = { paceMs: 5, answerBoundMs: ANSWER_BOUND_MS };
      const flood = await Promise.all(
        [1, 2, 3, 4].map(async () => stopped(startStream(await operator(gw), next, resetAccepted, options))),
      );
      const answers = (): Answer[] => flood.flatMap((stream) => stream.answers);
      await pollUntil(
        () => okCount(answers()) >= 40,
        RECOVERY_BOUND_MS,
        5,
        'resets accepted before the kill',
      );

      // the replica falls behind: what its primary takes from now on never reaches it
      const resume = await cutReplica(cluster.admin(victim), replica);
      closedAfterEach({ close: resume });
      const cutAt = Date.now();
      await pollUntil(
        () => sentAfter(answers(), cutAt).length >= 40,
        RECOVERY_BOUND_MS,
        5,
        'resets while cut',
      );
      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      resume();
      await cluster.waitHealthy(RECOVERY_BOUND_MS);
      const healthyAt = Date.now();
      await pollUntil(
        () => okCount(sentAfter(answers(), healthyAt)) >= OK_IN_A_ROW,
        RECOVERY_BOUND_MS,
        5,
        'resets accepted after the failover',
      );
      await Promise.all(flood.map((stream) => stream.stop()));

      const all = answers();
      expect(strayAnswers(all)).toEqual([]);
      // while the link was cut, resets whose writes landed on that primary could not be confirmed: 102, not true
      const whileCut = sentAfter(all, cutAt).filter((answer) => answer.sentAt < killedAt);
      expect(whileCut.filter((answer) => answer.outcome === 'unavailable').length).toBeGreaterThan(0);
      expect(sentAfter(all, killedAt).some((answer) => answer.outcome === 'unavailable')).toBe(true);
      await pollUntil(
        () => missingMails(all, sendgrid).length === 0,
        RECOVERY_BOUND_MS,
        50,
        'the mail of every accepted reset',
      ).catch(() => undefined);
      const tally = tallyMails(all, sendgrid);
      expect({ lost: tally.lost, missing: missingMails(all, sendgrid) }).toEqual({ lost: 0, missing: [] });
      // at least the resets the test waited for before the cut and after the failover
      expect(tally.accepted).toBeGreaterThanOrEqual(40 + OK_IN_A_ROW);
    },
    TEST_MS,
  );

  it("on Sentinel: close() ends the failover detector's Sentinel subscriptions too, so nothing keeps the process up", async () => {
    /** clients subscribed to something on the Sentinels (the detector subscribes to +switch-master on each) */
    const subscribers = async (): Promise<number> => {
      let count = 0;
      for (const node of sentinel.sentinels) {
        const list = (await sentinel.admin(node).call('CLIENT', 'LIST')) as string;
        count += list.split('\n').filter((line) => /\bsub=[1-9]/.test(line)).length;
      }
      return count;
    };
    const before = await subscribers();
    const gw = await gatewayOn({
      REDIS_SENTINELS: sentinel.sentinelsEnv,
      REDIS_SENTINEL_NAME: sentinel.name,
    });
    await pollUntil(
      async () => (await subscribers()) > before,
      RECOVERY_BOUND_MS,
      50,
      'the detector subscribed',
    );
    await gw.close();
    await pollUntil(
      async () => (await subscribers()) === before,
      RECOVERY_BOUND_MS,
      50,
      'its subscriptions ended',
    );
  });
});
