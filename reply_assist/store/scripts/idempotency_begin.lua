-- Claim an Idempotency-Key for one generate call, or tell the caller what it already holds.
-- KEYS[1] idempotency record; ARGV[1] fingerprint of the request, ARGV[2] lease ttl in s,
-- ARGV[3] this call's claim token (sent again after a timeout, the claim is found to be its own)
-- Returns {"new"}, {"in_use"}, {"mismatch"} or {"done", generation, generations_left, data}.
local state = redis.call('HGET', KEYS[1], 'state')
if not state then
  redis.call('HSET', KEYS[1], 'state', 'pending', 'fingerprint', ARGV[1], 'claim', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
if redis.call('HGET', KEYS[1], 'fingerprint') ~= ARGV[1] then
  return {'mismatch'}
end
if state == 'pending' then
  if redis.call('HGET', KEYS[1], 'claim') == ARGV[3] then
    return {'new'}
  end
  return {'in_use'}
end
local r = redis.call('HMGET', KEYS[1], 'generation', 'generations_left', 'data')
return {'done', r[1], r[2], r[3]}
