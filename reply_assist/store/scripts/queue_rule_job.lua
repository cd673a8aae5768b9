-- Queue the draft-rules job of a review already stored (POST …/draft-rules/run).
-- KEYS[1] review hash, KEYS[2] reply versions list, KEYS[3] the company's job stream
-- ARGV[1] the review id
-- Returns 1 when queued, 0 when not (gone, already queued or drafted, replied, has a draft).
-- #include queue_rule_job
if redis.call('HEXISTS', KEYS[1], 'json') == 0 then
  return 0
end
local replied = redis.call('LLEN', KEYS[2]) > 0 and '1' or '0'
return queue_rule_job(KEYS[1], KEYS[3], replied, ARGV[1])
