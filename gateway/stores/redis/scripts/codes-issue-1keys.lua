-- Replaces the user's live code (any earlier code stops working), wrong tries 0.
-- KEYS[1]: the user's code (the user's tag), or a decoy code for a target nobody is.
-- ARGV: [1] the code's SHA-256 hex, [2] ttl ms.
-- Returns 1.
--!include lib/check-types.lua
local failed = checkTypes({ KEYS[1] }, { 'hash' })
if failed then return failed end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
