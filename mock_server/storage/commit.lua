-- One booking change, whole or not at all (storage/redis_store.py, RedisState.commit).
-- KEYS: bookings, tokens, taken, claims, seq, active, the user's set of booking ids, users, anchor.
-- ARGV: 1 booking id ('' = a new booking), 2 its JSON as the rules read it, 3 its new JSON (a new one's: every
--       field but the id, from the first key on), 4 idempotency token, 5 payload fingerprint (a JSON string),
--       6 slot key a spot is taken from ('' = none), 7 that slot's spots_total, 8 slot key a spot goes back to,
--       9 user claim that must be free, 10 user claim released, 11 user claim made, 12 change in the count of
--       active bookings, 13 the epoch the rules' inventory was built in, 14 the user id, 15 the start of the entry
--       taken from, 16... a (slot key, start, end) triple of each entry whose holds take a spot of it (itself, and
--       the entries overlapping it on its staff member or table: domain/resources.py), so that two servers cannot
--       book one stylist through two overlapping slots.
-- Answers 'stale' when the tenant was reset or deleted since (another epoch, or none), false when what the rules
-- read no longer holds (they read and decide again), else {id, stored JSON}.

if redis.call('GET', KEYS[9]) ~= ARGV[13] then return 'stale' end
local id = ARGV[1]
if id == '' then
  if redis.call('HEXISTS', KEYS[2], ARGV[4]) == 1 then return false end  -- the token answered meanwhile
elseif redis.call('HGET', KEYS[1], id) ~= ARGV[2] then
  return false  -- the booking changed meanwhile
end
if ARGV[9] ~= '' and tonumber(redis.call('HGET', KEYS[4], ARGV[9]) or '0') > 0 then
  return false  -- the user claimed that start meanwhile
end
if ARGV[6] ~= '' then
  -- The most holds in use at one moment within the entry's interval (resources.most_at_once): their use only grows
  -- where one starts, so the moments to look at are the entry's start and each later hold's start.
  local start, holds = tonumber(ARGV[15]), {}
  for i = 16, #ARGV, 3 do
    local n = tonumber(redis.call('HGET', KEYS[3], ARGV[i]) or '0')
    if ARGV[i] == ARGV[8] then n = n - 1 end  -- the spot this change gives back
    if n > 0 then holds[#holds + 1] = {tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), n} end
  end
  local most = 0
  for _, at in ipairs(holds) do
    local moment, held = math.max(at[1], start), 0
    for _, h in ipairs(holds) do
      if h[1] <= moment and moment < h[2] then held = held + h[3] end
    end
    if held > most then most = held end
  end
  if most >= tonumber(ARGV[7]) then return false end  -- the last spot went meanwhile
end

local doc = ARGV[3]
if id == '' then
  id = string.format('B%07d', redis.call('INCR', KEYS[5]))
  doc = '{"booking_id":"' .. id .. '",' .. doc
  redis.call('HSET', KEYS[2], ARGV[4], '{"fingerprint":' .. ARGV[5] .. ',"booking":' .. doc .. '}')
  redis.call('SADD', KEYS[7], id)
  redis.call('SADD', KEYS[8], ARGV[14])  -- so that a reset finds every user's set (reset.lua)
end
redis.call('HSET', KEYS[1], id, doc)

local function count(key, field, by)
  if field ~= '' and redis.call('HINCRBY', key, field, by) <= 0 then redis.call('HDEL', key, field) end
end
count(KEYS[3], ARGV[6], 1)
count(KEYS[3], ARGV[8], -1)
count(KEYS[4], ARGV[10], -1)
count(KEYS[4], ARGV[11], 1)
if ARGV[12] ~= '0' then redis.call('INCRBY', KEYS[6], ARGV[12]) end
return {id, doc}
