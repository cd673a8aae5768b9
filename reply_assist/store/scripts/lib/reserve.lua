-- Read a company and a review and reserve one generation slot for the review, and one of the
-- company's drafts of the month, if the limit and the month's drafts allow it. Included
-- (-- #include reserve) by load_and_reserve.lua, for keys issued before keys named their
-- company, and by authenticate_in_company.lua, which does it in the same round trip as the
-- key's lookup: one copy of the rule, whichever way a call comes in.
-- company_key: the company (JSON string); review_key: the review hash (field "json": the review;
-- field "drafts": committed drafts); inflight_key: reservations in flight, a sorted set, member =
-- token, score = expiry in ms; usage_key, month_key, held_key: the company's drafts of the month
-- (lib/usage.lua).
-- Returns company or false, the review hash as a flat list, reserved 1/0, used, quota (0: the
-- company is unlimited, 1: a draft of the month is held under the same token, 2: none left:
-- nothing is reserved); nothing is reserved for a company or review that does not exist. used
-- counts the slots in flight, this one included.
-- #include usage
local function reserve(company_key, review_key, inflight_key, token, ttl_ms, limit,
    usage_key, month_key, held_key)
  local company = redis.call('GET', company_key)
  local review = redis.call('HGETALL', review_key)
  if not company or redis.call('HEXISTS', review_key, 'json') == 0 then
    return company, review, 0, 0, 0
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  -- Expired reservations belong to calls that died: they no longer count.
  redis.call('ZREMRANGEBYSCORE', inflight_key, '-inf', now)
  local committed = tonumber(redis.call('HGET', review_key, 'drafts') or '0')
  local used = committed + redis.call('ZCARD', inflight_key)
  -- Sent again after a timeout (the first run may have reserved): the slot is already ours.
  if redis.call('ZSCORE', inflight_key, token) then
    return company, review, 1, used, redis.call('ZSCORE', held_key, token) and 1 or 0
  end
  if used >= tonumber(limit) then
    return company, review, 0, used, 0
  end
  local quota = reserve_draft(usage_key, month_key, held_key, token, now, tonumber(ttl_ms))
  if quota == 2 then
    return company, review, 0, used, 2
  end
  redis.call('ZADD', inflight_key, now + tonumber(ttl_ms), token)
  redis.call('PEXPIRE', inflight_key, ttl_ms)
  return company, review, 1, used + 1, quota
end
