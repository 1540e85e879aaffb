-- Creates an API key and its index entry together.
-- KEYS: [1] the key's hash, [2] the user's set of APIKeys (one slot: the user's tag).
-- ARGV: [1] the secret, [2] the APIKey.
-- Returns 1.
redis.call('HSET', KEYS[1], 'secret', ARGV[1], 'lastNonce', '0')
redis.call('SADD', KEYS[2], ARGV[2])
return 1
