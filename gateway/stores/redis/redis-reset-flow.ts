// The reset flow's two steps on Redis, each one script: one round trip for all of a ResetPassword request's
// commands (limits, lookup, reach, code, mail, audit) and one for ResetPassword2's after its hash (code, new
// hash, sessions, mail, audit). The scripts span the user store's keys (redis-store.ts) and the reset store's
// (redis-reset-store.ts) and build the target's keys from its id, so, like those stores' own multi-key scripts,
// they need a single Redis node (README, Known limits). The Lua pieces are the stores' own, shared.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { guarded } from './connection';
import {
  defineScript,
  HIT_LIMIT_LUA,
  limitKey,
  REVOKE_ALL_LUA,
  revocationChannel,
  userIndexKey,
  userKey,
} from './redis-store';
import type { ScriptCall } from './redis-store';
import {
  AUDIT_LUA,
  auditTarget,
  CHECK_TYPES_LUA,
  codeKey,
  DECOY_KEYS,
  ENQUEUE_LUA,
  JUDGE_CODE_LUA,
  NOW_MS,
  QUEUE_KEYS,
} from './redis-reset-store';
import {
  CHANGED_REASON,
  changeAudit,
  requestAudit,
  requestReason,
  targetLimitHits,
} from '../../../core/reset-flow';
import { DEFAULT_REFUSAL_WINDOW_MS } from '../../../core/ports/reset-store';
import type {
  PasswordChange,
  PasswordChangeOutcome,
  PasswordChangeResult,
  ResetFlow,
  ResetRequest,
  ResetRequestOutcome,
  ResetRequestResult,
} from '../../../core/reset-flow';

const [DUE_KEY, JOBS_KEY] = QUEUE_KEYS;

/** The outcomes in the order their audit reasons are passed (ARGV[14..18]). */
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

