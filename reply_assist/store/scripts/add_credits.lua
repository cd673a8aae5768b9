-- Add bought drafts to a company once per reference (services/usage.py): the same reference
-- sent twice adds once, so a retried purchase never doubles.
-- KEYS[1] the company's usage (hash, field "credits"), KEYS[2] references seen (hash:
-- reference -> JSON record)
-- ARGV[1] reference, ARGV[2] drafts, ARGV[3] the record (JSON)
-- Returns {1 added / 0 seen before, credits left, the first record (JSON)}.
local first = redis.call('HGET', KEYS[2], ARGV[1])
if first then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'credits') or '0'), first}
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return {1, redis.call('HINCRBY', KEYS[1], 'credits', ARGV[2]), ARGV[3]}
