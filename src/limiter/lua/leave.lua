-- A waiter gives up (its deadline): it leaves the queue. KEYS: 1 queue, 2 heartbeats. ARGV: 1 ticket.
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZREM', KEYS[2], ARGV[1])
