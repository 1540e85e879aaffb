-- Counts one hit on each limit in turn and stops at the first whose count is over its limit, so later limits are
-- not charged for a hit that is refused.
-- KEYS: the limits' counters, all in one slot (limits.ts calls once per slot).
-- ARGV[1]: JSON [[limit, windowMs], ...], one per key.
-- Returns {index (1-based) of the last key counted, its count, ms left in its window}.
-- TypeScript twin: RateLimiter.hitAll in gateway/stores/memory/memory-store.ts.
--!include lib/hit-limit.lua
local limits = cjson.decode(ARGV[1])
local last = {0, 0, 0}
for i = 1, #KEYS do
  local count, ttl = hitLimit(KEYS[i], limits[i][2])
  last = {i, count, ttl}
  if count > limits[i][1] then return last end
end
return last
