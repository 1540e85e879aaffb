// The reset flow's two steps on Redis. One request touches several slots (on a cluster, several nodes): the
// lookup's index entry, the caller's limits, the target's slot (record, reach, per-target limits, code), a mail
// shard and the audit. Each step below is one script or command per slot, in as few round trips as the order
// allows, and in an order where stopping between two steps (a crash, an outage) loses nothing accepted and exposes
// nothing: the comments say which step makes the outcome final.
import { confirmReplicas, guarded } from './connection';
import { RedisAudit } from './audit';
import { decoyKeys, userIndexKey, userKeys } from './keys';
import { RedisRateLimiter } from './limits';
import { RedisMailQueue } from './mail-queue';
import { RedisResetCodes } from './reset-codes';
import { script } from './scripts';
import type { RedisClient, ScriptCall } from './scripts';
import type { ReplicaWait } from '../../config';
import { endSessions } from './sessions';
import { storedLanguage } from './users';
import { systemClock } from '../../../core/ports/clock';
import { changeAudit, requestAudit, resetMailFor, targetLimitHits } from '../../../core/reset-flow';
import { DEFAULT_DEAD_LETTER_MAXLEN, DEFAULT_REFUSAL_WINDOW_MS } from '../../../core/ports/reset-store';
import type {
  PasswordChange,
  PasswordChangeOutcome,
  PasswordChangeResult,
  ResetFlow,
  ResetRequest,
  ResetRequestOutcome,
  ResetRequestResult,
} from '../../../core/reset-flow';

export interface RedisResetFlowOptions {
  /** the key prefix of the connection (REDIS_PREFIX); unused since the scripts take every key as KEYS */
  readonly prefix?: string;
  /** audit events kept, as the reset store's */
  readonly auditMaxLen: number;
  /** the refusal aggregation window, as the reset store's, default 60000 ms */
  readonly refusalWindowMs?: number;
  /** mail queue shards, as the reset store's (MAIL_QUEUE_SHARDS), default 16 */
  readonly mailShards?: number;
  /** called after a mail was queued (wakes this process's delivery loop) */
  readonly onQueued: () => void;
  /**
   * REDIS_WAIT_REPLICAS: the replicas that must have the writes that make an outcome final before it is
   * answered; null: the primary's acknowledgement is enough. WAIT blocks the connection it runs on, so the flow
   * then gets a connection of its own.
   */
  readonly replicaWait?: ReplicaWait | null;
}

/** How often a password change ends the sessions that logins slipped in before it gives up waiting for quiet. */
const CHANGE_ROUNDS = 5;

type TargetReply = [
  known: '0' | '1',
  userName: string,
  email: string,
  locked: string,
  inReach: '0' | '1',
  language: string,
];

