/**
 * The Lua scripts of the Redis Streams queue. Every operation that touches more than one key is
 * one script, so it is atomic on the Redis server; Redis `TIME` is the clock of leases and delays.
 *
 * Keys of one queue (B = `<keyPrefix>{<name>}:`, one hash tag, so one Cluster slot):
 * - `B seq`        counter giving every scheduling a tie-breaking sequence number
 * - `B sched`      sorted set, score = due time (ms), member = `<seq, 16 digits>:<id>`: waiting messages
 * - `B prios`      sorted set of the priorities that have a stream (score = member = priority)
 * - `B s:<prio>`   stream per priority (entries `{i: id}`) with the consumer group; its PEL holds leases
 * - `B leases`     sorted set, score = lease deadline (ms), member = id
 * - `B m:<id>`     hash per message: p payload, pr priority, n deliveries, st state
 *                  (w waiting, r ready, l leased, d dead), e stream entry id, l lease id, sm sched member
 * - `B dead`       dead-letter stream (entries `{i, p, r, n}`)
 * - `B wake`       pub/sub channel: something was scheduled; waiting consumers look again (and
 *                  learn the next due time, so a delay ends on time)
 */

const CLOCK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function fmt(x) return string.format('%.0f', x) end
`;

/** Schedules message `id` (hash `h`) at `due` with a fresh sequence number. */
const SCHEDULE = `
local function schedule(seqKey, sched, h, id, due)
  local member = string.format('%016d', redis.call('INCR', seqKey)) .. ':' .. id
  redis.call('ZADD', sched, fmt(due), member)
  redis.call('HSET', h, 'st', 'w', 'l', '', 'e', '', 'sm', member)
end
`;

/**
 * publish: KEYS = hash, seq, sched, wake channel; ARGV = id, payload, priority, notBefore ('' = now).
 * Returns 1 when added, 0 when the id already exists (waiting, ready, leased or dead).
 */
export const LUA_PUBLISH = `${CLOCK}${SCHEDULE}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local due = tonumber(ARGV[4]) or now
redis.call('HSET', KEYS[1], 'p', ARGV[2], 'pr', ARGV[3], 'n', 0)
schedule(KEYS[2], KEYS[3], KEYS[1], ARGV[1], due)
redis.call('PUBLISH', KEYS[4], '1')
return 1
`;

/**
 * receive: KEYS = sched, prios, leases; ARGV = base, group, consumer, max, leaseMs, leaseIdBase,
 * promoteBatch.
 * 1. Moves due messages from `sched` into the stream of their priority (in due, then sequence order).
 * 2. Walks priorities from the highest: first the messages whose lease ran out (taken over with
 *    XCLAIM, which moves them to this consumer in the PEL and counts the delivery), then new
 *    entries (XREADGROUP `>`), until `max`.
 * Returns {waitMs, then 5 per message: id, payload, priority, deliveries, leaseId}; waitMs is the
 * time until the next scheduled message or lease deadline (-1 when there is none).
 */
export const LUA_RECEIVE = `${CLOCK}
local sched, prios, leases = KEYS[1], KEYS[2], KEYS[3]
local base, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local max, leaseMs = tonumber(ARGV[4]), tonumber(ARGV[5])
local due = redis.call('ZRANGEBYSCORE', sched, '-inf', now, 'LIMIT', 0, tonumber(ARGV[7]))
for _, member in ipairs(due) do
  redis.call('ZREM', sched, member)
  local id = string.sub(member, 18)
  local h = base .. 'm:' .. id
  local pr = redis.call('HGET', h, 'pr')
  if pr then
    local s = base .. 's:' .. pr
    if redis.call('EXISTS', s) == 0 then
      redis.call('XGROUP', 'CREATE', s, group, '0', 'MKSTREAM')
      redis.call('ZADD', prios, pr, pr)
    end
    local e = redis.call('XADD', s, '*', 'i', id)
    redis.call('HSET', h, 'st', 'r', 'e', e, 'sm', '')
  end
end
local expired = {}
if max > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, max)) do
    local pr = redis.call('HGET', base .. 'm:' .. id, 'pr')
    if pr then
      expired[pr] = expired[pr] or {}
      table.insert(expired[pr], id)
    else
      redis.call('ZREM', leases, id)
    end
  end
end
local out = {-1}
local taken = 0
local function take(id, h)
  taken = taken + 1
  local n = redis.call('HINCRBY', h, 'n', 1)
  local lid = ARGV[6] .. '.' .. taken
  redis.call('HSET', h, 'st', 'l', 'l', lid)
  redis.call('ZADD', leases, fmt(now + leaseMs), id)
  local v = redis.call('HMGET', h, 'p', 'pr')
  table.insert(out, id)
  table.insert(out, v[1])
  table.insert(out, v[2])
  table.insert(out, n)
  table.insert(out, lid)
