-- The answer came: the lease now ends one window (plus margin) from now, never later than it was.
-- A lease already gone (Redis restarted, or it expired) is not brought back.
-- KEYS: 1 slots. ARGV: 1 lease id, 2 window ms (window + margin).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', 'LT', 'CH', now + tonumber(ARGV[2]), ARGV[1])
