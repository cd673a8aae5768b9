-- Reserve one generation slot for a review, if the limit allows it.
-- KEYS[1] review hash (field "drafts": committed drafts)
-- KEYS[2] in-flight reservations: sorted set, member = token, score = expiry in ms
-- ARGV[1] token, ARGV[2] reservation ttl in ms, ARGV[3] limit
-- Returns {1, used} when reserved, {0, used} when the limit is reached (used counts in-flight).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Expired reservations belong to calls that died: they no longer count.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local committed = tonumber(redis.call('HGET', KEYS[1], 'drafts') or '0')
local used = committed + redis.call('ZCARD', KEYS[2])
if used >= tonumber(ARGV[3]) then
  return {0, used}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {1, used + 1}
