-- Checks or uses a code: of concurrent uses of the right code exactly one gets 'consumed'.
-- KEYS[1]: the user's code.
-- ARGV: [1] the code's SHA-256 hex, [2] max wrong tries, [3] '1' to consume, [4] the caller's address.
-- Returns 'valid', 'consumed', 'wrong' or 'none'.
--!include lib/judge-code.lua
local verdict = judgeCode(KEYS[1], ARGV[1], ARGV[2], ARGV[4])
if verdict ~= 'right' then return verdict end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
  return 'consumed'
end
return 'valid'
