-- Queue a review's draft-rules job, at most once per review: included by put_review.lua (a
-- review stored or updated that matches its company's rules) and queue_rule_job.lua (the
-- rules' run over stored reviews), so both follow one rule.
-- review_key: the review hash (field "rule": the job's state, "q:<entry id>" queued,
-- "d:<draft id>" drafted, "s:<reason>" skipped, "f:<reason>" failed; field "drafts");
-- stream_key: the company's job stream; replied: '1' when the review has a published reply.
-- A review already queued or drafted is not queued again; one skipped or failed may be, when
-- it is stored again and matches; one that has a draft or a reply needs none.
-- Returns 1 when queued, 0 when not.
local function queue_rule_job(review_key, stream_key, replied, review_id)
  local state = redis.call('HGET', review_key, 'rule') or ''
  local kind = string.sub(state, 1, 2)
  if kind == 'q:' or kind == 'd:' or replied == '1' then
    return 0
  end
  if tonumber(redis.call('HGET', review_key, 'drafts') or '0') > 0 then
    return 0
  end
  local id = redis.call('XADD', stream_key, '*', 'r', review_id)
  redis.call('HSET', review_key, 'rule', 'q:' .. id)
  return 1
end
