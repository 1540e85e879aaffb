// Traffic through a gateway on Redis while a primary is killed, for the failover tests and bench/failover.ts:
// paced streams of calls that record every answer and when it came, and a ResetPassword flood whose accepted
// requests are matched against the mails the SendGrid server received. No jest here: the bench runs it too.
import { startGateway } from './gateway';
import { pollUntil } from './poll-until';
import type { TestGateway } from './gateway';
import { openClient } from './ws-client';
import type { TestClient } from './ws-client';
import type { SendGridServer } from './sendgrid-server';
import type { RedisCluster, RedisNode } from './redis-topology';
import { seedUsers } from '../../gateway/stores/seed-users';
import type { SeedUser } from '../../gateway/stores/seed-users';
import type { Env } from '../../gateway/config';

/** What one call got: its success, a 102 (the store is away), something else, or nothing within the bound. */
export type Outcome = 'ok' | 'unavailable' | 'other' | 'no answer';

export interface Answer {
  /** Date.now() when the call was sent and when it was answered */
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly outcome: Outcome;
  readonly reply: unknown;
  /** the ResetPassword's target, in a flood */
  readonly target?: string;
}

export function outcomeOf(reply: unknown, ok: (reply: Record<string, unknown>) => boolean): Outcome {
  if (typeof reply !== 'object' || reply === null) return 'other';
  const fields = reply as Record<string, unknown>;
  if (fields.errorcode === 102) return 'unavailable';
  return ok(fields) ? 'ok' : 'other';
}

/** ResetPassword's success: the standard response with result true. */
export const resetAccepted = (reply: Record<string, unknown>): boolean =>
  reply.result === true && reply.errorcode === 0;

/** GetUserInfo's success: a user record. */
export const userInfoReturned = (reply: Record<string, unknown>): boolean => typeof reply.UserId === 'number';

