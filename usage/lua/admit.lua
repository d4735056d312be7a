--[[ admit.lua — the one decision of the hot path: may this request be served?

Checks, atomically and in this order (nothing is written unless everything passes, so a
refused request consumes nothing):
  1. the API key is not dead (revoked or rotated out: a deadline written by keys.services),
  2. the Idempotency-Key, if any, was not used before (else: replay / in progress / mismatch),
  3. the organization's entitlements exist and are for the current period,
  4. the per-second and per-minute rate limits (fixed windows aligned to the Unix epoch),
  5. the monthly quota, honouring the overage policy (hard_stop, grace %, bill),
then increments the windows and the period counter by `cost`.

Invariants (do not break):
  * Every key touched is passed in KEYS and carries the same `{org:<id>}` hash tag, so the
    script runs on one Redis Cluster slot.
  * Time comes from Redis (TIME), never from the callers, so all processes and hosts share
    one clock and one window.
  * Counters live in fixed-name hashes (window id stored inside), so no key name depends on
    the time and no key is created outside KEYS.

KEYS[1] {org:N}:ent       hash  plan, rps, rpm, quota, policy, grace, pstart, pend (written by entitlements_publish)
KEYS[2] {org:N}:rl        hash  sw, sc (second window id/count), mw, mc (minute window id/count)
KEYS[3] {org:N}:quota     hash  <pstart> -> requests used in the period starting at pstart
KEYS[4] {org:N}:dead:<k>  string  epoch seconds after which key <k> is refused
KEYS[5] {org:N}:idem:<scope>:<h>  string  "P|<fp>" pending or "D|<fp>|<json>" done  (optional;
        <scope> = the API key's idempotency scope: keys never see each other's responses)
ARGV[1] cost (requests to count, >= 1)
ARGV[2] request fingerprint for the idempotency key ("" when KEYS[5] is absent)
ARGV[3] seconds a pending idempotency marker lives
ARGV[4] lease: at most this many extra admissions to reserve for the calling process (0 = none)
ARGV[5] lease floor: reserve only if every limit that applies still has this much room
ARGV[6..9] refund of the caller's ended lease: unused count, its second and minute window ids,
        its period start (applied first, exactly as refund.lua does; 0 = nothing to refund)
ARGV[10] plans that include the called API product, comma-separated (absent or "" = every plan)

Returns {code, plan, rps, s_left, s_reset, rpm, m_left, m_reset, quota, used, q_reset, overage, extra,
         leased, now_sec, now_usec, pstart}
code: 0 admitted, 1 per-second limit, 2 per-minute limit, 3 quota, 4 key dead,
      5 entitlements missing or stale, 6 idempotent replay (extra = stored response),
      7 idempotent request still in progress, 8 idempotency key reused with another request,
      9 the organization's plan does not include the API product (nothing counted).
Limits that do not apply are returned as -1.
]]

local refund = tonumber(ARGV[6]) or 0
if refund > 0 then
  local prior = redis.call('HMGET', KEYS[2], 'sw', 'sc', 'mw', 'mc')
  if prior[1] == ARGV[7] then redis.call('HSET', KEYS[2], 'sc', math.max((tonumber(prior[2]) or 0) - refund, 0)) end
  if prior[3] == ARGV[8] then redis.call('HSET', KEYS[2], 'mc', math.max((tonumber(prior[4]) or 0) - refund, 0)) end
  local was = redis.call('HGET', KEYS[3], ARGV[9])
  if was then redis.call('HSET', KEYS[3], ARGV[9], math.max(tonumber(was) - refund, 0)) end
end

local t = redis.call('TIME')
local now = tonumber(t[1])
local usec = tonumber(t[2])
local cost = tonumber(ARGV[1])

local dead = redis.call('GET', KEYS[4])
if dead and tonumber(dead) <= now + usec / 1000000 then
  return {4, '', -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, dead}
end

if KEYS[5] then
  local prior = redis.call('GET', KEYS[5])
  if prior then
    local fp = string.sub(prior, 3, 2 + string.len(ARGV[2]))
    if fp ~= ARGV[2] then
      return {8, '', -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, ''}
    end
    if string.sub(prior, 1, 1) == 'P' then
      return {7, '', -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, ''}
    end
    return {6, '', -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, string.sub(prior, 4 + string.len(ARGV[2]))}
  end
