-- A tenant's reset (ARGV[2] = its new epoch) or deletion (ARGV[2] = ''), in one step: a booking committed by
-- another server is either before it (and gone) or after it (in the new epoch: commit.lua checks it).
-- KEYS: the users set, then every other key of the tenant's state, then the generation, then the anchor (last).
-- ARGV: 1 the tenant's key tag (each user's set is <tag>user:<id>), 2 the new epoch or ''.
for _, user in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('UNLINK', ARGV[1] .. 'user:' .. user)
end
for i = 1, #KEYS - 2 do
  redis.call('UNLINK', KEYS[i])
end
local generation = redis.call('INCR', KEYS[#KEYS - 1])  -- every server takes on the change at its next request
if ARGV[2] == '' then
  redis.call('UNLINK', KEYS[#KEYS])
else
  redis.call('SET', KEYS[#KEYS], ARGV[2])
end
return generation
