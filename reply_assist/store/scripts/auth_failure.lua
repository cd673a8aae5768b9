-- Count one failed authentication from a client address, in a window that starts at the
-- address's first failure (the counter expires with the window).
-- KEYS[1] the address's counter; ARGV[1] the window in ms.
-- Returns {failures in the window so far, ms until the window ends}.
local failures = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then -- the first failure (or a counter that lost its expiry): the window starts now
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {failures, left}
