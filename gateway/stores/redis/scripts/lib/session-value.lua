-- Fragment: sessionUser(value) reads a session key's value, `<UserId>:<ends at, Redis ms>` (the absolute
-- lifetime) or `<UserId>` for none; returns the UserId and the end (or nil), or nil for a revoked session's
-- tombstone (`revoked`, see sessions.ts).
local function sessionUser(value)
  local userId, endsAt = string.match(value, '^(%d+):(%d+)$')
  if userId then return userId, tonumber(endsAt) end
  if string.match(value, '^%d+$') then return value, nil end
  return nil, nil
end
