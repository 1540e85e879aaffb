-- Deletes an API key and its index entry.
-- KEYS: [1] the key's hash, [2] the user's set of APIKeys.
-- ARGV[1]: the APIKey.
-- Returns 1 when the key existed, else 0.
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
