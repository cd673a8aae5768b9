-- Store a generated draft and turn its reservation into a counted generation, atomically.
-- KEYS[1] review hash, KEYS[2] in-flight set, KEYS[3] draft id list, KEYS[4] draft hash,
-- KEYS[5..7] stats counters (minute, hour, day), KEYS[8..10] stats review HLLs (same buckets),
-- KEYS[11] stats active-days set, KEYS[12..14] the draft language's review HLLs (same buckets),
-- KEYS[15] idempotency record (only with a fingerprint), then with a country (ARGV[16]) the
-- country's review HLLs (minute, hour, day) and the language's and country's (same buckets),
-- then the review's 4 ready sets (only when it is indexed, ARGV[18]), then the company's usage,
-- this month's usage and its drafts held (lib/usage.lua; ARGV[19]), then the job stream (only
-- with a job)
-- ARGV[1] token, ARGV[2] limit, ARGV[3] review id, ARGV[4] language, ARGV[5] prompt version,
-- ARGV[6] minute ttl s, ARGV[7] hour ttl s, ARGV[8] day number, ARGV[9] draft id,
-- ARGV[10] draft data (JSON), ARGV[11] idempotency ttl s, ARGV[12] idempotency fingerprint
-- ("" without a key), ARGV[13] origin ("request" or "rule"), ARGV[14] the draft-rules job's
-- stream entry id ("" for none; then KEYS[#KEYS] is the job stream), ARGV[15] its group,
-- ARGV[16] the reviewer's country ("" none),
-- ARGV[17] the review's list index entry ("ix") as the caller read it ("" not indexed):
-- compare-and-set, ARGV[18] where its 4 ready sets are in KEYS (0 when not indexed; after the
-- country's keys, before the job stream)
-- ARGV[19] where the 3 usage keys are in KEYS, ARGV[20] the model, ARGV[21] prompt tokens,
-- ARGV[22] completion tokens, ARGV[23] cached prompt tokens, ARGV[24] "1" when the reservation
-- holds a draft of the month
-- Returns {1, generation, generations_left, drafts left this month (-1: unlimited), usage.low
-- crossed 1/0, usage.exhausted crossed 1/0} or {0, used} when the limit no longer allows it,
-- or {5} when the month has no draft left (the hold expired and others took the last ones),
-- or {2} when the review already has its rule draft (a job run twice: nothing is stored), or
-- {4, current ix} when the review moved in the list since the caller read it (nothing is
-- stored: it names the ready sets again and retries).
-- A draft for an indexed review that needs a reply puts it in its ready sets ("Draft ready",
-- store/review_index.py), in the same step.
-- A job's draft finishes the job in the same step: it leaves the stream (XACK, XDEL) and the
-- review records its rule draft, so a job is done exactly when its draft exists.
-- Run twice for one draft (redis-py sends a command again after a timeout, and the first may
-- have run), it answers as the first run did and counts nothing again.
-- #include by_country
-- #include usage
if redis.call('EXISTS', KEYS[4]) == 1 then
  local done = redis.call('HMGET', KEYS[4], 'generation', 'generations_left')
  return {1, tonumber(done[1]), tonumber(done[2])}
end
local origin = ARGV[13]
local job = ARGV[14] or ''
local function finish_job()
  if job ~= '' then
    redis.call('XACK', KEYS[#KEYS], ARGV[15], job)
    redis.call('XDEL', KEYS[#KEYS], job)
  end
end
if origin == 'rule' and string.sub(redis.call('HGET', KEYS[1], 'rule') or '', 1, 2) == 'd:' then
  finish_job()
  return {2}
end
local ix = ARGV[17] or ''
local ix_now = redis.call('HGET', KEYS[1], 'ix') or ''
if ix_now ~= ix then
  return {4, ix_now}
end
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  -- The reservation expired before the model answered (and may have been given to another
  -- call): count again, so that the limit holds even then.
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  local used = tonumber(redis.call('HGET', KEYS[1], 'drafts') or '0') + redis.call('ZCARD', KEYS[2])
  if used >= limit then
    return {0, used}
  end
end
-- The month's drafts: from the allowance first, then from the bought ones. A company without
-- an allowance reads one field here and holds nothing.
local uk = tonumber(ARGV[19])
local usage_key, month_key, held_key = KEYS[uk], KEYS[uk + 1], KEYS[uk + 2]
local settings = redis.call('HMGET', usage_key, 'allowance', 'alert_at', 'credits')
local drafts_left, low, exhausted = -1, 0, 0
if settings[1] then
  local allowance = tonumber(settings[1])
  local used = tonumber(redis.call('HGET', month_key, 'a') or '0')
  local credits = tonumber(settings[3] or '0')
  local free = allowance - used
  if free < 0 then free = 0 end
  if ARGV[24] ~= '1' or redis.call('ZREM', held_key, ARGV[1]) == 0 then
    -- The hold expired (or the allowance was set meanwhile): count again, so that the month's
    -- drafts hold even then.
    redis.call('ZREMRANGEBYSCORE', held_key, '-inf', now)
    if free + credits - redis.call('ZCARD', held_key) <= 0 then
      return {5}
    end
  end
  if free > 0 or credits <= 0 then
    redis.call('HINCRBY', month_key, 'a', 1)
    if free > 0 then free = free - 1 end
  else
    redis.call('HINCRBY', month_key, 'c', 1)
    credits = redis.call('HINCRBY', usage_key, 'credits', -1)
  end
  drafts_left = free + credits
  -- Each alert once a month: the field says it was sent.
  if settings[2] and drafts_left <= tonumber(settings[2])
      and redis.call('HSETNX', month_key, 'low', 1) == 1 then
    low = 1
  end
  if drafts_left <= 0 and redis.call('HSETNX', month_key, 'exhausted', 1) == 1 then
    exhausted = 1
  end
end
redis.call('HINCRBY', month_key, 'o:' .. origin, 1)
redis.call('HINCRBY', month_key, 'p:' .. ARGV[20], ARGV[21])
redis.call('HINCRBY', month_key, 'k:' .. ARGV[20], ARGV[22])
if ARGV[23] ~= '0' then
  redis.call('HINCRBY', month_key, 'cp:' .. ARGV[20], ARGV[23])
end
local generation = redis.call('HINCRBY', KEYS[1], 'drafts', 1)
local left = limit - generation - redis.call('ZCARD', KEYS[2])
if left < 0 then left = 0 end
redis.call('HSET', KEYS[4], 'data', ARGV[10], 'generation', generation,
  'generations_left', left, 'status', 'draft')
redis.call('LPUSH', KEYS[3], ARGV[9])
local ttls = {tonumber(ARGV[6]), tonumber(ARGV[7]), 0}
for i = 1, 3 do
  local counts = KEYS[4 + i]
  redis.call('HINCRBY', counts, 'drafts', 1)
  redis.call('HINCRBY', counts, 'lang:' .. ARGV[4] .. ':drafts', 1)
  redis.call('HINCRBY', counts, 'pv:' .. ARGV[5] .. ':drafts', 1)
  redis.call('HINCRBY', counts, 'o:' .. origin .. ':drafts', 1)
  redis.call('PFADD', KEYS[7 + i], ARGV[3])
  -- By generation number (services/stats.py turns these into reviews per number of drafts),
  -- and every count again under "L:<language>:" for the stats' language filter.
  local by_lang = 'L:' .. ARGV[4] .. ':'
  redis.call('HINCRBY', counts, 'gen:' .. generation, 1)
  redis.call('HINCRBY', counts, by_lang .. 'drafts', 1)
  redis.call('HINCRBY', counts, by_lang .. 'pv:' .. ARGV[5] .. ':drafts', 1)
  redis.call('HINCRBY', counts, by_lang .. 'gen:' .. generation, 1)
  redis.call('HINCRBY', counts, by_lang .. 'o:' .. origin .. ':drafts', 1)
  redis.call('PFADD', KEYS[11 + i], ARGV[3])
  if ttls[i] > 0 then
    redis.call('EXPIRE', counts, ttls[i])
    redis.call('EXPIRE', KEYS[7 + i], ttls[i])
    redis.call('EXPIRE', KEYS[11 + i], ttls[i])
  end
end
-- Markets: the same counts by the reviewer's country, when it is known (lib/by_country.lua).
if ARGV[16] ~= '' then
  local fields = {'drafts', 'pv:' .. ARGV[5] .. ':drafts', 'gen:' .. generation,
    'o:' .. origin .. ':drafts'}
  local first_country_key = ARGV[12] ~= '' and 16 or 15  -- after the idempotency record, if any
  for i = 1, 3 do
    count_by_country(KEYS[4 + i], ARGV[16], ARGV[4], fields, 1)
    local reviews = {KEYS[first_country_key - 1 + i], KEYS[first_country_key + 2 + i]}
    for _, hll in ipairs(reviews) do
      redis.call('PFADD', hll, ARGV[3])
      if ttls[i] > 0 then
        redis.call('EXPIRE', hll, ttls[i])
      end
    end
  end
end
redis.call('ZADD', KEYS[11], ARGV[8], ARGV[8])
if origin == 'rule' then
  redis.call('HSET', KEYS[1], 'rule', 'd:' .. ARGV[9])
end
finish_job()
if string.sub(ix, 1, 2) == 'n|' then
  local member = string.match(ix, '^[^|]*|[^|]*|[^|]*|(.*)$')
  local ready_at = tonumber(ARGV[18])
  for i = ready_at, ready_at + 3 do
    redis.call('ZADD', KEYS[i], 0, member)
  end
end
if ARGV[12] ~= '' then
  redis.call('HSET', KEYS[15], 'state', 'done', 'fingerprint', ARGV[12], 'draft_id', ARGV[9],
    'data', ARGV[10], 'generation', generation, 'generations_left', left)
  redis.call('EXPIRE', KEYS[15], ARGV[11])
end
return {1, generation, left, drafts_left, low, exhausted}
