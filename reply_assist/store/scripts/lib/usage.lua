-- A company's drafts of the month (services/usage.py): one copy of the rule for the scripts
-- that reserve a draft (lib/reserve.lua) and the one that uses it (commit_draft.lua).
-- usage_key: hash "allowance" (absent: unlimited), "alert_at", "credits" (bought drafts left);
-- month_key: hash of one calendar month (UTC), "a" drafts used from the allowance;
-- held_key: drafts reserved by calls in flight, a sorted set, member = token, score = expiry ms.

-- Reserve one draft for token: 0 when the company has no allowance (unlimited: nothing is read
-- but one field, nothing is held), 1 held, 2 nothing left this month.
local function reserve_draft(usage_key, month_key, held_key, token, now, ttl_ms)
  local allowance = redis.call('HGET', usage_key, 'allowance')
  if not allowance then
    return 0
  end
  -- Expired holds belong to calls that died: they no longer count.
  redis.call('ZREMRANGEBYSCORE', held_key, '-inf', now)
  local free = tonumber(allowance) - tonumber(redis.call('HGET', month_key, 'a') or '0')
  if free < 0 then free = 0 end
  local credits = tonumber(redis.call('HGET', usage_key, 'credits') or '0')
  if free + credits - redis.call('ZCARD', held_key) <= 0 then
    return 2
  end
  redis.call('ZADD', held_key, now + ttl_ms, token)
  redis.call('PEXPIRE', held_key, ttl_ms)
  return 1
end
