-- ResetPassword's look at its target, in the target's slot: who it is, and whether the caller may reach it. A
-- target nobody is runs the same commands on its decoy keys (no enumeration by timing).
-- KEYS: [1] the user's hash, [2] its accounts set (the user's tag; or the decoy's pair for a name nobody has).
-- ARGV[1]: JSON {self: the scoped caller's UserId as a string ('' when any user is in reach), accounts: the
--   scoped caller's AccountIds as strings, id: the target's UserId as a string ('' for nobody)}.
-- Returns {'1' or '0' (a user), userName, email, locked '1'/'0', in reach '1'/'0', language ('' for none)}.
-- TypeScript twin of the reach rule: inReach in core/reach.ts (the embedded flow in core/reset-flow.ts uses it;
-- the reset-flow contract keeps the two equal).
local a = cjson.decode(ARGV[1])
local fields = redis.call('HMGET', KEYS[1], 'userName', 'email', 'locked', 'language')
local known = fields[1] and a.id ~= ''
local inReach = true
if a.self ~= '' then
  inReach = known and a.id == a.self
  if known and not inReach then
    for _, account in ipairs(a.accounts) do
      if redis.call('SISMEMBER', KEYS[2], account) == 1 then
        inReach = true
        break
      end
    end
  end
end
local function flag(value) if value then return '1' end return '0' end
return { flag(known), fields[1] or '', fields[2] or '', fields[3] or '0', flag(inReach), fields[4] or '' }
