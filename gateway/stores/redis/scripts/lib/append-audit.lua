-- Fragment: appendAudit(keys, opts, event) writes one audit event. A success counts on its caller's window counter
-- of successes and goes to the bounded audit stream; a refusal counts on the caller's window counter of refusals,
-- and only the window's first goes to the refusal stream. So a success and a window's first refusal run the same
-- commands. keys: {audit stream, refusal stream, the window's refusal counter, its success counter};
-- opts: {maxLen, counterTtlMs, windowStart}; event: {at, step, caller, target, outcome, reason}.
-- TypeScript twin: gateway/stores/memory/memory-reset-store.ts (appendAudit).
local function appendAudit(keys, opts, e)
  if e.outcome == 'ok' then
    if redis.call('INCR', keys[4]) == 1 then redis.call('PEXPIRE', keys[4], opts.counterTtlMs) end
    redis.call('XADD', keys[1], 'MAXLEN', '~', opts.maxLen, '*', 'at', e.at, 'step', e.step, 'caller', e.caller,
      'target', e.target, 'outcome', e.outcome, 'reason', e.reason)
    return
  end
  if redis.call('INCR', keys[3]) > 1 then return end
  redis.call('PEXPIRE', keys[3], opts.counterTtlMs)
  redis.call('XADD', keys[2], 'MAXLEN', '~', opts.maxLen, '*', 'at', e.at, 'step', e.step, 'caller', e.caller,
    'target', e.target, 'outcome', e.outcome, 'reason', e.reason, 'window', opts.windowStart)
end
