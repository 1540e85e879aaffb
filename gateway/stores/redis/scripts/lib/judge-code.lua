-- Fragment: judgeCode(key, hash, maxWrong, from) judges a code against the user's live one: 'none' (no live
-- code), 'right', or 'wrong' (counted for the address `from`; an address with maxWrong wrong tries is answered
-- 'wrong' whatever it sends, and the code stays live for the others). Plain string equality is not constant
-- time, but it compares SHA-256 digests: how many leading digits of a guess's digest match tells nothing.
-- TypeScript twin: gateway/stores/memory/memory-reset-store.ts (consumeCode); the reset-store contract keeps them equal.
local function judgeCode(key, hash, maxWrong, from)
  local stored = redis.call('HGET', key, 'h')
  if not stored then return 'none' end
  local tries = 'w:' .. from
  if tonumber(redis.call('HGET', key, tries) or '0') >= tonumber(maxWrong) then return 'wrong' end
  if stored == hash then return 'right' end
  redis.call('HINCRBY', key, tries, 1)
  return 'wrong'
end
