-- The stats' country filter and split (services/stats.py), kept beside the language's: a count
-- under field f is made again as "C:<country>:f" (the country filter) and, when the language is
-- known, as "L:<language>:C:<country>:f" (both filters). The split by country (and by language
-- within a country) is read from those same fields: "C:<country>:drafts", ":up", ":down".
-- Included (-- #include by_country) by commit_draft.lua and vote.lua; publish.lua adds the same
-- two prefixes to its list. A review without a country counts under none of these: the scripts
-- do not call it.
local function count_by_country(key, country, language, fields, by)
  local c = 'C:' .. country .. ':'
  local lc = 'L:' .. language .. ':' .. c
  for _, field in ipairs(fields) do
    redis.call('HINCRBY', key, c .. field, by)
    if language ~= '' then
      redis.call('HINCRBY', key, lc .. field, by)
    end
  end
end
