-- Create or replace a review and keep it in the reply desk's list indexes, in one step
-- (store/review_index.py). Also used alone ("index" mode) by the backfill of older reviews.
-- KEYS[1] review hash, KEYS[2] reply versions list,
-- KEYS[3..6] the sets the review is in now (only when ARGV[2] is not ""), then the 4 sets it
-- belongs in after this call.
-- ARGV[1] "put" (write the review's fields) or "index" (only index what is stored),
-- ARGV[2] the review's "ix" as the caller read it ("" none): compare-and-set,
-- ARGV[3] the new "ix", ARGV[4] "1" if the caller found a published reply,
-- ARGV[5] review JSON, ARGV[6] language, ARGV[7] why there is no language (put mode),
-- ARGV[8] "1" to queue the review's draft-rules job (put mode), ARGV[9] the review id;
-- after the 4 sets it belongs in: its ready sets (a draft waits, no reply yet), the 4 of where
-- it is now (only when ARGV[2] is not "") then the 4 of where it belongs;
-- then KEYS[#KEYS] is the company's job stream (lib/queue_rule_job.lua decides).
-- Returns {1, created (1/0), queued (1/0)}, or {0, current ix, replied (1/0)} when the caller
-- read stale state: it names the sets again from these and retries.
-- #include queue_rule_job
local current = redis.call('HGET', KEYS[1], 'ix') or ''
local replied = redis.call('LLEN', KEYS[2]) > 0 and '1' or '0'
if current ~= ARGV[2] or replied ~= ARGV[4] then
  return {0, current, replied}
end
local exists = redis.call('HEXISTS', KEYS[1], 'json') == 1
if ARGV[1] == 'index' and not exists then
  return {1, 0}
end
local new_at = 3
if ARGV[2] ~= '' then
  local old_member = string.match(ARGV[2], '^[^|]*|[^|]*|[^|]*|(.*)$')
  for i = 3, 6 do
    redis.call('ZREM', KEYS[i], old_member)
  end
  new_at = 7
end
local member = string.match(ARGV[3], '^[^|]*|[^|]*|[^|]*|(.*)$')
for i = new_at, new_at + 3 do
  redis.call('ZADD', KEYS[i], 0, member)
end
-- The ready sets move with the review while it has a draft and no reply (review_index.py).
local ready_at = new_at + 4
if ARGV[2] ~= '' then
  local old_member = string.match(ARGV[2], '^[^|]*|[^|]*|[^|]*|(.*)$')
  for i = ready_at, ready_at + 3 do
    redis.call('ZREM', KEYS[i], old_member)
  end
  ready_at = ready_at + 4
end
if replied == '0' and tonumber(redis.call('HGET', KEYS[1], 'drafts') or '0') > 0 then
  for i = ready_at, ready_at + 3 do
    redis.call('ZADD', KEYS[i], 0, member)
  end
end
local queued = 0
if ARGV[1] == 'put' then
  redis.call('HSET', KEYS[1], 'json', ARGV[5], 'lang', ARGV[6], 'lang_reason', ARGV[7],
    'ix', ARGV[3])
  if ARGV[8] == '1' then
    queued = queue_rule_job(KEYS[1], KEYS[#KEYS], replied, ARGV[9])
  end
else
  redis.call('HSET', KEYS[1], 'ix', ARGV[3])
end
return {1, exists and 0 or 1, queued}
