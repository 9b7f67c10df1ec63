-- One step of waiting for a slot, atomic on the server. Redis's clock decides.
-- KEYS: 1 slots (ZSET lease -> expiry ms), 2 queue (ZSET ticket -> arrival number),
--       3 heartbeats (ZSET ticket -> expiry ms), 4 ticket counter, 5 token guard,
--       6 epoch, 7 warm-up
-- ARGV: 1 ticket, 2 limit, 3 window ms (window + margin), 4 lease ms (window + margin +
--       attempt timeout), 5 heartbeat ms, 6 epoch this process knew ('' if none),
--       7 new epoch id, 8 guard op ('set', 'clear' or ''), 9 '1' to start a warm-up, 10 lease id
-- Returns {status, wait in microseconds, epoch, rank in the queue}: status 1 granted, 0 wait, 2 token rejected, 3 warm-up.
local t = redis.call('TIME')
-- Milliseconds, with their fraction: a slot's wait is not rounded away.
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local ticket = ARGV[1]
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local keep = lease * 2

local function leave()
  redis.call('ZREM', KEYS[2], ticket)
  redis.call('ZREM', KEYS[3], ticket)
end

if ARGV[8] == 'clear' then
  redis.call('DEL', KEYS[5])
elseif ARGV[8] == 'set' then
  redis.call('SET', KEYS[5], '1')
end

-- The epoch tells a process that remembers one whether Redis lost its counts.
local epoch = redis.call('GET', KEYS[6])
if not epoch then
  epoch = ARGV[7] .. ':' .. string.format('%d', math.floor(now))
  redis.call('SET', KEYS[6], epoch)
  if ARGV[6] ~= '' then
    redis.call('SET', KEYS[7], '1', 'PX', lease)
  end
elseif ARGV[6] ~= '' and ARGV[6] ~= epoch then
  -- Someone who remembered nothing recreated the epoch: warm up what is left of a lease from then.
  local created = tonumber(string.match(epoch, ':(%d+)$'))
  if created and created + lease > now then
    redis.call('SET', KEYS[7], '1', 'PX', math.floor(created + lease - now), 'NX')
  end
end
redis.call('PEXPIRE', KEYS[6], keep)
if ARGV[9] == '1' then
  redis.call('SET', KEYS[7], '1', 'PX', lease, 'NX')
end

if redis.call('EXISTS', KEYS[5]) == 1 then
  leave()
  return {2, 0, epoch, 0}
end

-- Expired leases free their slots; waiters that stopped beating leave the queue.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)
for _, d in ipairs(dead) do
  redis.call('ZREM', KEYS[2], d)
  redis.call('ZREM', KEYS[3], d)
end
if not redis.call('ZSCORE', KEYS[2], ticket) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ticket)
end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), ticket)
for i = 2, 4 do
  redis.call('PEXPIRE', KEYS[i], keep)
end

local warm = redis.call('PTTL', KEYS[7])
if warm > 0 then
  return {3, warm * 1000, epoch, 0}
end

-- Arrival order: a waiter takes a slot only if enough are free for every waiter ahead of it too.
local count = redis.call('ZCARD', KEYS[1])
local rank = redis.call('ZRANK', KEYS[2], ticket)
if count + rank < limit then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[10])
  redis.call('PEXPIRE', KEYS[1], keep)
  leave()
  return {1, 0, epoch, rank}
end
-- The earliest this waiter can get a slot: when the (count - limit + rank + 1)-th lease
-- expires, or a window from now, since a lease still in flight is shortened to no less than
-- that when its answer comes, and one not taken yet ends later still.
local index = count - limit + rank
local free_at = now + window
if index < count then
  local nth = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  free_at = math.min(tonumber(nth[2]), now + window)
end
return {0, math.max(math.ceil((free_at - now) * 1000), 1), epoch, rank}
