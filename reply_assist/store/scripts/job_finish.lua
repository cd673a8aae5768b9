-- Finish a draft-rules job without a draft (skipped, or given up after its attempts): the
-- job leaves the stream and the review records why, unless another job of the review has
-- taken its place meanwhile. (A job that drafts is finished by commit_draft.lua instead, in
-- the same step as the draft.)
-- KEYS[1] review hash, KEYS[2] the company's job stream
-- ARGV[1] consumer group, ARGV[2] entry id, ARGV[3] the review's new "rule" state
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
if redis.call('HGET', KEYS[1], 'rule') == 'q:' .. ARGV[2] then
  redis.call('HSET', KEYS[1], 'rule', ARGV[3])
end
return 1
