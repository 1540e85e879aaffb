-- Appends one audit event (see lib/append-audit.lua for what goes where).
-- KEYS: [1] audit stream, [2] refusal stream, [3] the caller's refusal counter of the window, [4] its success
--   counter (one slot: the audit's tag).
-- ARGV[1]: JSON {opts: {maxLen, counterTtlMs, windowStart}, event: {at, step, caller, target, outcome, reason}}.
-- Returns 1.
--!include lib/check-types.lua
--!include lib/append-audit.lua
local failed = checkTypes(KEYS, { 'stream', 'stream', 'string', 'string' })
if failed then return failed end
local a = cjson.decode(ARGV[1])
appendAudit(KEYS, a.opts, a.event)
return 1
