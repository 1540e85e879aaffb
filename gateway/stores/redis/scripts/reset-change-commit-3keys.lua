-- ResetPassword2's final step, in the user's slot: uses the code and sets the new password hash, but only once
-- every session in the user's index has been ended (the caller ended `ended` before this call); a login that
-- slipped in since answers 'again' with the ids left to end. This step makes the change final: of concurrent
-- changes with the right code exactly one gets 'changed'.
-- KEYS: [1] the user's code, [2] the user's hash, [3] the user's session index (the user's tag).
-- ARGV[1]: JSON {codeHash, maxWrongTries, from, passwordHash, ended: session ids already ended, force: true to
--   change even with sessions left (handed back to end afterwards)}.
-- Returns {'changed', ids left to end} or {'again', ids left to end} or {'wrong' | 'none', {}}.
--!include lib/judge-code.lua
local a = cjson.decode(ARGV[1])
local verdict = judgeCode(KEYS[1], a.codeHash, a.maxWrongTries, a.from)
if verdict ~= 'right' then return { verdict, {} } end
local ended = {}
for _, id in ipairs(a.ended) do ended[id] = true end
local left = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if not ended[id] then table.insert(left, id) end
end
if #left > 0 and not a.force then return { 'again', left } end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 0 then return { 'none', {} } end
redis.call('HSET', KEYS[2], 'passwordHash', a.passwordHash)
redis.call('DEL', KEYS[3])
return { 'changed', left }
