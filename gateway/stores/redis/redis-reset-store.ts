// The Redis reset store: pending codes, the mail queue and the audit stream, shared by every gateway on one Redis.
//
// Keys (after ioredis's keyPrefix, e.g. "oms:"):
//   reset:{u:<id>}:code   HASH h=<sha256 hex>, w:<address>=<wrong tries of that address>, with the code's TTL:
//                         one live code per user
//   mail:{queue}:due      ZSET entry id → when it is due (ms, Redis clock): new, retry-later, or leased until
//   mail:{queue}:jobs     HASH entry id → job JSON (holds the reset link, thus the code, until sent: deleted then)
//   mail:{queue}:attempts HASH entry id → claims so far
//   mail:{queue}:leases   HASH entry id → token of the current lease holder
//   mail:{queue}:dead     LIST of DeadLetter JSON, newest first, capped
//   audit:reset           STREAM of successful AuditEvents, XADD MAXLEN ~ N (only successful steps write it)
//   audit:reset:refused   STREAM of the first refusal of each caller and window (field window), MAXLEN ~ N
//   audit:refused:<window start ms>:<caller>  STRING refusals of that caller in that window, kept a day
//   audit:ok:<window start ms>:<caller>       STRING successes of that caller in that window, kept a day
//   reset:decoy:{due,jobs,code}  one entry each: what a request for an unknown user writes instead of a
//                         mail and a code, so that it runs the same commands as one for a known user
//
// The {…} hash tags keep one user's keys in one Cluster slot and the queue's keys in another. issueCode
// touches both in one script, which needs a single Redis node (standalone or Sentinel, as connectRedis makes);
// a Cluster deployment would need the queue written into the user's slot and moved on by a sweeper.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../logger';
import type { MailJob } from '../../../core/mail-job';
import { connectRedis, guarded, watchRedis } from './connection';
import type { RedisOptions } from './connection';
import { defineScript } from './redis-store';
import type { ScriptCall } from './redis-store';
import {
  DEFAULT_AUDIT_MAXLEN,
  DEFAULT_DEAD_LETTER_MAXLEN,
  DEFAULT_REFUSAL_WINDOW_MS,
  MAX_WRONG_TRIES,
  REFUSAL_COUNT_TTL_MS,
  refusalWindowStart,
} from '../../../core/ports/reset-store';
import type {
  AuditEvent,
  Claim,
  ClaimedMail,
  CodeCheck,
  CodeUse,
  DeadLetter,
  RefusalRecord,
  ResetStore,
} from '../../../core/ports/reset-store';

export interface RedisResetStoreOptions {
  /** audit events kept (approximately: XADD MAXLEN ~ trims whole stream nodes), default 10000 */
  readonly auditMaxLen?: number;
  /** dead letters kept, default 1000 */
  readonly deadLetterMaxLen?: number;
  /** refusals of one caller are aggregated per window of this length, default 60000 ms */
  readonly refusalWindowMs?: number;
  /** close the connection in close(), default false (the caller made it) */
  readonly ownsConnection?: boolean;
}

export const QUEUE_KEYS = [
  'mail:{queue}:due',
  'mail:{queue}:jobs',
  'mail:{queue}:attempts',
  'mail:{queue}:leases',
] as const;
const DEAD_KEY = 'mail:{queue}:dead';
export const AUDIT_KEY = 'audit:reset';
export const REFUSED_KEY = 'audit:reset:refused';
/** A request for nobody writes these in place of the mail queue's due and jobs and a user's code. */
export const DECOY_KEYS = ['reset:decoy:due', 'reset:decoy:jobs', 'reset:decoy:code'] as const;

/** The counter of one caller's refusals in one window. */
export function refusalCountKey(windowStart: number, caller: string): string {
  return `audit:refused:${windowStart}:${caller}`;
}

/** The counter of one caller's successes in one window. */
export function successCountKey(windowStart: number, caller: string): string {
  return `audit:ok:${windowStart}:${caller}`;
}

