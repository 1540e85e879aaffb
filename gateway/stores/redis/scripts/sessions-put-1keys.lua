-- Writes a new session's key, after its user's index holds it (sessions.ts says why in that order).
-- KEYS[1]: the session (its own tag).
-- ARGV: [1] UserId, [2] idle TTL ms, [3] absolute lifetime ms (0: none).
-- Returns 1, or 0 when a revocation that ran between the two steps left its tombstone there, and the session
-- must not start. A key that already holds this user's session is this script's own earlier run (the id is
-- random): the client sent it again, as ioredis does with a pipeline whose connection closed before its reply
-- came (a failover), so it answers 1 again instead of refusing the login.
--!include lib/now-ms.lua
--!include lib/session-value.lua
local existing = redis.call('GET', KEYS[1])
if existing then
  if sessionUser(existing) == ARGV[1] then return 1 end
  return 0
end
local idle, lifetime = tonumber(ARGV[2]), tonumber(ARGV[3])
if lifetime > 0 then
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. string.format('%.0f', now + lifetime), 'PX', math.min(idle, lifetime))
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', idle)
end
return 1
