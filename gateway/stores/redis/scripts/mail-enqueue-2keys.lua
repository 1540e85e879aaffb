-- Queues a job due now on one shard.
-- KEYS: [1] the shard's due set, [2] its jobs hash (one slot: the shard's tag).
-- ARGV: [1] entry id, [2] job JSON.
-- Returns 1.
--!include lib/now-ms.lua
--!include lib/check-types.lua
local failed = checkTypes({ KEYS[1], KEYS[2] }, { 'zset', 'hash' })
if failed then return failed end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 1
