// The reset flow's two steps on Redis, each one script: one round trip for all of a ResetPassword request's
// commands (limits, lookup, reach, code, mail, audit) and one for ResetPassword2's after its hash (code, new
// hash, sessions, mail, audit). The scripts span the user store's keys (redis-store.ts) and the reset store's
// (redis-reset-store.ts) and build the target's keys from its id, so, like those stores' own multi-key scripts,
// they need a single Redis node (README, Known limits). The Lua pieces are the stores' own, shared.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  defineScript,
  guarded,
  HIT_LIMIT_LUA,
  limitKey,
  REVOKE_ALL_LUA,
  revocationChannel,
  userIndexKey,
  userKey,
} from '../store/redis-store';
import type { ScriptCall } from '../store/redis-store';
import {
  AUDIT_KEY,
  AUDIT_LUA,
  CHECK_TYPES_LUA,
  codeKey,
  ENQUEUE_LUA,
  JUDGE_CODE_LUA,
  NOW_MS,
  QUEUE_KEYS,
} from './redis-reset-store';
import { CHANGED_REASON, changeAudit, requestAudit, requestReason } from './reset-flow';
import type {
  PasswordChange,
  PasswordChangeOutcome,
  PasswordChangeResult,
  ResetFlow,
  ResetRequest,
  ResetRequestOutcome,
  ResetRequestResult,
} from './reset-flow';

const [DUE_KEY, JOBS_KEY] = QUEUE_KEYS;

/** The outcomes in the order their audit reasons are passed (ARGV[12..16]). */
const REQUEST_OUTCOMES: readonly ResetRequestOutcome[] = [
  'queued',
  'limited',
  'unknown',
  'out of reach',
  'locked',
];

/** Those reasons, by what the target was asked by (made once, not per call). */
const REASONS = {
  name: REQUEST_OUTCOMES.map((outcome) => requestReason(outcome, 'name')),
  email: REQUEST_OUTCOMES.map((outcome) => requestReason(outcome, 'email')),
} as const;

// KEYS: name or e-mail index, due, jobs, audit, then the limits' keys (limits, then reach limits).
// ARGV: [1] key prefix, [2] code hash, [3] code ttl ms, [4] mail entry id, [5] the job's JSON less recipient and
// link, [6] [7] the link before and after the UserId, [8] audit max length, [9] at, [10] step, [11] caller,
// [12..16] the audit reason of each outcome (REQUEST_OUTCOMES), [17] limits, [18] reach limits, [19] the
// scoped caller's UserId ('' when any user is in reach), then each limit's count and window ms, then the
// scoped caller's account ids. Answers {outcome, target id or '', ms until a refusing limit allows}.
const REQUEST_SCRIPT = `
${NOW_MS}
${CHECK_TYPES_LUA}
${HIT_LIMIT_LUA}
${ENQUEUE_LUA}
${AUDIT_LUA}
local failed = checkTypes({ KEYS[2], KEYS[3], KEYS[4] }, { 'zset', 'hash', 'stream' })
if failed then return failed end
local prefix = ARGV[1]
local nLimits, nReach, self = tonumber(ARGV[17]), tonumber(ARGV[18]), ARGV[19]
local reasons = { queued = ARGV[12], limited = ARGV[13], unknown = ARGV[14], ['out of reach'] = ARGV[15],
  locked = ARGV[16] }
local id = redis.call('GET', KEYS[1])
local user, fields
if id then
  user = prefix .. 'user:{' .. id .. '}'
  fields = redis.call('HMGET', user, 'userName', 'email', 'locked')
  if not fields[1] then id = false end
end
local function finish(outcome, waitMs)
  local verdict = 'refused'
  if outcome == 'queued' then verdict = 'ok' end
  appendAudit(KEYS[4], ARGV[8], ARGV[9], ARGV[10], ARGV[11], id or '', verdict, reasons[outcome])
  return { outcome, id or '', waitMs or 0 }
end
local function countLimits(from, to)
  for i = from, to do
    local count, ttl = hitLimit(KEYS[4 + i], tonumber(ARGV[19 + 2 * i]))
    if count > tonumber(ARGV[18 + 2 * i]) then return ttl end
  end
  return nil
end
local wait = countLimits(1, nLimits)
if wait then return finish('limited', wait) end
if self ~= '' then
  local inReach = id == self
  if id and not inReach then
    for j = 20 + 2 * (nLimits + nReach), #ARGV do
      if redis.call('SISMEMBER', user .. ':accounts', ARGV[j]) == 1 then
        inReach = true
        break
      end
    end
  end
  if not inReach then
    if id then return finish('out of reach') end
    return finish('unknown')
  end
end
wait = countLimits(nLimits + 1, nLimits + nReach)
if wait then return finish('limited', wait) end
if not id then return finish('unknown') end
if fields[3] == '1' then return finish('locked') end
local job = cjson.decode(ARGV[5])
job.to = fields[2]
job.userId = tonumber(id)
job.userName = fields[1]
job.link = ARGV[6] .. id .. ARGV[7]
enqueueMail(KEYS[2], KEYS[3], ARGV[4], cjson.encode(job), now)
local code = prefix .. 'reset:{u:' .. id .. '}:code'
redis.call('DEL', code)
redis.call('HSET', code, 'h', ARGV[2], 'w', 0)
redis.call('PEXPIRE', code, ARGV[3])
return finish('queued')
`;

