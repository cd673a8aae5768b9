-- Resolve an API key that names its company, count the call against the key's rate limit and,
-- for a generate call, read the company and the review and reserve a generation slot: the one
-- round trip a generate call makes before the model. Every key is under the company's hash tag.
-- KEYS[1] the company's key lookups (hash: token hash -> lookup JSON)
-- KEYS[2] this minute's counter of the key, KEYS[3] the previous minute's
-- for a generate call also (lib/reserve.lua, as load_and_reserve.lua): KEYS[4] company, KEYS[5] review hash,
-- KEYS[6] in-flight reservations, KEYS[7..9] the company's usage, this month's, drafts held
-- ARGV[1] token hash, ARGV[2] the rate limit a minute (0: off), ARGV[3] the weight of the
-- previous minute's count (the sliding window, see ratelimit.py)
-- for a generate call also: ARGV[4] roles that may generate (space-separated), ARGV[5] the
-- reservation token, ARGV[6] reservation ttl in ms, ARGV[7] the limit of drafts
-- Returns false for an unknown key (which counts nothing), else
-- {lookup, this minute, previous minute} and, for a generate call, then
-- {company or false, review hash as a flat list, reserved 1/0, used, quota}. Nothing is reserved for a
-- key over its rate limit or whose role may not generate: their calls are refused anyway.
-- #include reserve
local lookup = redis.call('HGET', KEYS[1], ARGV[1])
if not lookup then
  return false
end
local current, previous = 0, 0
local limit = tonumber(ARGV[2])
if limit > 0 then
  current = redis.call('INCR', KEYS[2])
  if current == 1 then
    redis.call('EXPIRE', KEYS[2], 120)
  end
  previous = tonumber(redis.call('GET', KEYS[3]) or '0')
end
if #KEYS == 3 then
  return {lookup, current, previous}
end
local role = cjson.decode(lookup)['role']
local over = limit > 0 and previous * tonumber(ARGV[3]) + current > limit
if over or not string.find(' ' .. ARGV[4] .. ' ', ' ' .. role .. ' ', 1, true) then
  return {lookup, current, previous, false, {}, 0, 0, 0}
end
return {lookup, current, previous,
  reserve(KEYS[4], KEYS[5], KEYS[6], ARGV[5], ARGV[6], ARGV[7], KEYS[7], KEYS[8], KEYS[9])}
