-- The itas rate limiter: one atomic script for every limit of an (endpoint, API key).
-- Loaded by worker/ratelimit.py with register_script; see that module for the contract.
--
-- Why GCRA (the generic cell rate algorithm) rather than a token bucket: both admit the same
-- traffic, but GCRA keeps ONE number per limit, the "theoretical arrival time" (TAT), instead of
-- a level and a refill timestamp. "How long until this fits" is then a subtraction, a variable
-- cost (tokens) is the same formula with cost > 1, and correcting the token estimate after the
-- call is a shift of the TAT by (actual - estimate) * interval, with no refill to replay.
--
-- Every time is Redis's own clock (TIME), in milliseconds, so workers on machines whose
-- clocks disagree still share one timeline. A request is admitted on a key only when the pause,
-- requests/min, tokens/min and in-flight limits all allow it; then all three are charged at
-- once. A refusal changes nothing, so no partial reservations are ever left behind.
--
-- Per API key, two Redis keys (same hash tag, so a multi-key call also works on a cluster):
--   state    hash  r = TAT of requests/min, t = TAT of tokens/min, p = paused until (ms)
--   inflight zset  member = permit holder id, score = when its lease ends (ms): a worker that
--                  dies holding a slot stops counting once the lease ends, because every
--                  call ignores (and an admitting call deletes) the expired members.
--
-- Operations (ARGV[1]):
--   acquire  KEYS = state1, inflight1, state2, inflight2, ... (candidate API keys)
--            ARGV = op, commit (1 = take, 0 = only look), request_interval_ms,
--                   request_capacity (requests), token_interval_ms (per token),
--                   token_capacity (tokens), max_in_flight, cost (estimated tokens),
--                   holder, lease_ms, poll_ms
--            (an interval or max_in_flight of 0 means "no such limit")
--            -> {admitted (1/0), index, wait_ms, wait_kind}
--               admitted: 1 when a key can go now (commit=1: and has been charged);
--               index (1-based): that key, or else the one that can go first;
--               wait_ms: 0 when admitted, else how long until that key might admit;
--               wait_kind: "exact" (a rate or pause: nothing admits before then) or "poll"
--               (in-flight slots are full: one may come back any moment).
--   release  KEYS = state, inflight   ARGV = op, holder, token_delta, token_interval_ms
--            -> 1 if the holder still held its slot, 0 if its lease had already run out
--   pause    KEYS = state              ARGV = op, pause_ms
--            -> the pause's end (ms, Redis clock); a pause never shortens a longer one
--   status   KEYS = state, inflight   ARGV = op
--            -> {paused_ms_left, in_flight}

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

local function fmt(x)
  return string.format('%.3f', x)
end

local function keep_for(key, ms)
  -- Extend (never shorten) the key's expiry so idle state disappears on its own.
  local ttl = redis.call('PTTL', key)
  ms = math.ceil(ms)
  if ttl < ms then
    redis.call('PEXPIRE', key, ms)
  end
end

local op = ARGV[1]
local now = now_ms()