// KEYS: [1] name or e-mail index, [2] due, [3] jobs, [4] audit, [5] refusals, [6] [7] the refusal and success
// counters, [8..10] the decoy due, jobs and code, then the limits' keys, then the target limits' keys for a target nobody is.
// ARGV: [1] key prefix, [2] code hash, [3] code ttl ms, [4] mail entry id, [5] the job's JSON less recipient
// and link (its language the request's, which the user's own replaces), [6] [7] the link before and after the
// UserId, [8] audit max length, [9] refusal counter ttl ms,
// [10] refusal window start, [11] at, [12] step, [13] caller, [14..18] the audit reason of each outcome
// (REQUEST_OUTCOMES), [19] limits, [20] target limits, [21] the scoped caller's UserId ('' when any user is
// in reach), then each limit's count and window ms, then each target limit's key suffix, count and window
// ms, then the scoped caller's account ids. Answers {outcome, target id or '', ms until a refusing limit
// allows}.
//
// A target nobody is (or a locked one, or one out of reach) runs the same commands as a known one, on the
// decoy keys instead of the queue and a code, so the reply takes as long for any name (issue 11, finding 4).
const REQUEST_SCRIPT = `
${NOW_MS}
${CHECK_TYPES_LUA}
${HIT_LIMIT_LUA}
${ENQUEUE_LUA}
${AUDIT_LUA}
local failed = checkTypes({ KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10] },
  { 'zset', 'hash', 'stream', 'stream', 'string', 'string', 'zset', 'hash', 'hash' })
if failed then return failed end
local prefix = ARGV[1]
local nLimits, nTarget, self = tonumber(ARGV[19]), tonumber(ARGV[20]), ARGV[21]
local targetArgs = 21 + 2 * nLimits
local reasons = { queued = ARGV[14], limited = ARGV[15], unknown = ARGV[16], ['out of reach'] = ARGV[17],
  locked = ARGV[18] }
local id = redis.call('GET', KEYS[1])
-- user 0 is nobody's (ids start at 1): the same read for a name nobody has
local user = prefix .. 'user:{' .. (id or '0') .. '}'
local fields = redis.call('HMGET', user, 'userName', 'email', 'locked', 'language')
if not fields[1] then id = false end
local function finish(outcome, waitMs)
  local verdict = 'refused'
  if outcome == 'queued' then verdict = 'ok' end
  appendAudit({ KEYS[4], KEYS[5], KEYS[6], KEYS[7] }, { ARGV[8], ARGV[9], ARGV[10] }, ARGV[11], ARGV[12], ARGV[13],
    id or '', verdict, reasons[outcome])
  return { outcome, id or '', waitMs or 0 }
end
local function countLimits()
  for i = 1, nLimits do
    local count, ttl = hitLimit(KEYS[10 + i], tonumber(ARGV[21 + 2 * i]))
    if count > tonumber(ARGV[20 + 2 * i]) then return ttl end
  end
  return nil
end
local function countTargetLimits()
  for i = 1, nTarget do
    local key = KEYS[10 + nLimits + i]
    if id then key = prefix .. 'limit:{reset:target:user:' .. id .. ':' .. ARGV[targetArgs + 3 * i - 2] .. '}' end
    local count, ttl = hitLimit(key, tonumber(ARGV[targetArgs + 3 * i]))
    if count > tonumber(ARGV[targetArgs + 3 * i - 1]) then return ttl end
  end
  return nil
end
-- the mail and the code, or the same writes on the decoy keys
local function issue(real)
  local job = cjson.decode(ARGV[5])
  job.to = fields[2] or ''
  job.userId = tonumber(id or '0')
  job.userName = fields[1] or ''
  job.link = ARGV[6] .. (id or '0') .. ARGV[7]
  -- the user's own language before the request's
  if fields[4] and fields[4] ~= '' then job.language = fields[4] end
  if real then
    enqueueMail(KEYS[2], KEYS[3], ARGV[4], cjson.encode(job), now)
  else
    enqueueMail(KEYS[8], KEYS[9], 'decoy', cjson.encode(job), now)
  end
  local code = KEYS[10]
  if real then code = prefix .. 'reset:{u:' .. id .. '}:code' end
  redis.call('DEL', code)
  redis.call('HSET', code, 'h', ARGV[2])
  redis.call('PEXPIRE', code, ARGV[3])
end
local wait = countLimits()
if wait then return finish('limited', wait) end
if self ~= '' then
  local inReach = id == self
  if id and not inReach then
    for j = targetArgs + 3 * nTarget + 1, #ARGV do
      if redis.call('SISMEMBER', user .. ':accounts', ARGV[j]) == 1 then
        inReach = true
        break
      end
    end
  end
  if not inReach then
    issue(false)
    if id then return finish('out of reach') end
    return finish('unknown')
  end
end
wait = countTargetLimits()
if wait then return finish('limited', wait) end
if not id then
  issue(false)
  return finish('unknown')
end
if fields[3] == '1' then
  issue(false)
  return finish('locked')
end
issue(true)
return finish('queued')
`;

// KEYS: code, user, the user's sessions, due, jobs, audit, refusals, refusal and success counters. ARGV: [1] key prefix,
// [2] code hash, [3] max wrong tries, [4] new password hash, [5] revocation channel, [6] UserId, [7] mail
// entry id, [8] job JSON, [9] audit max length, [10] refusal counter ttl ms, [11] refusal window start,
// [12] at, [13] step, [14] caller, [15] CHANGED_REASON, [16] the address wrong tries count against.
// Answers {outcome, sessions ended}.
const CHANGE_SCRIPT = `
${NOW_MS}
${CHECK_TYPES_LUA}
${JUDGE_CODE_LUA}
${REVOKE_ALL_LUA}
${ENQUEUE_LUA}
${AUDIT_LUA}
local failed = checkTypes({ KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9] },
  { 'zset', 'hash', 'stream', 'stream', 'string', 'string' })
if failed then return failed end
local verdict = judgeCode(KEYS[1], ARGV[2], ARGV[3], ARGV[16])
if verdict ~= 'right' then return { verdict, 0 } end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'none', 0 } end
redis.call('HSET', KEYS[2], 'passwordHash', ARGV[4])
local ended = revokeAllSessions(ARGV[1], KEYS[3], ARGV[6], ARGV[5])
enqueueMail(KEYS[4], KEYS[5], ARGV[7], ARGV[8], now)
local reason = string.gsub(ARGV[15], '{n}', tostring(ended))
appendAudit({ KEYS[6], KEYS[7], KEYS[8], KEYS[9] }, { ARGV[9], ARGV[10], ARGV[11] }, ARGV[12], ARGV[13],
  ARGV[14], ARGV[6], 'ok', reason)
return { 'changed', ended }
`;

