--[[ refund.lua — give back the unused part of a lease (see admit.lua).

KEYS[1] {org:N}:rl    KEYS[2] {org:N}:quota
ARGV[1] unused admissions   ARGV[2] second window id   ARGV[3] minute window id   ARGV[4] period start
Window counts are only lowered while their window is still the one the lease was taken in
(a past window no longer matters); never below zero.
]]
local n = tonumber(ARGV[1])
local rl = redis.call('HMGET', KEYS[1], 'sw', 'sc', 'mw', 'mc')
if rl[1] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'sc', math.max((tonumber(rl[2]) or 0) - n, 0))
end
if rl[3] == ARGV[3] then
  redis.call('HSET', KEYS[1], 'mc', math.max((tonumber(rl[4]) or 0) - n, 0))
end
-- A missing period counter (Redis lost it) is left missing: entitlements_publish rebuilds it
-- from PostgreSQL, which a counter re-created at 0 here would prevent.
local used = redis.call('HGET', KEYS[2], ARGV[4])
if used then
  redis.call('HSET', KEYS[2], ARGV[4], math.max(tonumber(used) - n, 0))
end
return 1
