-- Publish a new version of a review's reply, with its statistics and its outgoing event.
-- KEYS[1] reply versions list, KEYS[2..4] stats counters (minute, hour, day),
-- KEYS[5] stats active-days set, KEYS[6] outbox hash, KEYS[7] the draft hash (when from one),
-- then the review hash and, when it is indexed, its 4 needs-reply and 4 replied list sets,
-- then its 4 ready sets ("Draft ready": the first reply takes it out of them)
-- ARGV[1] version record (JSON, without its number: the number is its place in the list),
-- ARGV[2] "1" if from a draft, ARGV[3] "1" if unedited, ARGV[4] edit ratio,
-- ARGV[5] minute ttl s, ARGV[6] hour ttl s, ARGV[7] day number, ARGV[8] review id,
-- ARGV[9] the review's list index entry ("ix") as the caller read it, ARGV[10] the same as
-- replied, ARGV[11] its index member, ARGV[12] the language to count it under ("" none),
-- ARGV[13] its edit ratio's histogram bucket (services/stats.py; "" when not from a draft),
-- ARGV[14] the reviewer's country to count it under ("" none)
-- A draft counts once in the statistics: only its first publish adds to from_draft, unedited
-- and the edit ratio; a later publish naming the same draft (an update) adds to total only.
-- That first publish also keeps the published text as the draft's text (its edit, when it
-- differs from the generated one): a published draft is frozen as it went out.
-- Returns the new version number; 0 when the named draft no longer exists; minus the current
-- version's number when its text is the text sent: nothing is published again (a double click,
-- a retry), no version, no event, no count; or "moved" when the review moved in the list since
-- the caller read it (it reads "ix" again and retries).
-- Sent again after a timeout (redis-py does, and the first may have run), the record is the
-- newest version already, to the microsecond of its published_at: answer as the first run did.
if redis.call('LINDEX', KEYS[1], -1) == ARGV[1] then
  return redis.call('LLEN', KEYS[1])
end
-- The reply desk's list (store/review_index.py): the sets named here derive from "ix".
local ix_at = ARGV[2] == '1' and 8 or 7
if (redis.call('HGET', KEYS[ix_at], 'ix') or '') ~= ARGV[9] then
  return 'moved'
end
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[7]) == 0 then
  return 0
end
local current = redis.call('LINDEX', KEYS[1], -1)
if current and cjson.decode(current)['text'] == cjson.decode(ARGV[1])['text'] then
  return -redis.call('LLEN', KEYS[1])
end
local first_of_draft = ARGV[2] == '1' and redis.call('HGET', KEYS[7], 'status') ~= 'published'
local version = redis.call('RPUSH', KEYS[1], ARGV[1])
local ttls = {tonumber(ARGV[5]), tonumber(ARGV[6]), 0}
-- Each count also under "L:<language>:", for the stats' language filter.
local prefixes = {''}
if ARGV[12] ~= '' then prefixes[2] = 'L:' .. ARGV[12] .. ':' end
-- And under "C:<country>:" and "L:<language>:C:<country>:" (lib/by_country.lua says why).
if ARGV[14] ~= '' then
  prefixes[#prefixes + 1] = 'C:' .. ARGV[14] .. ':'
  if ARGV[12] ~= '' then prefixes[#prefixes + 1] = 'L:' .. ARGV[12] .. ':C:' .. ARGV[14] .. ':' end
end
for i = 1, 3 do
  local counts = KEYS[1 + i]
  for _, p in ipairs(prefixes) do
    redis.call('HINCRBY', counts, p .. 'pub:total', 1)
    if first_of_draft then
      redis.call('HINCRBY', counts, p .. 'pub:from_draft', 1)
      redis.call('HINCRBYFLOAT', counts, p .. 'pub:edit_ratio_sum', ARGV[4])
      redis.call('HINCRBY', counts, p .. 'pub:er:' .. ARGV[13], 1)
      if ARGV[3] == '1' then
        redis.call('HINCRBY', counts, p .. 'pub:unedited', 1)
      end
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
if first_of_draft then
  local published = cjson.decode(ARGV[1])
  local kept = redis.call('HGET', KEYS[7], 'edited_text')
  if kept == false then kept = cjson.decode(redis.call('HGET', KEYS[7], 'data'))['text'] end
  if kept ~= published['text'] then
    redis.call('HSET', KEYS[7], 'edited_text', published['text'], 'edited_by',
      published['agent_id'], 'edited_at', published['published_at'])
  end
end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[7], 'status', 'published', 'published_version', version)
end
if ARGV[9] ~= '' then  -- from needs-reply to replied (again on an update: changes nothing)
  for i = 1, 4 do
    redis.call('ZREM', KEYS[ix_at + i], ARGV[11])
    redis.call('ZADD', KEYS[ix_at + 4 + i], 0, ARGV[11])
    redis.call('ZREM', KEYS[ix_at + 8 + i], ARGV[11])
  end
  redis.call('HSET', KEYS[ix_at], 'ix', ARGV[10])
end
return version
