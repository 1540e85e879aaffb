-- Writes a new user's record and its sets, unless a record already holds the id.
-- KEYS: [1] the user's hash, [2] its permissions set, [3] its accounts set (one slot: the user's tag).
-- ARGV[1]: JSON {userName, email, emailVerified, passwordHash, locked, accountId, createdAt, language ('' for none),
--   permissions[], accounts[]}
--   (flags as '0'/'1', ids as strings).
-- Returns 1, or 0 when the id is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local u = cjson.decode(ARGV[1])
redis.call('HSET', KEYS[1], 'userName', u.userName, 'email', u.email, 'emailVerified', u.emailVerified,
  'passwordHash', u.passwordHash, 'locked', u.locked, 'accountId', u.accountId, 'omsId', '1', 'createdAt', u.createdAt,
  'language', u.language)
for _, permission in ipairs(u.permissions) do redis.call('SADD', KEYS[2], permission) end
for _, account in ipairs(u.accounts) do redis.call('SADD', KEYS[3], account) end
return 1
