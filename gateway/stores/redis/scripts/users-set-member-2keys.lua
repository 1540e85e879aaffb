-- Adds or removes one member of an existing user's set (permissions).
-- KEYS: [1] the user's hash, [2] the set.
-- ARGV: [1] 'SADD' or 'SREM', [2] the member.
-- Returns 1, or 0 when there is no such user.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == 'SADD' then redis.call('SADD', KEYS[2], ARGV[2]) else redis.call('SREM', KEYS[2], ARGV[2]) end
return 1
