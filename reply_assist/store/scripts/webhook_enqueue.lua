-- Queue one event for one webhook endpoint, at most once (a relay that queues it again after
-- a failure queues nothing), and only when the endpoint still exists, is not disabled and
-- wants this type of event.
-- KEYS[1] endpoint hash, KEYS[2] its delivery stream, KEYS[3] the event's "seen" marker,
-- KEYS[4] the review's order list (any key of the endpoint when the event has no review),
-- KEYS[5] the delivery records hash, KEYS[6] the records' sorted set
-- ARGV[1] event type, ARGV[2] webhook-id, ARGV[3] body, ARGV[4] order key ("" none),
-- ARGV[5] now (ms), ARGV[6] how long the marker is kept (s), ARGV[7] records kept,
-- ARGV[8] the event's company, ARGV[9] the delivery's first record (JSON)
-- Returns 1 when queued, 0 when not.
local endpoint = redis.call('HMGET', KEYS[1], 'events', 'company', 'disabled_since')
if not endpoint[1] then return 0 end
if endpoint[3] and endpoint[3] ~= '' then return 0 end
if endpoint[2] ~= '' and endpoint[2] ~= ARGV[8] then return 0 end
if not string.find(' ' .. endpoint[1] .. ' ', ' ' .. ARGV[1] .. ' ', 1, true) then return 0 end
if not redis.call('SET', KEYS[3], '1', 'NX', 'EX', tonumber(ARGV[6])) then return 0 end
local entry = redis.call('XADD', KEYS[2], '*', 'm', ARGV[2], 't', ARGV[1], 'b', ARGV[3],
  'o', ARGV[4], 'c', ARGV[8])
if ARGV[4] ~= '' then
  redis.call('RPUSH', KEYS[4], entry)
  -- An endpoint deleted while deliveries waited leaves its lists behind: they expire.
  redis.call('EXPIRE', KEYS[4], tonumber(ARGV[6]))
end
redis.call('HSET', KEYS[5], ARGV[2], ARGV[9])
redis.call('ZADD', KEYS[6], tonumber(ARGV[5]), ARGV[2])
local kept = tonumber(ARGV[7])
local over = redis.call('ZCARD', KEYS[6]) - kept
if over > 0 then
  local old = redis.call('ZRANGE', KEYS[6], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[6], 0, over - 1)
  redis.call('HDEL', KEYS[5], unpack(old))
end
return 1
