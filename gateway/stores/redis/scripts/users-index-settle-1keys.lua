-- Makes a unique index entry this creation claimed permanent (the claim was SET NX PX, a lease).
-- KEYS[1]: the index entry (user name or e-mail → UserId).
-- ARGV[1]: the UserId the claim holds.
-- Returns 1, or 0 when the entry no longer holds that id (the lease ran out and someone else claimed it).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PERSIST', KEYS[1])
return 1
