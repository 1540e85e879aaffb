-- Fragment: hitLimit(key, windowMs) counts one hit on a fixed-window counter and returns its count and the ms
-- left in its window (the window starts with the first hit).
-- TypeScript twin: gateway/stores/memory/memory-store.ts (the embedded limiter); the contract suite keeps them equal.
local function hitLimit(key, window)
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, window) end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, window); ttl = window end
  return count, ttl
end
