-- Record an agent's vote on a draft, replacing the agent's earlier vote, with the statistics.
-- KEYS[1] votes hash (field = agent id), KEYS[2..4] counters of the new vote's buckets
-- (minute, hour, day), KEYS[5] stats active-days set, KEYS[6..8] counters of the replaced vote's
-- buckets (only when one is replaced)
-- ARGV[1] agent id, ARGV[2] the vote record the caller read ("" if none): compare-and-set,
-- ARGV[3] new record (JSON), ARGV[4] vote, ARGV[5] reason ("" if none), ARGV[6] language,
-- ARGV[7] prompt version, ARGV[8] old vote, ARGV[9] old reason, ARGV[10] minute ttl s,
-- ARGV[11] hour ttl s, ARGV[12] day number, ARGV[13] the draft's origin (request or rule),
-- ARGV[14] the draft's reviewer country ("" none)
-- Returns 1, or 0 when the stored vote changed since the caller read it (read again, retry).
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then
  return 0
end
-- Each count again under "L:<language>:" for the stats' language filter; the reasons of
-- thumbs down also under "dreason:".
local by_lang = 'L:' .. ARGV[6] .. ':'
-- #include by_country
local function count(keys_from, vote, reason, by)
  for i = keys_from, keys_from + 2 do
    redis.call('HINCRBY', KEYS[i], vote, by)
    redis.call('HINCRBY', KEYS[i], 'lang:' .. ARGV[6] .. ':' .. vote, by)
    redis.call('HINCRBY', KEYS[i], 'pv:' .. ARGV[7] .. ':' .. vote, by)
    redis.call('HINCRBY', KEYS[i], by_lang .. vote, by)
    redis.call('HINCRBY', KEYS[i], by_lang .. 'pv:' .. ARGV[7] .. ':' .. vote, by)
    redis.call('HINCRBY', KEYS[i], 'o:' .. ARGV[13] .. ':' .. vote, by)
    redis.call('HINCRBY', KEYS[i], by_lang .. 'o:' .. ARGV[13] .. ':' .. vote, by)
    if reason ~= '' then
      redis.call('HINCRBY', KEYS[i], 'reason:' .. reason, by)
      redis.call('HINCRBY', KEYS[i], by_lang .. 'reason:' .. reason, by)
      if vote == 'down' then
        redis.call('HINCRBY', KEYS[i], 'dreason:' .. reason, by)
        redis.call('HINCRBY', KEYS[i], by_lang .. 'dreason:' .. reason, by)
      end
    end
    -- Markets: the same counts by the reviewer's country, when it is known.
    if ARGV[14] ~= '' then
      local fields = {vote, 'pv:' .. ARGV[7] .. ':' .. vote, 'o:' .. ARGV[13] .. ':' .. vote}
      if reason ~= '' then
        fields[#fields + 1] = 'reason:' .. reason
        if vote == 'down' then
          fields[#fields + 1] = 'dreason:' .. reason
        end
      end
      count_by_country(KEYS[i], ARGV[14], ARGV[6], fields, by)
    end
  end
end
if ARGV[2] ~= '' then
  count(6, ARGV[8], ARGV[9], -1)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
count(2, ARGV[4], ARGV[5], 1)
local ttls = {tonumber(ARGV[10]), tonumber(ARGV[11])}
for i = 1, 2 do
  redis.call('EXPIRE', KEYS[1 + i], ttls[i])
end
redis.call('ZADD', KEYS[5], ARGV[12], ARGV[12])
return 1
