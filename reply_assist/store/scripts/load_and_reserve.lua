-- Read what a generate call needs and reserve one generation slot for the review, if the limit
-- allows it: one round trip for both. The caller checks the product's rules on what comes back
-- and gives the slot back (release.lua) when a rule refuses the call.
-- KEYS[1] company (JSON string)
-- KEYS[2] review hash (field "json": the review; field "drafts": committed drafts)
-- KEYS[3] in-flight reservations: sorted set, member = token, score = expiry in ms
-- ARGV[1] token, ARGV[2] reservation ttl in ms, ARGV[3] limit
-- Returns {company or false, review hash as a flat list, reserved 1/0, used} (lib/reserve.lua).
-- #include reserve
return {reserve(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])}
