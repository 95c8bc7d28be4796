/**
 * The Lua scripts of the Redis store: the same math as `math.ts`, with Redis `TIME` as the clock so
 * every replica agrees. Each decision is one script (atomic on the Redis server). Numbers written
 * back use `%.0f` (Lua's default `%.14g` would round integers above 10^14).
 */

/** Calendar windows (UTC) from a ms timestamp; weeks start on Monday. Mirrors `windowBounds`. */
export const LUA_WINDOW = `
local DAY = 86400000
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (m > 2) and (m - 3) or (m + 9)
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end
local function window_bounds(now, w)
  local day = math.floor(now / DAY)
  if w == 'day' then return day * DAY, (day + 1) * DAY end
  if w == 'week' then
    local mon = day - ((day + 3) % 7)
    return mon * DAY, (mon + 7) * DAY
  end
  local z = day + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = (mp < 10) and (mp + 3) or (mp - 9)
  if m <= 2 then y = y + 1 end
  local ny, nm = y, m + 1
  if nm > 12 then ny, nm = y + 1, 1 end
  return days_from_civil(y, m, 1) * DAY, days_from_civil(ny, nm, 1) * DAY
end
`;

const LUA_COMMON = `
local function fmt(x) return string.format('%.0f', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function refilled(key, cap)
  local v = redis.call('HMGET', key, 'l', 't')
  local level, ts = tonumber(v[1]), tonumber(v[2])
  if not level then return 0 end
  local elapsed = now - ts
  if elapsed <= 0 then return level end
  local drained = elapsed * cap
  if drained >= level then return 0 end
  return level - drained
end
local function write_rate(key, level, cap)
  if level <= 0 then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 'l', fmt(level), 't', fmt(now))
    redis.call('PEXPIRE', key, fmt(math.ceil(level / cap)))
  end
end
local function window_used(key, start)
  local v = redis.call('HMGET', key, 'u', 's')
  if tonumber(v[2]) == start then return tonumber(v[1]) end
  return 0
end
local function write_window(key, used, start, finish)
  redis.call('HSET', key, 'u', fmt(used), 's', fmt(start))
  redis.call('PEXPIREAT', key, fmt(finish))
end
`;

/**
 * Settlements: adjustments waiting to be written, applied first by either script below. ARGV[1] is
 * their count `m`; KEYS[1..m] their bucket keys; ARGV[2..1+6m] six per adjustment: type, capacity,
 * periodMs, delta, charged, windowStartMs. Refunds are cut to `charged`; levels stay within
 * [0, 2 × capacity]. Leaves `ka`, `aa`: the offsets of what follows in KEYS and ARGV.
 */
const LUA_SETTLEMENTS = `
local m = tonumber(ARGV[1])
for i = 1, m do
  local o = 1 + (i - 1) * 6
  local typ, cap, p = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local delta, charged = tonumber(ARGV[o + 4]), math.max(0, tonumber(ARGV[o + 5]))
  if delta < -charged then delta = -charged end
  if delta ~= 0 then
    if typ == 'rate' then
      local level = refilled(KEYS[i], cap) + delta * p
      write_rate(KEYS[i], math.min(2 * cap * p, math.max(0, level)), cap)
    else
      local s, e = window_bounds(now, typ)
      if s == tonumber(ARGV[o + 6]) then
        local used = math.min(2 * cap, math.max(0, window_used(KEYS[i], s) + delta))
        write_window(KEYS[i], used, s, e)
      end
    end
  end
end
local ka, aa = m, 1 + m * 6
`;

/**
 * reserve: settlements first (see above), then the buckets of one request: KEYS[ka+1..] the bucket
 * keys; ARGV from aa+1, five per bucket: type (`rate`|`day`|`week`|`month`), capacity, periodMs (0
 * for windows), cost, mode (`enforce`|`dry_run`).
 * Returns {allowed, retryAfterMs, exceeds, then 6 per bucket: charged, remaining, resetMs, fits,
 * waitMs, windowStartMs}.
 */
export const LUA_RESERVE = `${LUA_WINDOW}${LUA_COMMON}${LUA_SETTLEMENTS}
local n = #KEYS - ka
local lv, st, en, fit, wait = {}, {}, {}, {}, {}
local allowed, retry, exceeds = 1, 0, 0
for i = 1, n do
  local o = aa + (i - 1) * 5
  local key = KEYS[ka + i]
  local typ, cap, p, cost = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4])
  local ex = false
  if typ == 'rate' then
    local level = refilled(key, cap)
    lv[i] = level
    local max, need = cap * p, cost * p
    if level + need <= max then
      fit[i], wait[i] = 1, 0
    elseif need > max then
      fit[i], wait[i], ex = 0, math.ceil(level / cap), true
    else
      fit[i], wait[i] = 0, math.ceil((level + need - max) / cap)
    end
  else
    local s, e = window_bounds(now, typ)
    st[i], en[i] = s, e
    lv[i] = window_used(key, s)
    if lv[i] + cost <= cap then fit[i], wait[i] = 1, 0 else fit[i], wait[i], ex = 0, e - now, cost > cap end
  end
  if ARGV[o + 5] == 'enforce' and fit[i] == 0 then
    allowed = 0
    if wait[i] > retry then retry = wait[i] end
    if ex then exceeds = 1 end
  end
end
local out = {allowed, retry, exceeds}
for i = 1, n do
  local o = aa + (i - 1) * 5
  local key = KEYS[ka + i]
  local typ, cap, p, cost = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3]), tonumber(ARGV[o + 4])
  local charged = 0
  if allowed == 1 and fit[i] == 1 then charged = cost end
  local b = (i - 1) * 6 + 3
  if typ == 'rate' then
    local level = lv[i] + charged * p
    if charged > 0 then write_rate(key, level, cap) end
    out[b + 2] = math.floor((cap * p - level) / p)
    out[b + 3] = math.ceil(level / cap)
    out[b + 6] = 0
  else
    local used = lv[i] + charged
    if charged > 0 then write_window(key, used, st[i], en[i]) end
    out[b + 2] = cap - used
    out[b + 3] = en[i] - now
    out[b + 6] = st[i]
  end
  out[b + 1] = charged
  out[b + 4] = fit[i]
  out[b + 5] = wait[i]
end
return out
`;

/** settle: the settlements alone (see above), when no decision came to carry them. */
export const LUA_SETTLE = `${LUA_WINDOW}${LUA_COMMON}${LUA_SETTLEMENTS}
return 0
`;

/** acquire: KEYS[1] = lease set; ARGV = limit, ttlMs, leaseId. Returns 1 when taken, 0 when full. */
export const LUA_ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`;
