-- Withdraws a code whose mail could not be queued, if it is still the live one (a later request's stays).
-- KEYS[1]: the user's code.
-- ARGV[1]: the code's SHA-256 hex.
-- Returns 1 when withdrawn, else 0.
if redis.call('HGET', KEYS[1], 'h') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