if op == 'acquire' then
  local commit = ARGV[2] == '1'
  local r_int = tonumber(ARGV[3])
  local r_cap = tonumber(ARGV[4])
  local t_int = tonumber(ARGV[5])
  local t_cap = tonumber(ARGV[6])
  local max_fl = tonumber(ARGV[7])
  local cost = tonumber(ARGV[8])
  local holder = ARGV[9]
  local lease = tonumber(ARGV[10])
  local poll = tonumber(ARGV[11])

  local best, best_fill = 0, nil
  local soonest, soonest_wait, soonest_kind = 0, nil, 'exact'
  for i = 1, #KEYS / 2 do
    local state, inflight = KEYS[2 * i - 1], KEYS[2 * i]
    local vals = redis.call('HMGET', state, 'r', 't', 'p')
    local wait, kind, fill = 0, 'exact', 0

    local paused = tonumber(vals[3]) or 0
    if paused > now then
      wait = paused - now
      fill = 2  -- a paused key is never preferred
    end
    if r_int > 0 then
      local tat = math.max(tonumber(vals[1]) or now, now)
      wait = math.max(wait, tat + r_int - now - r_cap * r_int)
      fill = math.max(fill, (tat - now) / (r_cap * r_int))
    end
    if t_int > 0 then
      -- A request larger than the whole burst goes when the bucket is full (then owes the
      -- rest), or it could never go at all.
      local tat = math.max(tonumber(vals[2]) or now, now)
      wait = math.max(wait, tat + math.min(cost, t_cap) * t_int - now - t_cap * t_int)
      fill = math.max(fill, (tat - now) / (t_cap * t_int))
    end
    if max_fl > 0 then
      local held = redis.call('ZCOUNT', inflight, '(' .. fmt(now), '+inf')
      if held >= max_fl and wait <= 0 then
        local first = redis.call('ZRANGEBYSCORE', inflight, '(' .. fmt(now), '+inf',
                                 'WITHSCORES', 'LIMIT', 0, 1)
        wait = math.min(poll, tonumber(first[2]) - now)
        kind = 'poll'
      end
      fill = math.max(fill, held / max_fl)
    end

    if wait <= 0 then
      if best_fill == nil or fill < best_fill then
        best, best_fill = i, fill
      end
    elseif soonest_wait == nil or wait < soonest_wait then
      soonest, soonest_wait, soonest_kind = i, wait, kind
    end
  end

  if best == 0 then
    return {0, soonest, fmt(soonest_wait), soonest_kind}
  end
  if not commit then
    return {1, best, fmt(0), 'exact'}
  end

  local state, inflight = KEYS[2 * best - 1], KEYS[2 * best]
  local vals = redis.call('HMGET', state, 'r', 't', 'p')
  local horizon = math.max(tonumber(vals[3]) or 0, now)
  if r_int > 0 then
    local tat = math.max(tonumber(vals[1]) or now, now) + r_int
    redis.call('HSET', state, 'r', fmt(tat))
    horizon = math.max(horizon, tat)
  end
  if t_int > 0 then
    local tat = math.max(tonumber(vals[2]) or now, now) + cost * t_int
    redis.call('HSET', state, 't', fmt(tat))
    horizon = math.max(horizon, tat)
  end
  if redis.call('EXISTS', state) == 1 then
    keep_for(state, horizon - now + 60000)
  end
  if max_fl > 0 then
    redis.call('ZREMRANGEBYSCORE', inflight, '-inf', fmt(now))
    redis.call('ZADD', inflight, fmt(now + lease), holder)
    keep_for(inflight, lease + 60000)
  end
  return {1, best, fmt(0), 'exact'}

elseif op == 'release' then
  local state, inflight = KEYS[1], KEYS[2]
  local holder, delta, t_int = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
  local held = redis.call('ZSCORE', inflight, holder)
  redis.call('ZREM', inflight, holder)
  if t_int > 0 and delta ~= 0 then
    local tat = tonumber(redis.call('HGET', state, 't')) or now
    if delta > 0 then
      tat = math.max(tat, now) + delta * t_int
    else
      tat = tat + delta * t_int  -- a refund; below "now" simply means a full bucket
    end
    redis.call('HSET', state, 't', fmt(tat))
    keep_for(state, math.max(tat - now, 0) + 60000)
  end
  if held and tonumber(held) > now then
    return 1
  end
  return 0

elseif op == 'pause' then
  local state, ms = KEYS[1], tonumber(ARGV[2])
  local untl = now + ms
  local current = tonumber(redis.call('HGET', state, 'p')) or 0
  if current < untl then
    redis.call('HSET', state, 'p', fmt(untl))
    keep_for(state, ms + 60000)
  end
  return fmt(math.max(current, untl))

elseif op == 'status' then
  local state, inflight = KEYS[1], KEYS[2]
  local paused = tonumber(redis.call('HGET', state, 'p')) or 0
  local held = redis.call('ZCOUNT', inflight, '(' .. fmt(now), '+inf')
  return {fmt(math.max(0, paused - now)), held}
end

return redis.error_reply('itas ratelimit.lua: unknown operation ' .. tostring(op))