end
for _, pr in ipairs(redis.call('ZREVRANGE', prios, 0, -1)) do
  if taken >= max then break end
  local s = base .. 's:' .. pr
  for _, id in ipairs(expired[pr] or {}) do
    if taken >= max then break end
    local h = base .. 'm:' .. id
    local v = redis.call('HMGET', h, 'st', 'e')
    if v[1] == 'l' then
      redis.call('XCLAIM', s, group, consumer, 0, v[2])
      take(id, h)
    end
  end
  if taken < max then
    local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - taken, 'STREAMS', s, '>')
    if r then
      for _, entry in ipairs(r[1][2]) do
        local id = entry[2][2]
        local h = base .. 'm:' .. id
        if redis.call('HGET', h, 'st') == 'r' and redis.call('HGET', h, 'e') == entry[1] then
          take(id, h)
        else
          redis.call('XACK', s, group, entry[1])
          redis.call('XDEL', s, entry[1])
        end
      end
    end
  end
end
local nextAt = nil
local a = redis.call('ZRANGE', sched, 0, 0, 'WITHSCORES')
if a[2] then nextAt = tonumber(a[2]) end
local b = redis.call('ZRANGE', leases, 0, 0, 'WITHSCORES')
if b[2] and (nextAt == nil or tonumber(b[2]) < nextAt) then nextAt = tonumber(b[2]) end
if nextAt then out[1] = math.max(0, nextAt - now) end
return out
`;

/**
 * settle (ack, nack, dead, extend): KEYS = hash, seq, sched, prios, leases, dead, wake channel;
 * ARGV = base, group, consumer, op, id, leaseId, then per op: nack delayMs | dead reason, maxDead |
 * extend leaseMs. Acts only while `leaseId` is the message's current lease; returns 1, else 0.
 */
export const LUA_SETTLE = `${CLOCK}${SCHEDULE}
local h, seqKey, sched, prios, leases, dead = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local base, group, consumer, op, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local v = redis.call('HMGET', h, 'st', 'l', 'e', 'pr')
if v[1] ~= 'l' or v[2] ~= ARGV[6] then return 0 end
local s = base .. 's:' .. v[4]
if op == 'extend' then
  redis.call('ZADD', leases, 'XX', fmt(now + tonumber(ARGV[7])), id)
  redis.call('XCLAIM', s, group, consumer, 0, v[3], 'JUSTID')
  return 1
end
redis.call('XACK', s, group, v[3])
redis.call('XDEL', s, v[3])
redis.call('ZREM', leases, id)
if redis.call('XLEN', s) == 0 then
  redis.call('DEL', s)
  redis.call('ZREM', prios, v[4])
end
if op == 'ack' then
  redis.call('DEL', h)
elseif op == 'nack' then
  local delay = math.max(0, tonumber(ARGV[7]))
  schedule(seqKey, sched, h, id, now + delay)
  redis.call('PUBLISH', KEYS[7], '1')
elseif op == 'dead' then
  local m = redis.call('HMGET', h, 'p', 'n')
  redis.call('XADD', dead, '*', 'i', id, 'p', m[1], 'r', ARGV[7], 'n', m[2])
  redis.call('HSET', h, 'st', 'd', 'l', '', 'e', '')
  redis.call('HDEL', h, 'p')
  local over = redis.call('XLEN', dead) - tonumber(ARGV[8])
  if over > 0 then
    for _, entry in ipairs(redis.call('XRANGE', dead, '-', '+', 'COUNT', math.min(over, 100))) do
      local dh = base .. 'm:' .. entry[2][2]
      if redis.call('HGET', dh, 'st') == 'd' then redis.call('DEL', dh) end
      redis.call('XDEL', dead, entry[1])
    end
  end
end
return 1
`;

/**
 * stats: KEYS = sched, prios, leases, dead; ARGV = base.
 * Returns {ready, leased, dead}: ready = waiting + unread + leases that ran out.
 */
export const LUA_STATS = `${CLOCK}
local inStreams = 0
for _, pr in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  inStreams = inStreams + redis.call('XLEN', ARGV[1] .. 's:' .. pr)
end
local leasedAll = redis.call('ZCARD', KEYS[3])
local leased = redis.call('ZCOUNT', KEYS[3], '(' .. fmt(now), '+inf')
local ready = redis.call('ZCARD', KEYS[1]) + (inStreams - leasedAll) + (leasedAll - leased)
return {ready, leased, redis.call('XLEN', KEYS[4])}
`;

/**
 * forget (on close): KEYS = prios; ARGV = base, group, consumer. Removes the consumer from the group
 * of every stream where it holds nothing (a consumer with pending entries stays until they are taken
 * over). Returns how many groups it left.
 */
export const LUA_FORGET = `
local n = 0
for _, pr in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s = ARGV[1] .. 's:' .. pr
  if #redis.call('XPENDING', s, ARGV[2], '-', '+', 1, ARGV[3]) == 0 then
    redis.call('XGROUP', 'DELCONSUMER', s, ARGV[2], ARGV[3])
    n = n + 1
  end
end
return n
`;
