-- One user's marketing preference (storage/redis_store.py, RedisState.set_marketing_preference).
-- KEYS: marketing, anchor. ARGV: 1 the user id, 2 the preference's JSON, 3 the epoch the request was served in.
-- Answers 'stale' when the tenant was reset or deleted since (another epoch, or none): nothing is written, so a
-- preference set before a reset never lands in the state after it.
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 'stale' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'ok'
