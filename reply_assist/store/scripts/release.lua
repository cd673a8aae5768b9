-- Give back a reserved generation slot (the model call failed; nothing is counted).
-- KEYS[1] in-flight reservations, ARGV[1] token. Returns 1 if it was still held.
return redis.call('ZREM', KEYS[1], ARGV[1])
