"""The Lua scripts: each coordination step is one atomic script on the Redis server, timed
by Redis's own clock (TIME), so the nodes' clocks never matter.

Keys are passed as KEYS (one Redis, or Sentinel; not Redis Cluster: the keys of one
step live in different hash slots)."""

from __future__ import annotations

# KEYS: owner, fence. ARGV: node id, ttl ms. -> {1, value} taken | {0, holder's value}
TAKE = """
local current = redis.call('GET', KEYS[1])
if current then return {0, current} end
local fence = redis.call('INCR', KEYS[2])
local value = ARGV[1] .. '|' .. fence
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value}
"""

# KEYS: owner, fence. ARGV: our value, ttl ms, our fence.
# -> 1 renewed | 2 taken again (Redis had lost it and nobody took it since) | 0 lost
RENEW = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
local ours = tonumber(ARGV[3])
if fence > ours then return 0 end
if fence < ours then redis.call('SET', KEYS[2], ours) end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 2
"""

# KEYS: owner. ARGV: our value. -> 1 released | 0 not ours
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# KEYS: owner, in-call key of the number, then one semaphore per limit.
# ARGV: owner value (the fencing check), attempt id, ttl ms, then each limit.
# -> {1, 'ok'} | {0, 'not_owner'} | {0, 'number_in_call'} | {0, 'full', key}
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, 'not_owner'} end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[2] then return {0, 'number_in_call'} end
for i = 3, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZSCORE', KEYS[i], ARGV[2]) == false
      and redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[i + 1]) then
    return {0, 'full', KEYS[i]}
  end
end
local expiry = now + tonumber(ARGV[3])
for i = 3, #KEYS do redis.call('ZADD', KEYS[i], expiry, ARGV[2]) end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return {1, 'ok'}
"""

# A call this node has up (placed, or adopted after a takeover): its entries live on
# (made again if Redis lost them), whatever the limits say: the call exists.
# KEYS: in-call key, then the semaphores. ARGV: attempt id, ttl ms.
REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], now + tonumber(ARGV[2]), ARGV[1]) end
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"""

# KEYS: in-call key, then the semaphores. ARGV: attempt id.
FREE = """
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: the semaphore. -> entries still alive (expired ones dropped first)
COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""

# KEYS: epoch. ARGV: a new epoch value. -> the epoch of this Redis life
EPOCH = """
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])
"""
