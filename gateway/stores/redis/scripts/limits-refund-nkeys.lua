-- Gives back one hit on each key; a count that reaches zero (or a key already gone) leaves no key behind.
-- KEYS: the limits' counters, all in one slot.
-- ARGV: none.
-- Returns 1.
for i = 1, #KEYS do
  if redis.call('DECR', KEYS[i]) <= 0 then redis.call('DEL', KEYS[i]) end
end
return 1
