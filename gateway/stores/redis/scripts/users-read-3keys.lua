-- One user with its sets, in one step (a reader never sees half an update).
-- KEYS: [1] the user's hash, [2] its permissions set, [3] its accounts set.
-- ARGV: none.
-- Returns {flat hash, permissions, accounts}, or false when there is no such user.
local hash = redis.call('HGETALL', KEYS[1])
if #hash == 0 then return false end
return { hash, redis.call('SMEMBERS', KEYS[2]), redis.call('SMEMBERS', KEYS[3]) }
