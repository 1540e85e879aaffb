-- Deletes a sent job (and with it the link), fenced by the claim's token.
-- KEYS: [1] due, [2] jobs, [3] attempts, [4] leases (one shard).
-- ARGV: [1] entry id, [2] token.
-- Returns 1 when done or already gone (a retried call whose first answer was lost), 0 when another claim holds
-- the job or it was rescheduled.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 1 end
if redis.call('HGET', KEYS[4], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return 1
