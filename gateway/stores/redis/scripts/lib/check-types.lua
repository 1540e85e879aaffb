-- Fragment: checkTypes(keys, types) fails the script unless each key is absent or of its type. The writing
-- scripts check first, so a script error leaves nothing half written (Redis does not roll back earlier writes).
local function checkTypes(keys, types)
  for i, key in ipairs(keys) do
    local kind = redis.call('TYPE', key).ok
    if kind ~= 'none' and kind ~= types[i] then
      return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. kind)
    end
  end
  return nil
end
