-- Publish a new version of a review's reply, with its statistics and its outgoing event.
-- KEYS[1] reply versions list, KEYS[2..4] stats counters (minute, hour, day),
-- KEYS[5] stats active-days set, KEYS[6] outbox hash, KEYS[7] the draft hash (optional)
-- ARGV[1] version record (JSON, without its number: the number is its place in the list),
-- ARGV[2] "1" if from a draft, ARGV[3] "1" if unedited, ARGV[4] edit ratio,
-- ARGV[5] minute ttl s, ARGV[6] hour ttl s, ARGV[7] day number, ARGV[8] review id
-- Returns the new version number, 0 when the named draft no longer exists, or minus the current
-- version's number when its text is the text sent: nothing is published again (a double click,
-- a retry), no version, no event, no count.
-- Sent again after a timeout (redis-py does, and the first may have run), the record is the
-- newest version already, to the microsecond of its published_at: answer as the first run did.
if redis.call('LINDEX', KEYS[1], -1) == ARGV[1] then
  return redis.call('LLEN', KEYS[1])
end
if #KEYS >= 7 and redis.call('EXISTS', KEYS[7]) == 0 then
  return 0
end
local current = redis.call('LINDEX', KEYS[1], -1)
if current and cjson.decode(current)['text'] == cjson.decode(ARGV[1])['text'] then
  return -redis.call('LLEN', KEYS[1])
end
local version = redis.call('RPUSH', KEYS[1], ARGV[1])
local ttls = {tonumber(ARGV[5]), tonumber(ARGV[6]), 0}
for i = 1, 3 do
  local counts = KEYS[1 + i]
  redis.call('HINCRBY', counts, 'pub:total', 1)
  if ARGV[2] == '1' then
    redis.call('HINCRBY', counts, 'pub:from_draft', 1)
    redis.call('HINCRBYFLOAT', counts, 'pub:edit_ratio_sum', ARGV[4])
    if ARGV[3] == '1' then
      redis.call('HINCRBY', counts, 'pub:unedited', 1)
    end
  end
  if ttls[i] > 0 then
    redis.call('EXPIRE', counts, ttls[i])
  end
end
redis.call('ZADD', KEYS[5], ARGV[7], ARGV[7])
-- The event is delivered to the stream after this script; the outbox keeps it until then, so a
-- failure in between loses nothing (the relay delivers it later).
redis.call('HSET', KEYS[6], ARGV[8] .. '/' .. version, ARGV[1])
if #KEYS >= 7 then
  redis.call('HSET', KEYS[7], 'status', 'published', 'published_version', version)
end
return version
