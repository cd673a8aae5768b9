-- Read what a generate call needs and reserve one generation slot for the review, if the limit
-- allows it: one round trip for both. The caller checks the product's rules on what comes back
-- and gives the slot back (release.lua) when a rule refuses the call.
-- KEYS[1] company (JSON string)
-- KEYS[2] review hash (field "json": the review; field "drafts": committed drafts)
-- KEYS[3] in-flight reservations: sorted set, member = token, score = expiry in ms
-- ARGV[1] token, ARGV[2] reservation ttl in ms, ARGV[3] limit
-- Returns {company or false, review hash as a flat list, reserved 1/0, used}; nothing is reserved
-- for a company or review that does not exist. used counts the slots in flight, this one included.
local company = redis.call('GET', KEYS[1])
local review = redis.call('HGETALL', KEYS[2])
if not company or redis.call('HEXISTS', KEYS[2], 'json') == 0 then
  return {company, review, 0, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- Expired reservations belong to calls that died: they no longer count.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local committed = tonumber(redis.call('HGET', KEYS[2], 'drafts') or '0')
local used = committed + redis.call('ZCARD', KEYS[3])
-- Sent again after a timeout (the first run may have reserved): the slot is already ours.
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  return {company, review, 1, used}
end
if used >= tonumber(ARGV[3]) then
  return {company, review, 0, used}
end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return {company, review, 1, used + 1}
