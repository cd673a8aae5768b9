-- Save an agent's edit of a draft, keeping the generated text (in "data") untouched.
-- KEYS[1] draft hash; ARGV[1] edited text, ARGV[2] agent id, ARGV[3] edited at (RFC 3339)
-- Returns 1, 0 when the draft does not exist, or -1 when it has been published (its text must
-- keep matching what was published; an agent edits a new draft, or publishes an update).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if redis.call('HGET', KEYS[1], 'status') == 'published' then
  return -1
end
redis.call('HSET', KEYS[1], 'edited_text', ARGV[1], 'edited_by', ARGV[2], 'edited_at', ARGV[3])
return 1
