-- Writes a new session's key, after its user's index holds it (sessions.ts says why in that order).
-- KEYS[1]: the session (its own tag).
-- ARGV: [1] UserId, [2] idle TTL ms, [3] absolute lifetime ms (0: none).
-- Returns 1, or 0 when the key exists already: a revocation that ran between the two steps left its tombstone
-- there, and the session must not start.
--!include lib/now-ms.lua
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local idle, lifetime = tonumber(ARGV[2]), tonumber(ARGV[3])
if lifetime > 0 then
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. string.format('%.0f', now + lifetime), 'PX', math.min(idle, lifetime))
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', idle)
end
return 1