end

local ent = redis.call('HMGET', KEYS[1], 'plan', 'rps', 'rpm', 'quota', 'policy', 'grace', 'pstart', 'pend')
local plan = ent[1]
if not plan or not ent[8] or now >= tonumber(ent[8]) then
  return {5, '', -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, ''}
end
local only = ARGV[10]
if only and only ~= '' and not string.find(',' .. only .. ',', ',' .. plan .. ',', 1, true) then
  return {9, plan, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, ''}
end
local rps = tonumber(ent[2]) or -1
local rpm = tonumber(ent[3]) or -1
local quota = tonumber(ent[4]) or -1
local policy = ent[5] or 'hard_stop'
local grace = tonumber(ent[6]) or 0
local pstart = ent[7]
local pend = tonumber(ent[8])
local q_reset = pend - now

local sw = now
local mw = math.floor(now / 60)
local s_reset = 1
local m_reset = 60 - (now % 60)

local rl = redis.call('HMGET', KEYS[2], 'sw', 'sc', 'mw', 'mc')
local sc = 0
if tonumber(rl[1]) == sw then sc = tonumber(rl[2]) or 0 end
local mc = 0
if tonumber(rl[3]) == mw then mc = tonumber(rl[4]) or 0 end
local used = tonumber(redis.call('HGET', KEYS[3], pstart)) or 0

local s_left = -1
if rps >= 0 then s_left = rps - sc end
local m_left = -1
if rpm >= 0 then m_left = rpm - mc end

if rps >= 0 and sc + cost > rps then
  return {1, plan, rps, s_left, s_reset, rpm, m_left, m_reset, quota, used, q_reset, 0, ''}
end
if rpm >= 0 and mc + cost > rpm then
  return {2, plan, rps, s_left, s_reset, rpm, m_left, m_reset, quota, used, q_reset, 0, ''}
end
local overage = 0
if quota >= 0 then
  local ceiling = quota
  if policy == 'grace' then ceiling = math.floor(quota * (100 + grace) / 100) end
  if policy ~= 'bill' and used + cost > ceiling then
    return {3, plan, rps, s_left, s_reset, rpm, m_left, m_reset, quota, used, q_reset, 0, ''}
  end
  if used + cost > quota then overage = 1 end
end

-- Lease: far from every limit, reserve extra admissions for the caller to hand out locally
-- (usage/limiter.py). They are counted now, so the limits can never be exceeded; unused
-- ones are refunded (refund.lua) when the lease ends, within the same window only.
local leased = 0
local lease_max = tonumber(ARGV[4]) or 0
if lease_max > 0 and not KEYS[5] then
  local floor_ = tonumber(ARGV[5])
  local room = lease_max
  if rps >= 0 then room = math.min(room, rps - sc - cost - floor_) end
  if rpm >= 0 then room = math.min(room, rpm - mc - cost - floor_) end
  if quota >= 0 and policy ~= 'bill' then
    local ceiling = quota
    if policy == 'grace' then ceiling = math.floor(quota * (100 + grace) / 100) end
    room = math.min(room, ceiling - used - cost - floor_)
  end
  if room > 0 then leased = room end
end
local total = cost + leased

-- Admitted: count it everywhere, atomically with the checks above.
redis.call('HSET', KEYS[2], 'sw', sw, 'sc', sc + total, 'mw', mw, 'mc', mc + total)
redis.call('EXPIRE', KEYS[2], 120)
used = redis.call('HINCRBY', KEYS[3], pstart, total) - leased
redis.call('EXPIREAT', KEYS[3], pend + 40 * 86400)
if KEYS[5] then
  redis.call('SET', KEYS[5], 'P|' .. ARGV[2], 'EX', tonumber(ARGV[3]))
end
if s_left >= 0 then s_left = s_left - cost end
if m_left >= 0 then m_left = m_left - cost end
return {0, plan, rps, s_left, s_reset, rpm, m_left, m_reset, quota, used, q_reset, overage, '', leased, now, usec, pstart}
