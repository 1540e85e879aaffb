-- Records a nonce when it is greater than the last one used with the key (replay protection).
-- KEYS[1]: the key's hash.
-- ARGV[1]: the nonce.
-- Returns 1, or 0 for a replay or an unknown key.
local last = redis.call('HGET', KEYS[1], 'lastNonce')
if not last then return 0 end
if tonumber(ARGV[1]) <= tonumber(last) then return 0 end
redis.call('HSET', KEYS[1], 'lastNonce', ARGV[1])
return 1
