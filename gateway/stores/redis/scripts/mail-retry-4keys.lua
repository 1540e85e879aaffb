-- Schedules another attempt of a job, fenced by the claim's token.
-- KEYS: [1] due, [2] jobs, [3] attempts, [4] leases (one shard).
-- ARGV: [1] entry id, [2] token, [3] delay ms.
-- Returns 1, or 0 when the lease was lost.
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
--!include lib/now-ms.lua
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1