export class RedisResetFlow implements ResetFlow {
  private readonly scripts: Record<'target' | 'begin' | 'commit', ScriptCall>;
  private readonly limits: RedisRateLimiter;
  private readonly codes: RedisResetCodes;
  private readonly queue: RedisMailQueue;
  private readonly audit: RedisAudit;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: RedisResetFlowOptions,
  ) {
    this.scripts = {
      target: script(redis, 'reset-target-2keys.lua'),
      begin: script(redis, 'reset-change-begin-2keys.lua'),
      commit: script(redis, 'reset-change-commit-3keys.lua'),
    };
    this.limits = new RedisRateLimiter(redis);
    this.codes = new RedisResetCodes(redis);
    this.queue = new RedisMailQueue(redis, {
      shards: options.mailShards,
      deadLetterMaxLen: DEFAULT_DEAD_LETTER_MAXLEN,
      clock: systemClock,
    });
    this.audit = new RedisAudit(redis, {
      maxLen: options.auditMaxLen,
      refusalWindowMs: options.refusalWindowMs ?? DEFAULT_REFUSAL_WINDOW_MS,
    });
  }

  /** WAIT for the replicas on the nodes of `keys`, when REDIS_WAIT_REPLICAS asks for it; throws 102 if short. */
  private async confirm(keys: readonly string[]): Promise<void> {
    if (this.options.replicaWait) await confirmReplicas(this.redis, this.options.replicaWait, keys);
  }

  /**
   * ResetPassword's store step, in up to four round trips:
   *   1. the lookup's index entry, and the caller's limits (counted whoever the target);
   *   2. the target's slot: who it is, and whether the caller may reach it;
   *   3. the per-target limits (in the user's slot; for a target nobody is, keyed on what was asked);
   *   4. the code in the target's slot; then, with the audit event beside it, the mail in a queue shard.
   * Writing the mail makes a 'queued' outcome final: `true` is answered only after it. A stop before it leaves at
   * most a code that exists in no mail (nobody can use it; it lapses with its TTL). A target nobody is, a locked
   * one or one out of reach goes through the same steps on decoy keys, so the reply takes as long for any name.
   */
  requestReset(request: ResetRequest): Promise<ResetRequestResult> {
    const { lookup, reach } = request;
    return guarded(async () => {
      const [found, callerLimits] = await Promise.all([
        this.redis.get(userIndexKey(lookup.by, lookup.value)),
        this.limits.hitAll(request.limits),
      ]);
      let id = found;
      const end = async (
        outcome: ResetRequestOutcome,
        retryAfterSeconds = 0,
      ): Promise<ResetRequestResult> => {
        const targetUserId = id === null ? null : Number(id);
        const audit = requestAudit(request, outcome, targetUserId);
        await this.audit.appendRaw(audit);
        return { outcome, targetUserId, retryAfterSeconds, audit };
      };
      if (!callerLimits.allowed) return end('limited', callerLimits.retryAfterSeconds);

      const decoy = decoyKeys(request.targetLimits.unknownStem);
      const user = id === null ? null : userKeys(id);
      const [known, userName, email, locked, inReach, language] = (await this.scripts.target(
        user?.record ?? decoy.user,
        user?.accounts ?? decoy.accounts,
        JSON.stringify({
          self: reach === null ? '' : String(reach.self),
          accounts: reach === null ? [] : reach.accountIds.map(String),
          id: id ?? '',
        }),
      )) as TargetReply;
      if (known === '0') id = null;
      // the user's own language before the request's
      const target = { userId: Number(id ?? 0), email, userName, language: storedLanguage(language) };
      const mail = resetMailFor(request.mail, target);
      /** The code and the mail, on the target's keys or the decoys'. */
      const issue = async (real: boolean, outcome: ResetRequestOutcome): Promise<ResetRequestResult> => {
        const entry = this.queue.newEntry();
        let result: ResetRequestResult | undefined;
        const codeKey = real ? userKeys(id!).resetCode : decoy.code;
        await this.codes.issueWithMail(codeKey, request.codeHash, request.ttlMs, () =>
          Promise.all([
            end(outcome).then((ended) => (result = ended)),
            real
              ? this.queue.enqueueRaw(entry.shard.due, entry.shard.jobs, entry.id, mail)
              : this.queue.enqueueRaw(entry.shard.decoyDue, entry.shard.decoyJobs, 'decoy', mail),
          ]),
        );
        // with REDIS_WAIT_REPLICAS the replicas' acknowledgement of the code and the mail makes it final (a
        // failover can then lose neither); the decoys wait the same, so the reply still takes as long for any name
        await this.confirm([codeKey, real ? entry.shard.jobs : entry.shard.decoyJobs]);
        return result!;
      };
      if (reach !== null && inReach === '0') return issue(false, id === null ? 'unknown' : 'out of reach');

      const targetLimits = await this.limits.hitAll(
        targetLimitHits(request.targetLimits, id === null ? null : Number(id)),
      );
      if (!targetLimits.allowed) return end('limited', targetLimits.retryAfterSeconds);
      if (id === null) return issue(false, 'unknown');
      if (locked === '1') return issue(false, 'locked');
      const result = await issue(true, 'queued');
      this.options.onQueued();
      return result;
    });
  }

  /**
   * ResetPassword2's step after its hash. The user's sessions live in slots of their own, so they are ended
   * before the change becomes final: judge the code and list the sessions; end them; then, in one script, use the
   * code and set the new hash, unless a login slipped a new session in meanwhile (then end that one and try
   * again). That script makes the change final; a stop before it leaves the old password and a live code (the
   * link still works), never a new password beside a session it did not end. Then the "password changed" mail
   * and the audit event.
   */
  changePassword(change: PasswordChange): Promise<PasswordChangeResult> {
    const { userId } = change;
    const keys = userKeys(userId);
    const refused = (outcome: PasswordChangeOutcome): PasswordChangeResult => ({
      outcome,
      sessionsEnded: 0,
      audit: null,
    });
    return guarded(async () => {
      const [verdict, listed] = (await this.scripts.begin(
        keys.resetCode,
        keys.sessions,
        change.codeHash,
        change.maxWrongTries,
        change.from,
      )) as [string, string[]];
      if (verdict !== 'right') return refused(verdict === 'wrong' ? 'wrong' : 'none');
      const ended = [...listed];
      let sessionsEnded = (await endSessions(this.redis, userId, listed)).length;
      for (let round = 1; ; round++) {
        const [outcome, left] = (await this.scripts.commit(
          keys.resetCode,
          keys.record,
          keys.sessions,
          JSON.stringify({
            codeHash: change.codeHash,
            maxWrongTries: change.maxWrongTries,
            from: change.from,
            passwordHash: change.passwordHash,
            ended,
            force: round >= CHANGE_ROUNDS,
          }),
        )) as [string, string[]];
        if (outcome === 'wrong' || outcome === 'none') return refused(outcome);
        sessionsEnded += (await endSessions(this.redis, userId, left)).length;
        ended.push(...left);
        if (outcome === 'changed') break;
      }
      const audit = changeAudit(change, sessionsEnded);
      const entry = this.queue.newEntry();
      await Promise.all([
        this.queue.enqueueRaw(entry.shard.due, entry.shard.jobs, entry.id, change.mail),
        this.audit.appendRaw(audit),
      ]);
      // with REDIS_WAIT_REPLICAS: the new hash (the code's slot) and the notice are on the replicas before `true`
      await this.confirm([keys.record, entry.shard.jobs]);
      this.options.onQueued();
      return { outcome: 'changed', sessionsEnded, audit };
    });
  }
}
