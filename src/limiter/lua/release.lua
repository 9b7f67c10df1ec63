-- The answer came: the lease now ends one window (plus margin) from now, never later than it was.
-- A lease already gone (Redis restarted, or it expired) is not brought back.
-- KEYS: 1 slots. ARGV: 1 lease id, 2 window ms (window + margin), 3 how long ago the answer
-- came, in microseconds (a duration on the process's monotonic clock: the release's own trip).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local answered = now - tonumber(ARGV[3]) / 1000
return redis.call('ZADD', KEYS[1], 'XX', 'LT', 'CH', answered + tonumber(ARGV[2]), ARGV[1])
