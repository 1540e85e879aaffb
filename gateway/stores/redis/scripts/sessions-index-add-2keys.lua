-- Adds a new session to its user's index (a sorted set by idle deadline: the least recently used scores lowest),
-- after checking the password hash the login verified; O(log n) in the user's sessions.
-- KEYS: [1] the user's hash, [2] the user's session index (one slot: the user's tag).
-- ARGV[1]: JSON {sessionId, deadline (ms from now), passwordHash ('' for no check), cap (0: none), stale (how
--   many entries past their deadline to hand back for checking)}.
-- Returns -1 (refused: the user's hash is not that one, or no user; nothing changed), or
--   {ids past the cap, least recently used first, ids past their deadline}: sessions.ts ends the first and
--   removes them from the index afterwards, so a stop in between leaves no live session out of the index.
--!include lib/now-ms.lua
local a = cjson.decode(ARGV[1])
if a.passwordHash ~= '' and redis.call('HGET', KEYS[1], 'passwordHash') ~= a.passwordHash then return -1 end
-- the new session is never the one evicted: the cap counts the others first
local over = {}
if a.cap > 0 then
  local extra = redis.call('ZCARD', KEYS[2]) - a.cap + 1
  if extra > 0 then over = redis.call('ZRANGE', KEYS[2], 0, extra - 1) end
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', #over, a.stale)
redis.call('ZADD', KEYS[2], now + a.deadline, a.sessionId)
return { over, stale }
