-- Adds an existing user to an account; it becomes the default when the user had none.
-- KEYS: [1] the user's hash, [2] its accounts set.
-- ARGV[1]: the AccountId.
-- Returns 1, or 0 when there is no such user.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'accountId') == '0' then redis.call('HSET', KEYS[1], 'accountId', ARGV[1]) end
return 1