export interface RedisResetFlowOptions {
  /** the key prefix of the connection (REDIS_PREFIX), for the keys the scripts build from a UserId */
  readonly prefix: string;
  /** audit events kept, as the reset store's */
  readonly auditMaxLen: number;
  /** the refusal aggregation window, as the reset store's, default 60000 ms */
  readonly refusalWindowMs?: number;
  /** called after a mail was queued (wakes this process's delivery loop) */
  readonly onQueued: () => void;
}

export class RedisResetFlow implements ResetFlow {
  private readonly scripts: Record<'request' | 'change', ScriptCall>;
  private readonly windowMs: number;

  constructor(
    redis: Redis,
    private readonly options: RedisResetFlowOptions,
  ) {
    this.windowMs = options.refusalWindowMs ?? DEFAULT_REFUSAL_WINDOW_MS;
    this.scripts = {
      request: defineScript(redis, 'omsResetRequest', 'dynamic', REQUEST_SCRIPT),
      change: defineScript(redis, 'omsResetChange', 9, CHANGE_SCRIPT),
    };
  }

  async requestReset(request: ResetRequest): Promise<ResetRequestResult> {
    const { mail, audit, reach } = request;
    const target = auditTarget(audit, this.options.auditMaxLen, this.windowMs);
    const unknownTargets = targetLimitHits(request.targetLimits, null);
    const keys = [
      userIndexKey(request.lookup.by, request.lookup.value),
      DUE_KEY,
      JOBS_KEY,
      ...target.keys,
      ...DECOY_KEYS,
      ...[...request.limits, ...unknownTargets].map((hit) => limitKey(hit.key)),
    ];
    const job = {
      kind: 'reset',
      expiresInMinutes: mail.expiresInMinutes,
      fromName: mail.fromName,
      language: mail.language,
    };
    const args = [
      this.options.prefix,
      request.codeHash,
      Math.max(1, Math.round(request.ttlMs)),
      randomUUID(),
      JSON.stringify(job),
      mail.link[0],
      mail.link[1],
      ...target.opts,
      audit.at,
      audit.step,
      audit.caller,
      ...REASONS[request.lookup.by],
      request.limits.length,
      request.targetLimits.hits.length,
      reach === null ? '' : reach.self,
      ...request.limits.flatMap((hit) => [hit.limit, hit.windowSeconds * 1000]),
      ...request.targetLimits.hits.flatMap((hit) => [hit.suffix, hit.limit, hit.windowSeconds * 1000]),
      ...(reach === null ? [] : reach.accountIds),
    ];
    const [outcome, found, waitMs] = (await guarded(() =>
      this.scripts.request(keys.length, ...keys, ...args),
    )) as [ResetRequestOutcome, string, number];
    if (outcome === 'queued') this.options.onQueued();
    const targetUserId = found === '' ? null : Number(found);
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
    const target = auditTarget(audit, this.options.auditMaxLen, this.windowMs);
    const [outcome, sessionsEnded] = (await guarded(() =>
      this.scripts.change(
        codeKey(userId),
        user,
        `${user}:sessions`,
        DUE_KEY,
        JOBS_KEY,
        ...target.keys,
        this.options.prefix,
        change.codeHash,
        change.maxWrongTries,
        change.passwordHash,
        revocationChannel(this.options.prefix),
        userId,
        randomUUID(),
        JSON.stringify(change.mail),
        ...target.opts,
        audit.at,
        audit.step,
        audit.caller,
        CHANGED_REASON,
        change.from,
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