/** A user's live code (Lua builds the same name in redis-reset-flow.ts's request script). */
export function codeKey(userId: number): string {
  return `reset:{u:${userId}}:code`;
}

// The Redis clock in ms: every gateway schedules on the same clock, whatever their own clocks say.
export const NOW_MS = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Lua: fails the script unless each key is absent or of its type; the writing scripts check first, so a
 * script error leaves nothing half written (Redis does not roll back a script's earlier writes).
 */
export const CHECK_TYPES_LUA = `
local function checkTypes(keys, types)
  for i, key in ipairs(keys) do
    local kind = redis.call('TYPE', key).ok
    if kind ~= 'none' and kind ~= types[i] then
      return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. kind)
    end
  end
  return nil
end
`;

/** Lua: queues a job due now (ARGV of the caller: the entry id and the job JSON). */
export const ENQUEUE_LUA = `
local function enqueueMail(dueKey, jobsKey, id, job, now)
  redis.call('HSET', jobsKey, id, job)
  redis.call('ZADD', dueKey, now, id)
end
`;

/**
 * Lua: one audit event, fields as auditValues() orders them. A success counts on its caller's window
 * counter of successes and goes to the bounded audit stream; a refusal counts on the caller's window counter
 * of refusals, and only the window's first goes to the refusal stream. So a success and a window's first
 * refusal run the same commands. keys: {audit stream, refusal stream, the window's refusal counter, its
 * success counter}; opts: {max length, counter ttl ms, window start}.
 */
export const AUDIT_LUA = `
local function appendAudit(keys, opts, at, step, caller, target, outcome, reason)
  if outcome == 'ok' then
    if redis.call('INCR', keys[4]) == 1 then redis.call('PEXPIRE', keys[4], opts[2]) end
    redis.call('XADD', keys[1], 'MAXLEN', '~', opts[1], '*', 'at', at, 'step', step, 'caller', caller,
      'target', target, 'outcome', outcome, 'reason', reason)
    return
  end
  if redis.call('INCR', keys[3]) > 1 then return end
  redis.call('PEXPIRE', keys[3], opts[2])
  redis.call('XADD', keys[2], 'MAXLEN', '~', opts[1], '*', 'at', at, 'step', step, 'caller', caller,
    'target', target, 'outcome', outcome, 'reason', reason, 'window', opts[3])
end
`;

/**
 * Lua: judges a code against the user's live one: 'none' (no live code), 'right', or 'wrong' (counted for
 * the address `from`; an address with maxWrong wrong tries is answered 'wrong' whatever it sends, and the
 * code stays live for the others). Plain string equality is not constant time, but it compares SHA-256
 * digests: how many leading digits of a guess's digest match tells nothing useful about a code.
 */
export const JUDGE_CODE_LUA = `
local function judgeCode(key, hash, maxWrong, from)
  local stored = redis.call('HGET', key, 'h')
  if not stored then return 'none' end
  local tries = 'w:' .. from
  if tonumber(redis.call('HGET', key, tries) or '0') >= tonumber(maxWrong) then return 'wrong' end
  if stored == hash then return 'right' end
  redis.call('HINCRBY', key, tries, 1)
  return 'wrong'
end
`;

// KEYS: code, due, jobs[, audit, refused, refusal counter, success counter]. ARGV: code hash, ttl ms, entry id, job JSON[,
// audit max length, counter ttl ms, window start, audit field values in auditValues order]. Writes only after
// the type checks.
const ISSUE_SCRIPT = `
${NOW_MS}
${CHECK_TYPES_LUA}
${ENQUEUE_LUA}
${AUDIT_LUA}
local failed = checkTypes({ KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7] },
  { 'zset', 'hash', 'stream', 'stream', 'string', 'string' })
if failed then return failed end
enqueueMail(KEYS[2], KEYS[3], ARGV[3], ARGV[4], now)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if #KEYS == 7 then
  appendAudit({ KEYS[4], KEYS[5], KEYS[6], KEYS[7] }, { ARGV[5], ARGV[6], ARGV[7] }, unpack(ARGV, 8))
end
return 1
`;

// KEYS: audit, refused, refusal counter, success counter. ARGV: max length, counter ttl ms, window start,
// audit field values.
const AUDIT_SCRIPT = `
${CHECK_TYPES_LUA}
${AUDIT_LUA}
local failed = checkTypes(KEYS, { 'stream', 'stream', 'string', 'string' })
if failed then return failed end
appendAudit(KEYS, { ARGV[1], ARGV[2], ARGV[3] }, unpack(ARGV, 4))
return 1
`;

// KEYS: due, jobs. ARGV: entry id, job JSON.
const ENQUEUE_SCRIPT = `
${NOW_MS}
${ENQUEUE_LUA}
enqueueMail(KEYS[1], KEYS[2], ARGV[1], ARGV[2], now)
return 1
`;

// KEYS: code. ARGV: code hash, max wrong tries, '1' to consume, the caller's address.
const CODE_SCRIPT = `
${JUDGE_CODE_LUA}
local verdict = judgeCode(KEYS[1], ARGV[1], ARGV[2], ARGV[4])
if verdict ~= 'right' then return verdict end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
  return 'consumed'
end
return 'valid'
`;

// KEYS: due, jobs, attempts, leases. ARGV: lease ms, new token.
// Answers {id, attempt, job} or {'', ms until the next entry is due (-1: none)}.
const CLAIM_SCRIPT = `
${NOW_MS}
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
if #due == 0 then
  local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #nxt == 0 then return { '', -1 } end
  return { '', math.max(0, tonumber(nxt[2]) - now) }
end
local id = due[1]
local job = redis.call('HGET', KEYS[2], id)
if not job then
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  return { '', 0 }
end
local attempt = redis.call('HINCRBY', KEYS[3], id, 1)
redis.call('HSET', KEYS[4], id, ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), id)
return { id, attempt, job }
`;

// KEYS: due, jobs, attempts, leases. ARGV: entry id, token.
// Answers 1 when done or already gone (a retried call whose first answer was lost), 0 when another claim
// holds the job or it was rescheduled.
const COMPLETE_SCRIPT = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 1 end
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
`;

// KEYS: due, jobs, attempts, leases. ARGV: entry id, token, delay ms.
const RETRY_SCRIPT = `
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
${NOW_MS}
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1
`;

// KEYS: due, jobs, attempts, leases, dead. ARGV: entry id, token, dead letter JSON, max dead letters.
const DEAD_LETTER_SCRIPT = `
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('LPUSH', KEYS[5], ARGV[3])
redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[4]) - 1)
return 1
`;

/** A Lua script sent once and then run by its SHA (ioredis defineCommand); keyPrefix applies to its keys. */

/** The stream entry's field values of an event: at, step, caller, target, outcome, reason (AUDIT_LUA's). */
export function auditValues(event: AuditEvent): string[] {
  return [
    String(event.at),
    event.step,
    event.caller,
    event.targetUserId === null ? '' : String(event.targetUserId),
    event.outcome,
    event.reason,
  ];
}

/** Where an event goes and AUDIT_LUA's opts, for a script that appends it: its KEYS and its first ARGV. */
export function auditTarget(
  event: Pick<AuditEvent, 'at' | 'caller'>,
  maxLen: number,
  windowMs: number,
): { keys: [string, string, string, string]; opts: [number, number, number] } {
  const windowStart = refusalWindowStart(event.at, windowMs);
  return {
    keys: [
      AUDIT_KEY,
      REFUSED_KEY,
      refusalCountKey(windowStart, event.caller),
      successCountKey(windowStart, event.caller),
    ],
    opts: [maxLen, REFUSAL_COUNT_TTL_MS, windowStart],
  };
}

function auditFromFields(fields: string[]): AuditEvent {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  const target = map.get('target') ?? '';
  return {
    at: Number(map.get('at')),
    step: map.get('step') ?? '',
    caller: map.get('caller') ?? '',
    targetUserId: target === '' ? null : Number(target),
    outcome: map.get('outcome') ?? '',
    reason: map.get('reason') ?? '',
  };
}

export class RedisResetStore implements ResetStore {
  readonly kind = 'redis';
  private readonly listeners = new Set<() => void>();
  private closing: Promise<void> | undefined;
  private readonly auditMaxLen: number;
  private readonly deadLetterMaxLen: number;
  private readonly refusalWindowMs: number;
  private readonly scripts: Record<
    'issue' | 'enqueue' | 'code' | 'claim' | 'complete' | 'retry' | 'deadLetter' | 'audit',
    ScriptCall
  >;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisResetStoreOptions = {},
  ) {
    this.auditMaxLen = options.auditMaxLen ?? DEFAULT_AUDIT_MAXLEN;
    this.deadLetterMaxLen = options.deadLetterMaxLen ?? DEFAULT_DEAD_LETTER_MAXLEN;
    this.refusalWindowMs = options.refusalWindowMs ?? DEFAULT_REFUSAL_WINDOW_MS;
    this.scripts = {
      audit: defineScript(redis, 'omsResetAudit', 4, AUDIT_SCRIPT),
      issue: defineScript(redis, 'omsResetIssue', 'dynamic', ISSUE_SCRIPT),
      enqueue: defineScript(redis, 'omsMailEnqueue', 2, ENQUEUE_SCRIPT),
      code: defineScript(redis, 'omsResetCode', 1, CODE_SCRIPT),
      claim: defineScript(redis, 'omsMailClaim', 4, CLAIM_SCRIPT),
      complete: defineScript(redis, 'omsMailComplete', 4, COMPLETE_SCRIPT),
      retry: defineScript(redis, 'omsMailRetry', 4, RETRY_SCRIPT),
      deadLetter: defineScript(redis, 'omsMailDeadLetter', 5, DEAD_LETTER_SCRIPT),
    };
  }

  async issueCode(
    userId: number,
    codeHash: string,
    ttlMs: number,
    mail: MailJob,
    audit?: AuditEvent,
  ): Promise<string> {
    const id = randomUUID();
    const queue = [QUEUE_KEYS[0], QUEUE_KEYS[1]];
    const keys = [codeKey(userId), ...queue];
    const args = [codeHash, Math.max(1, Math.round(ttlMs)), id, JSON.stringify(mail)];
    if (audit) {
      const target = auditTarget(audit, this.auditMaxLen, this.refusalWindowMs);
      keys.push(...target.keys);
      args.push(...target.opts, ...auditValues(audit));
    }
    await guarded(() => this.scripts.issue(keys.length, ...keys, ...args));
    this.noteQueued();
    return id;
  }

  async checkCode(
    userId: number,
    codeHash: string,
    maxWrongTries = MAX_WRONG_TRIES,
    from = '',
  ): Promise<CodeCheck> {
    return (await guarded(() =>
      this.scripts.code(codeKey(userId), codeHash, maxWrongTries, '0', from),
    )) as CodeCheck;
  }

  async consumeCode(
    userId: number,
    codeHash: string,
    maxWrongTries = MAX_WRONG_TRIES,
    from = '',
  ): Promise<CodeUse> {
    return (await guarded(() =>
      this.scripts.code(codeKey(userId), codeHash, maxWrongTries, '1', from),
    )) as CodeUse;
  }

  async enqueueMail(job: MailJob): Promise<string> {
    const id = randomUUID();
    await guarded(() => this.scripts.enqueue(QUEUE_KEYS[0], QUEUE_KEYS[1], id, JSON.stringify(job)));
    this.noteQueued();
    return id;
  }

  /** Wakes this process's delivery loop: a job was queued through this store's connection. */
  noteQueued(): void {
    for (const listener of this.listeners) listener();
  }

  async claimMail(leaseMs: number): Promise<Claim> {
    const token = randomUUID();
    const reply = (await guarded(() =>
      this.scripts.claim(...QUEUE_KEYS, Math.max(1, Math.round(leaseMs)), token),
    )) as [string, number, string?];
    const [id, attemptOrWait, json] = reply;
    if (id === '' || json === undefined)
      return { mail: null, nextDueInMs: attemptOrWait < 0 ? null : attemptOrWait };
    return { mail: { id, token, attempt: attemptOrWait, job: JSON.parse(json) as MailJob } };
  }

  async completeMail(mail: ClaimedMail): Promise<boolean> {
    return (await guarded(() => this.scripts.complete(...QUEUE_KEYS, mail.id, mail.token))) === 1;
  }

  async retryMail(mail: ClaimedMail, delayMs: number): Promise<boolean> {
    const delay = Math.max(0, Math.round(delayMs));
    return (await guarded(() => this.scripts.retry(...QUEUE_KEYS, mail.id, mail.token, delay))) === 1;
  }

  async deadLetterMail(mail: ClaimedMail, reason: string): Promise<boolean> {
    const letter: DeadLetter = {
      id: mail.id,
      kind: mail.job.kind,
      userId: mail.job.userId,
      attempts: mail.attempt,
      reason,
      at: Date.now(),
    };
    const done = await guarded(() =>
      this.scripts.deadLetter(
        ...QUEUE_KEYS,
        DEAD_KEY,
        mail.id,
        mail.token,
        JSON.stringify(letter),
        this.deadLetterMaxLen,
      ),
    );
    return done === 1;
  }

  async deadLetters(count: number): Promise<DeadLetter[]> {
    if (count <= 0) return [];
    const items = await guarded(() => this.redis.lrange(DEAD_KEY, 0, count - 1));
    return items.map((item) => JSON.parse(item) as DeadLetter);
  }

  queuedMailCount(): Promise<number> {
    return guarded(() => this.redis.zcard(QUEUE_KEYS[0]));
  }

  onMailQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    const { keys, opts } = auditTarget(event, this.auditMaxLen, this.refusalWindowMs);
    await guarded(() => this.scripts.audit(...keys, ...opts, ...auditValues(event)));
  }

  async recentAudit(count: number): Promise<AuditEvent[]> {
    if (count <= 0) return [];
    const entries = await this.redis.xrevrange(AUDIT_KEY, '+', '-', 'COUNT', count);
    return entries.map(([, fields]) => auditFromFields(fields));
  }

  async recentRefusals(count: number): Promise<RefusalRecord[]> {
    if (count <= 0) return [];
    const entries = await this.redis.xrevrange(REFUSED_KEY, '+', '-', 'COUNT', count);
    if (entries.length === 0) return [];
    const records = entries.map(([, fields]) => {
      const windowAt = fields.findIndex((field, i) => i % 2 === 0 && field === 'window');
      return { first: auditFromFields(fields), windowStart: Number(fields[windowAt + 1]) };
    });
    const counts = await this.redis.mget(
      ...records.map((record) => refusalCountKey(record.windowStart, record.first.caller)),
    );
    return records.map((record, i) => ({ ...record, count: Number(counts[i] ?? 0) }));
  }

  /** Idempotent: a second close would make ioredis arm a 2 s disconnect timer on the ended socket. */
  close(): Promise<void> {
    this.listeners.clear();
    if (!this.options.ownsConnection) return Promise.resolve();
    return (this.closing ??= this.redis
      .quit()
      .then(() => undefined)
      .catch(() => this.redis.disconnect()));
  }
}

/** A reset store on its own connection (named, errors logged once per outage), closed by close(). */
export function openRedisResetStore(
  redisOptions: RedisOptions,
  logger: Logger,
  options: Omit<RedisResetStoreOptions, 'ownsConnection'> = {},
): RedisResetStore {
  const redis = connectRedis(redisOptions, 'oms-gateway-reset');
  watchRedis(redis, logger, 'reset-store');
  return new RedisResetStore(redis, { ...options, ownsConnection: true });
}
