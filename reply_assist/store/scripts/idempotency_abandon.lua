-- Free an Idempotency-Key whose call ended without a draft, so a retry runs anew.
-- KEYS[1] idempotency record; ARGV[1] fingerprint. Only a pending claim is removed.
if redis.call('HGET', KEYS[1], 'state') == 'pending'
   and redis.call('HGET', KEYS[1], 'fingerprint') == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
