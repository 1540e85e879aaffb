-- Takes the oldest due job of one shard and leases it.
-- KEYS: [1] due, [2] jobs, [3] attempts, [4] leases (one shard).
-- ARGV: [1] lease ms, [2] the claim's new token.
-- Returns {id, attempt, job JSON}, or {'', ms until the shard's next entry is due (-1: none)}.
--!include lib/now-ms.lua
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)
if #due == 0 then
  local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #nxt == 0 then return { '', -1 } end
  return { '', math.max(0, tonumber(nxt[2]) - now) }
end
local id = due[1]
local job = redis.call('HGET', KEYS[2], id)
if not job then
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  return { '', 0 }
end
local attempt = redis.call('HINCRBY', KEYS[3], id, 1)
redis.call('HSET', KEYS[4], id, ARGV[2])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), id)
return { id, attempt, job }
