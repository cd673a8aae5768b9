-- Give back a reserved generation slot (the model call failed; nothing is counted), and the
-- draft of the month held with it, if any.
-- KEYS[1] in-flight reservations, KEYS[2] (optional) the company's drafts held (lib/usage.lua),
-- ARGV[1] token. Returns 1 if the slot was still held.
if KEYS[2] then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return redis.call('ZREM', KEYS[1], ARGV[1])
