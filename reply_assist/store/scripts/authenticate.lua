-- Resolve an API key and count the call against the key's rate limit: one round trip per request.
-- KEYS[1] the key's lookup (apikey/<hash>); with rate limiting on, also KEYS[2] this minute's
-- counter and KEYS[3] the previous minute's (both tagged with KEYS[1]'s name: one cluster slot).
-- An unknown key counts nothing, so random tokens leave no keys behind.
-- Returns false, or {lookup} without rate limiting, or {lookup, this minute, previous minute}.
local lookup = redis.call('GET', KEYS[1])
if not lookup then
  return false
end
if #KEYS == 1 then
  return {lookup}
end
local current = redis.call('INCR', KEYS[2])
if current == 1 then
  redis.call('EXPIRE', KEYS[2], 120)
end
return {lookup, current, tonumber(redis.call('GET', KEYS[3]) or '0')}
