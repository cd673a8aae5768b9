-- Record a failed attempt of a delivery that will be tried again: its record, when its next
-- attempt is due, and the endpoint's state.
-- KEYS[1] the delivery records hash, KEYS[2] the schedule hash, KEYS[3] endpoint hash
-- ARGV[1] webhook-id, ARGV[2] the record (JSON), ARGV[3] stream entry id, ARGV[4] next
-- attempt due (ms), ARGV[5..] endpoint field, value pairs
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if #ARGV > 4 then redis.call('HSET', KEYS[3], unpack(ARGV, 5)) end
return 1
