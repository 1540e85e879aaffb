-- Ends one session (LogOut): its key becomes a tombstone, so a start still on its way cannot bring it back.
-- KEYS[1]: the session.
-- ARGV[1]: how long the tombstone stays, ms.
-- Returns its UserId, or false when it was not live.
--!include lib/session-value.lua
local value = redis.call('GET', KEYS[1])
if not value then return false end
local userId = sessionUser(value)
if not userId then return false end
redis.call('SET', KEYS[1], 'revoked', 'PX', ARGV[1])
return userId
