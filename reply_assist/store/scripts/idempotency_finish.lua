-- Store a finished call's answer under its Idempotency-Key, for a retry to replay.
-- KEYS[1] idempotency record; ARGV[1] fingerprint, ARGV[2] the answer, ARGV[3] ttl s.
-- (generate stores its answer inside commit_draft.lua; publish, whose script is its own, here.)
-- The fingerprint is written again: a claim whose lease ran out meanwhile still refuses
-- another body.
redis.call('HSET', KEYS[1], 'state', 'done', 'fingerprint', ARGV[1], 'data', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
