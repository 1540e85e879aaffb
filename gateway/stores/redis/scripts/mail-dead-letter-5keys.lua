-- Removes a job that cannot be delivered and records a dead letter (without the link), fenced by the token.
-- KEYS: [1] due, [2] jobs, [3] attempts, [4] leases, [5] the shard's dead letters (one shard).
-- ARGV: [1] entry id, [2] token, [3] dead letter JSON, [4] dead letters kept per shard.
-- Returns 1, or 0 when the lease was lost.
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('LPUSH', KEYS[5], ARGV[3])
redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[4]) - 1)
return 1
