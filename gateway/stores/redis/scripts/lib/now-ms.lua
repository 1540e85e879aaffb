-- Fragment: `now`, Redis's own clock in ms (every gateway on the Redis schedules on the same clock).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
