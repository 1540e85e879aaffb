-- ResetPassword2's first step, in the user's slot: judges the code (a wrong one counts as a wrong try of the
-- address) and lists the sessions the change must end before it may become final.
-- KEYS: [1] the user's code, [2] the user's session index (the user's tag).
-- ARGV: [1] the code's SHA-256 hex, [2] max wrong tries, [3] the caller's address.
-- Returns {'right', session ids} or {'wrong' | 'none', {}}.
--!include lib/judge-code.lua
local verdict = judgeCode(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if verdict ~= 'right' then return { verdict, {} } end
return { verdict, redis.call('ZRANGE', KEYS[2], 0, -1) }
