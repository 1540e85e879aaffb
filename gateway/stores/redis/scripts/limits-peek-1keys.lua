-- How many hits a limit has counted, without counting one.
-- KEYS[1]: the limit's counter.
-- ARGV: none.
-- Returns {count, ms left in its window (-2: none)}.
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
return {count, redis.call('PTTL', KEYS[1])}
