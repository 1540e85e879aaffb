-- Moves a session's score in its user's index to its new idle deadline (only if it is still indexed).
-- KEYS[1]: the user's session index.
-- ARGV: [1] session id, [2] idle deadline (Redis ms).
-- Returns the number of entries changed (0 or 1).
return redis.call('ZADD', KEYS[1], 'XX', 'CH', ARGV[2], ARGV[1])
