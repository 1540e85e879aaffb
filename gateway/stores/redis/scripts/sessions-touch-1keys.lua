-- Refreshes a session's idle TTL, never past its absolute lifetime; a session past it is deleted.
-- KEYS[1]: the session.
-- ARGV[1]: idle TTL ms.
-- Returns {UserId, the new idle deadline (Redis ms)}, or false (no session, or a revoked one's tombstone).
--!include lib/now-ms.lua
--!include lib/session-value.lua
local value = redis.call('GET', KEYS[1])
if not value then return false end
local userId, endsAt = sessionUser(value)
if not userId then return false end
local ttl = tonumber(ARGV[1])
if endsAt then
  if endsAt <= now then
    redis.call('DEL', KEYS[1])
    return false
  end
  ttl = math.min(ttl, endsAt - now)
end
redis.call('PEXPIRE', KEYS[1], ttl)
return { userId, now + ttl }
