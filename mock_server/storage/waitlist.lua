-- One waitlist entry's change (storage/redis_store.py, RedisState.commit_waitlist).
-- KEYS: waitlist, wtokens, anchor. ARGV: 1 the epoch the request was served in, 2 the entry id ('' for a new entry),
-- 3 a new entry: how many entries the rules read; a change: the entry's JSON as read, 4 the entry's JSON (a new
-- entry's without its opening brace and id: this script numbers it), 5 a new entry's idempotency token, 6 its record
-- (the JSON of {"fingerprint"} without its closing brace).
-- Answers 'stale' when the tenant was reset meanwhile, nil when what the rules read changed (they decide again),
-- else {id, stored JSON}.
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 'stale' end
if ARGV[2] == '' then
  local count = redis.call('HLEN', KEYS[1])
  if count ~= tonumber(ARGV[3]) then return nil end
  if ARGV[5] ~= '' and redis.call('HEXISTS', KEYS[2], ARGV[5]) == 1 then return nil end
  local id = string.format('W%07d', count + 1)
  local raw = '{"entry_id":"' .. id .. '",' .. ARGV[4]
  redis.call('HSET', KEYS[1], id, raw)
  if ARGV[5] ~= '' then
    redis.call('HSET', KEYS[2], ARGV[5], ARGV[6] .. ',"entry_id":"' .. id .. '"}')
  end
  return {id, raw}
end
if redis.call('HGET', KEYS[1], ARGV[2]) ~= ARGV[3] then return nil end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[4])
return {ARGV[2], ARGV[4]}
