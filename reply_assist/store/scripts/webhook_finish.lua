-- Finish a delivery (delivered, given up, or dropped): it leaves the stream and its review's
-- order list in the same step as its record is written, so it is never sent again once
-- recorded, and the review's next delivery becomes the head.
-- KEYS[1] delivery stream, KEYS[2] the review's order list (any key of the endpoint when
-- none), KEYS[3] the delivery records hash, KEYS[4] the schedule hash, KEYS[5] endpoint hash
-- ARGV[1] consumer group, ARGV[2] stream entry id, ARGV[3] webhook-id, ARGV[4] the record
-- (JSON), ARGV[5] "1" when the delivery has an order list, ARGV[6..] endpoint field, value pairs
-- Returns the stream entry id of the review's next delivery, or false.
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
end
if #ARGV > 5 and redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('HSET', KEYS[5], unpack(ARGV, 6))
end
if ARGV[5] ~= '1' then return false end
redis.call('LREM', KEYS[2], 1, ARGV[2])
return redis.call('LINDEX', KEYS[2], 0)
