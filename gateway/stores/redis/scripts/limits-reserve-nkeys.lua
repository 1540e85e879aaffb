-- All or nothing: when every key has room for one more hit, counts one on each; otherwise counts none.
-- KEYS: the limits' counters, all in one slot (limits.ts calls once per slot and gives back what an earlier
-- slot reserved when a later one refuses).
-- ARGV[1]: JSON [[limit, windowMs], ...], one per key.
-- Returns {1, count of the first key, 0}, or {0, count of the first full key, the longest ms left of the full keys}.
-- TypeScript twin: RateLimiter.reserve in gateway/stores/memory/memory-store.ts.
local limits = cjson.decode(ARGV[1])
local full, waitMs, fullCount = false, 0, 0
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count + 1 > limits[i][1] then
    if not full then fullCount = count end
    full = true
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl > waitMs then waitMs = ttl end
  end
end
if full then return {0, fullCount, waitMs} end
local first = 0
for i = 1, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  if i == 1 then first = count end
  if count == 1 or redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], limits[i][2]) end
end
return {1, first, 0}
