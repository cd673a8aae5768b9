-- The stats' country filter and split (services/stats.py), kept beside the language's: a count
-- under field f is made again as "C:<country>:f" (the country filter) and, when the language is
-- known, as "L:<language>:C:<country>:f" (both filters). A count that the split shows (kind:
-- drafts, up or down; "" none) is also made as "country:<country>:<kind>" (the split),
-- "L:<language>:country:<country>:<kind>" (the split within a language) and
-- "C:<country>:lang:<language>:<kind>" (the split by language within a country).
-- Included (-- #include by_country) by commit_draft.lua and vote.lua. A review without a
-- country counts under none of these: the scripts do not call it.
local function count_by_country(key, country, language, fields, kind, by)
  local c = 'C:' .. country .. ':'
  local lc = 'L:' .. language .. ':' .. c
  for _, field in ipairs(fields) do
    redis.call('HINCRBY', key, c .. field, by)
    if language ~= '' then
      redis.call('HINCRBY', key, lc .. field, by)
    end
  end
  if kind ~= '' then
    redis.call('HINCRBY', key, 'country:' .. country .. ':' .. kind, by)
    if language ~= '' then
      redis.call('HINCRBY', key, 'L:' .. language .. ':country:' .. country .. ':' .. kind, by)
      redis.call('HINCRBY', key, c .. 'lang:' .. language .. ':' .. kind, by)
    end
  end
end
