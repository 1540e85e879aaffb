-- Gives back a unique index entry this creation claimed, if it still holds the claim.
-- KEYS[1]: the index entry.
-- ARGV[1]: the UserId the claim holds.
-- Returns 1 when released, else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