/** A call's answer, or 'no answer' once `boundMs` pass. */
async function answerWithin(
  boundMs: number,
  call: () => Promise<unknown>,
): Promise<{ reply: unknown; answered: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ reply: unknown; answered: boolean }>((resolve) => {
    timer = setTimeout(() => resolve({ reply: null, answered: false }), boundMs);
  });
  try {
    return await Promise.race([call().then((reply) => ({ reply, answered: true })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface CallStream {
  /** every answer so far, in order */
  readonly answers: Answer[];
  /** Stops after the call in flight; resolves once it was answered. */
  stop(): Promise<void>;
}

export interface StreamOptions {
  /** pause between an answer and the next call: a steady load, not the fastest loop the socket allows */
  readonly paceMs: number;
  /** a call unanswered this long counts as 'no answer' and ends the stream (its socket is out of step) */
  readonly answerBoundMs: number;
}

/**
 * One call after another on one socket. `next` returns the call to make, or null when there is nothing left
 * to ask (the stream then ends).
 */
export function startStream(
  client: TestClient,
  next: () => { name: string; payload: unknown; target?: string } | null,
  ok: (reply: Record<string, unknown>) => boolean,
  options: StreamOptions,
): CallStream {
  const answers: Answer[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const request = next();
      if (request === null) return;
      const sentAt = Date.now();
      const { reply, answered } = await answerWithin(options.answerBoundMs, () =>
        client.call(request.name, request.payload),
      );
      answers.push({
        sentAt,
        answeredAt: Date.now(),
        outcome: answered ? outcomeOf(reply, ok) : 'no answer',
        reply,
        ...(request.target !== undefined && { target: request.target }),
      });
      if (!answered) return;
      await new Promise((resolve) => setTimeout(resolve, options.paceMs));
    }
  })();
  return {
    answers,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

/** The answers to calls sent after `at`. */
export function sentAfter(answers: readonly Answer[], at: number): Answer[] {
  return answers.filter((answer) => answer.sentAt >= at);
}

/**
 * Whether calls sent after `killedAt` saw the outage (a 102) and then recovered: the last `okInARow` answers
 * are all successes.
 */
export function recovered(answers: readonly Answer[], killedAt: number, okInARow: number): boolean {
  const after = sentAfter(answers, killedAt);
  if (!after.some((answer) => answer.outcome === 'unavailable')) return false;
  const last = after.slice(-okInARow);
  return last.length === okInARow && last.every((answer) => answer.outcome === 'ok');
}

/** What a stream saw around a kill: when the first 102 came and when calls succeeded again (ms after it). */
export interface Gap {
  /** kill → the first 102 answer */
  readonly firstUnavailableMs: number | null;
  /** kill → the first success after that 102: the window in which calls answered 102 */
  readonly recoveredMs: number | null;
  /** answers sent after the kill, by outcome */
  readonly counts: Record<Outcome, number>;
}

export function gapOf(answers: readonly Answer[], killedAt: number): Gap {
  const after = sentAfter(answers, killedAt);
  const first = after.findIndex((answer) => answer.outcome === 'unavailable');
  const back = first < 0 ? -1 : after.findIndex((answer, i) => i > first && answer.outcome === 'ok');
  const counts: Record<Outcome, number> = { ok: 0, unavailable: 0, other: 0, 'no answer': 0 };
  for (const answer of after) counts[answer.outcome]++;
  return {
    firstUnavailableMs: first < 0 ? null : after[first]!.answeredAt - killedAt,
    recoveredMs: back < 0 ? null : after[back]!.answeredAt - killedAt,
    counts,
  };
}

/** The operator who asks for the resets, and the users they are for: `flood0`… with one shared hash. */
export const OPERATOR: SeedUser = {
  UserName: 'op',
  Email: 'op@test.invalid',
  Password: 'op-password-1',
  Permissions: ['Operator'],
};

export function floodUserName(index: number): string {
  return `flood${index}`;
}

export function floodEmail(index: number): string {
  return `flood${index}@test.invalid`;
}

/**
 * Limits a flood must not reach (each target is asked for once, but the operator asks many times), cheap
 * argon2, short mail retries and lease (a mail claimed just before the kill is taken again soon), every call
 * re-reading its session (so calls touch Redis), and mail through the given SendGrid server.
 */
export function failoverEnv(sendgrid: SendGridServer): Env {
  return {
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_ITERATIONS: '1',
    SENDGRID_API_KEY: sendgrid.apiKey,
    SENDGRID_BASE_URL: sendgrid.baseUrl,
    MAIL_FROM: 'security@oms.example',
    RESET_PAGE_URL: 'https://oms.example/reset',
    MAIL_RETRY_BASE_MS: '20',
    MAIL_LEASE_MS: '1000',
    MAIL_MAX_ATTEMPTS: '100',
    RESET_CALLER_LIMIT: '1000000',
    SESSION_RECHECK_MS: '0',
  };
}

/**
 * A gateway on the topology `env` names, with the operator and `floodUsers` users seeded (seeded in parallel
 * chunks: one by one, a thousand users on a cluster take seconds).
 */
export async function startFailoverGateway(env: Env, floodUsers: number): Promise<TestGateway> {
  const gw = await startGateway(env);
  try {
    const { store, hasher } = gw.gateway.services;
    // the client has found every node (a cluster's slot map) before the first write
    await pollUntil(
      () =>
        store.ping().then(
          () => true,
          () => false,
        ),
      20_000,
      50,
      'the store answering',
    );
    const PasswordHash = await hasher.hash('flood-password-1');
    await seedUsers(store, hasher, [OPERATOR], gw.logs.logger);
    const users: SeedUser[] = Array.from({ length: floodUsers }, (_, i) => ({
      UserName: floodUserName(i),
      Email: floodEmail(i),
      PasswordHash,
      Permissions: ['Trading'],
      AccountIds: [1],
    }));
    const chunks = 4;
    // a loaded machine can take longer than a short REDIS_COMMAND_TIMEOUT_MS for a write: seeding a chunk again
    // skips the users already there
    const seedChunk = async (chunk: SeedUser[], tries = 3): Promise<void> => {
      try {
        await seedUsers(store, hasher, chunk, gw.logs.logger);
      } catch (error) {
        if (tries <= 1) throw error;
        await seedChunk(chunk, tries - 1);
      }
    };
    await Promise.all(
      Array.from({ length: chunks }, (_, c) => seedChunk(users.filter((_, i) => i % chunks === c))),
    );
    return gw;
  } catch (error) {
    await gw.close();
    throw error;
  }
}

/** A socket logged in as the operator. */
export async function operatorSocket(gw: TestGateway): Promise<TestClient> {
  const client = await openClient(gw.wsUrl);
  const reply = (await client.call('AuthenticateUser', {
    UserName: OPERATOR.UserName,
    Password: OPERATOR.Password,
  })) as { Authenticated?: boolean };
  if (reply.Authenticated !== true) throw new Error('the operator could not log in');
  return client;
}

/** Targets for ResetPassword, each asked for once: flood0, flood1, … up to `count`. */
export function targets(count: number): () => { name: string; payload: unknown; target: string } | null {
  let index = 0;
  return () => {
    if (index >= count) return null;
    const userName = floodUserName(index++);
    return { name: 'ResetPassword', payload: { UserName: userName }, target: userName };
  };
}

/** What a flood's accepted resets came to: each accepted target's reset mail arrived, or not. */
export interface MailTally {
  readonly accepted: number;
  readonly arrived: number;
  /** accepted, with no reset mail at SendGrid */
  readonly lost: number;
  /** reset mails beyond the first for one accepted target (delivery is at least once) */
  readonly duplicates: number;
  /** reset mails for targets whose call answered 102 (the write outlived the error) */
  readonly arrivedForUnavailable: number;
}

/** The mails at SendGrid per recipient (a flood's users get reset mails only). */
function mailsByRecipient(sendgrid: SendGridServer): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of sendgrid.messages) {
    const to = message.personalizations[0]?.to[0]?.email ?? '';
    counts.set(to, (counts.get(to) ?? 0) + 1);
  }
  return counts;
}

export function tallyMails(answers: readonly Answer[], sendgrid: SendGridServer): MailTally {
  const mails = mailsByRecipient(sendgrid);
  const emailOf = (target: string): string => `${target}@test.invalid`;
  const accepted = answers.filter((answer) => answer.outcome === 'ok' && answer.target !== undefined);
  let arrived = 0;
  let duplicates = 0;
  for (const answer of accepted) {
    const count = mails.get(emailOf(answer.target!)) ?? 0;
    if (count > 0) arrived++;
    if (count > 1) duplicates += count - 1;
  }
  const arrivedForUnavailable = answers.filter(
    (answer) =>
      answer.outcome === 'unavailable' &&
      answer.target !== undefined &&
      (mails.get(emailOf(answer.target)) ?? 0) > 0,
  ).length;
  return {
    accepted: accepted.length,
    arrived,
    lost: accepted.length - arrived,
    duplicates,
    arrivedForUnavailable,
  };
}

/** The accepted targets whose reset mail has not arrived (yet). */
export function missingMails(answers: readonly Answer[], sendgrid: SendGridServer): string[] {
  const mails = mailsByRecipient(sendgrid);
  return answers
    .filter((answer) => answer.outcome === 'ok' && answer.target !== undefined)
    .map((answer) => answer.target!)
    .filter((target) => !mails.has(`${target}@test.invalid`));
}

/** A flood user whose record (its UserId's slot) lives on `node` of `cluster`, asked through `op`'s socket. */
export async function userStoredOn(
  cluster: Pick<RedisCluster, 'keySlot' | 'primaryForSlot'>,
  node: RedisNode,
  op: TestClient,
  floodUsers: number,
): Promise<string> {
  for (let index = floodUsers - 1; index >= Math.max(0, floodUsers - 100); index--) {
    const reply = (await op.call('GetUserInfo', { UserName: floodUserName(index) })) as { UserId: number };
    const slot = await cluster.keySlot(`user:{${reply.UserId}}`);
    if ((await cluster.primaryForSlot(slot)).port === node.port) return floodUserName(index);
  }
  throw new Error('no flood user stored on that primary');
}

/** The primary of `cluster` that holds the most of the mail queue's 16 shards: the most mails to lose. */
export async function primaryWithMostMailShards(
  cluster: Pick<RedisCluster, 'keySlot' | 'primaryForSlot'>,
  shards = 16,
): Promise<RedisNode> {
  const owners = await Promise.all(
    Array.from({ length: shards }, async (_, shard) =>
      cluster.primaryForSlot(await cluster.keySlot(`mail:{mail:${shard}}:jobs`)),
    ),
  );
  const shardsOf = (node: RedisNode): number => owners.filter((owner) => owner === node).length;
  return [...new Set(owners)].sort((a, b) => shardsOf(b) - shardsOf(a))[0]!;
}

/**
 * Makes `replica` fall behind `primary` for good: stops it (SIGSTOP) and cuts its link on the primary (CLIENT
 * KILL TYPE replica), so what the primary takes from now on never reaches it, even from socket buffers. Returns
 * the function that lets it run again (SIGCONT).
 */
export async function cutReplica(
  admin: { call(command: string, ...args: string[]): Promise<unknown> },
  replica: RedisNode,
): Promise<() => void> {
  process.kill(replica.pid, 'SIGSTOP');
  const resume = (): void => {
    if (replica.alive()) process.kill(replica.pid, 'SIGCONT');
  };
  try {
    await admin.call('CLIENT', 'KILL', 'TYPE', 'replica');
  } catch (error) {
    resume();
    throw error;
  }
  return resume;
}