// KEYS: code, user, the user's sessions, due, jobs, audit. ARGV: [1] key prefix, [2] code hash, [3] max wrong
// tries, [4] new password hash, [5] revocation channel, [6] UserId, [7] mail entry id, [8] job JSON, [9] audit
// max length, [10] at, [11] step, [12] caller, [13] CHANGED_REASON. Answers {outcome, sessions ended}.
const CHANGE_SCRIPT = `
${NOW_MS}
${CHECK_TYPES_LUA}
${JUDGE_CODE_LUA}
${REVOKE_ALL_LUA}
${ENQUEUE_LUA}
${AUDIT_LUA}
local failed = checkTypes({ KEYS[4], KEYS[5], KEYS[6] }, { 'zset', 'hash', 'stream' })
if failed then return failed end
local verdict = judgeCode(KEYS[1], ARGV[2], ARGV[3])
if verdict ~= 'right' then return { verdict, 0 } end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'none', 0 } end
redis.call('HSET', KEYS[2], 'passwordHash', ARGV[4])
local ended = revokeAllSessions(ARGV[1], KEYS[3], ARGV[6], ARGV[5])
enqueueMail(KEYS[4], KEYS[5], ARGV[7], ARGV[8], now)
local reason = string.gsub(ARGV[13], '{n}', tostring(ended))
appendAudit(KEYS[6], ARGV[9], ARGV[10], ARGV[11], ARGV[12], ARGV[6], 'ok', reason)
return { 'changed', ended }
`;

export interface RedisResetFlowOptions {
  /** the key prefix of the connection (REDIS_PREFIX), for the keys the scripts build from a UserId */
  readonly prefix: string;
  /** audit events kept, as the reset store's */
  readonly auditMaxLen: number;
  /** called after a mail was queued (wakes this process's delivery loop) */
  readonly onQueued: () => void;
}

export class RedisResetFlow implements ResetFlow {
  private readonly scripts: Record<'request' | 'change', ScriptCall>;

  constructor(
    redis: Redis,
    private readonly options: RedisResetFlowOptions,
  ) {
    this.scripts = {
      request: defineScript(redis, 'omsResetRequest', 'dynamic', REQUEST_SCRIPT),
      change: defineScript(redis, 'omsResetChange', 6, CHANGE_SCRIPT),
    };
  }

  async requestReset(request: ResetRequest): Promise<ResetRequestResult> {
    const { mail, audit, reach } = request;
    const limits = [...request.limits, ...request.reachLimits];
    const keys = [userIndexKey(request.lookup.by, request.lookup.value), DUE_KEY, JOBS_KEY, AUDIT_KEY];
    keys.push(...limits.map((hit) => limitKey(hit.key)));
    const job = { kind: 'reset', expiresInMinutes: mail.expiresInMinutes, fromName: mail.fromName };
    const args = [
      this.options.prefix,
      request.codeHash,
      Math.max(1, Math.round(request.ttlMs)),
      randomUUID(),
      JSON.stringify(job),
      mail.link[0],
      mail.link[1],
      this.options.auditMaxLen,
      audit.at,
      audit.step,
      audit.caller,
      ...REASONS[request.lookup.by],
      request.limits.length,
      request.reachLimits.length,
      reach === null ? '' : reach.self,
      ...limits.flatMap((hit) => [hit.limit, hit.windowSeconds * 1000]),
      ...(reach === null ? [] : reach.accountIds),
    ];
    const [outcome, target, waitMs] = (await guarded(() =>
      this.scripts.request(keys.length, ...keys, ...args),
    )) as [ResetRequestOutcome, string, number];
    if (outcome === 'queued') this.options.onQueued();
    const targetUserId = target === '' ? null : Number(target);
    return {
      outcome,
      targetUserId,
      retryAfterSeconds: outcome === 'limited' ? Math.max(1, Math.ceil(waitMs / 1000)) : 0,
      audit: requestAudit(request, outcome, targetUserId),
    };
  }

  async changePassword(change: PasswordChange): Promise<PasswordChangeResult> {
    const { userId, audit } = change;
    const user = userKey(userId);
    const [outcome, sessionsEnded] = (await guarded(() =>
      this.scripts.change(
        codeKey(userId),
        user,
        `${user}:sessions`,
        DUE_KEY,
        JOBS_KEY,
        AUDIT_KEY,
        this.options.prefix,
        change.codeHash,
        change.maxWrongTries,
        change.passwordHash,
        revocationChannel(this.options.prefix),
        userId,
        randomUUID(),
        JSON.stringify(change.mail),
        this.options.auditMaxLen,
        audit.at,
        audit.step,
        audit.caller,
        CHANGED_REASON,
      ),
    )) as [PasswordChangeOutcome, number];
    if (outcome !== 'changed') return { outcome, sessionsEnded: 0, audit: null };
    this.options.onQueued();
    return {
      outcome,
      sessionsEnded,
      audit: changeAudit(change, sessionsEnded),
    };
  }
}
