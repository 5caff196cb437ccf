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
--   state    hash  r = TAT of requests/min, t = TAT of tokens/min, p = paused until (ms), and
--                  what the limiter learned from the provider (see "Learning" below):
--                  lr, lt = the requests/min and tokens/min the provider's headers state,
--                  f, fa = the rate factor set by the last 429 cut and when (it recovers
--                  linearly with time), c, ca = the in-flight cap set by the last timeout cut
--                  and when (it recovers with successes).
--   inflight zset  member = permit holder id, score = when its lease ends (ms): a worker that
--                  dies holding a slot stops counting once the lease ends, because every
--                  call ignores (and an admitting call deletes) the expired members.
--
-- Learning (all per key, all in the same atomic script, so every worker sees one state):
--   * stated limits: a response's x-ratelimit-limit-* headers, passed to release, cap the key's
--     rates at min(the endpoints file's, the provider's). They only ever lower a rate: a
--     provider that states a higher limit (or a per-day one, as Groq's requests header is)
--     does not raise what the file allows.
--   * 429 (AIMD): the key's rates are multiplied by a factor f, cut to f * backoff by a 429
--     and recovering by 1 every recover_ms. Only a call that started after the last cut can
--     cut again: the 429s of calls sent under the old rate are one congestion event, not many.
--   * timeout (AIMD): the key's in-flight cap is cut to (slots held) * fl_backoff (at least 1)
--     by a call that timed out, again only by a call that started after the last cut; each
--     success adds fl_recover / cap, so it climbs by fl_recover per cap's worth of successes,
--     up to max_in_flight. A server that runs fewer completions than we send queues the rest
--     until they time out: fewer in flight is the cure, retrying at once is not.
--
-- The limits arguments LIM = r_int, t_int, burst_ms, max_fl, recover_ms are the endpoints
-- file's: request interval (ms), token interval (ms per token), how many ms of each rate may
-- go back to back, max in flight, and the 429 factor's recovery time; each key's effective
-- limits are derived from them and its learned state (an interval or max_fl of 0 means "no
-- such limit").
--
-- Operations (ARGV[1]):
--   acquire  KEYS = state1, inflight1, state2, inflight2, ... (candidate API keys)
--            ARGV = op, LIM (5 values), commit (1 = take, 0 = only look),
--                   cost (estimated tokens), holder, lease_ms, poll_ms
--            -> {admitted (1/0), index, wait_ms, wait_kind, now_ms}
--               admitted: 1 when a key can go now (commit=1: and has been charged);
--               index (1-based): that key, or else the one that can go first;
--               wait_ms: 0 when admitted, else how long until that key might admit;
--               wait_kind: "exact" (a rate or pause: nothing admits before then) or "poll"
--               (in-flight slots are full: one may come back any moment);
--               now_ms: Redis's clock (the permit's start, for release's "started").
--   release  KEYS = state, inflight
--            ARGV = op, LIM (5 values), holder, token_delta, signal ("ok", "429", "timeout"
--                   or "" for none), started_ms, stated_rpm, stated_tpm (0 = not stated),
--                   backoff, min_factor, fl_backoff, fl_recover
--            -> 1 if the holder still held its slot, 0 if its lease had already run out
--   pause    KEYS = state              ARGV = op, pause_ms
--            -> the pause's end (ms, Redis clock); a pause never shortens a longer one
--   status   KEYS = state, inflight   ARGV = op
--            -> {paused_ms_left, in_flight}
--   effective KEYS = state            ARGV = op, LIM (5 values)
--            -> {requests/min, tokens/min, max in flight, factor} as applied now (0: none)

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


local LEARNED_TTL_MS = 3600000  -- what was learned outlives an idle hour, not a day

local function factor(vals, now, recover)
  -- vals: HMGET state r t p lr lt f fa c ca
  local f0 = tonumber(vals[6])
  if not f0 then
    return 1
  end
  return math.min(1, f0 + (now - (tonumber(vals[7]) or now)) / recover)
end

local function key_limits(vals, now, lim)
  -- The key's effective request interval, token interval and max in flight.
  local ri, ti, fl = lim.r_int, lim.t_int, lim.max_fl
  local lr, lt = tonumber(vals[4]), tonumber(vals[5])
  if lr and lr > 0 then
    ri = math.max(ri, 60000 / lr)
  end
  if lt and lt > 0 then
    ti = math.max(ti, 60000 / lt)
  end
  local f = factor(vals, now, lim.recover)
  if f < 1 then
    ri, ti = ri / f, ti / f
  end
  local c = tonumber(vals[8])
  if c and fl > 0 then
    fl = math.max(1, math.min(fl, math.floor(c)))
  end
  return ri, ti, fl, f
end

local function read_lim(first)
  return {r_int = tonumber(ARGV[first]), t_int = tonumber(ARGV[first + 1]),
          burst = tonumber(ARGV[first + 2]), max_fl = tonumber(ARGV[first + 3]),
          recover = tonumber(ARGV[first + 4])}
end

local FIELDS = {'r', 't', 'p', 'lr', 'lt', 'f', 'fa', 'c', 'ca'}

local op = ARGV[1]
local now = now_ms()

if op == 'acquire' then
  local lim = read_lim(2)
  local commit = ARGV[7] == '1'
  local cost = tonumber(ARGV[8])
  local holder = ARGV[9]
  local lease = tonumber(ARGV[10])
  local poll = tonumber(ARGV[11])

  local best, best_fill = 0, nil
  local soonest, soonest_wait, soonest_kind = 0, nil, 'exact'
  local eff = {}
  for i = 1, #KEYS / 2 do
    local state, inflight = KEYS[2 * i - 1], KEYS[2 * i]
    local vals = redis.call('HMGET', state, unpack(FIELDS))
    local r_int, t_int, max_fl = key_limits(vals, now, lim)
    eff[i] = {vals, r_int, t_int, max_fl}
    local wait, kind, fill = 0, 'exact', 0

    local paused = tonumber(vals[3]) or 0
    if paused > now then
      wait = paused - now
      fill = 2  -- a paused key is never preferred
    end
    if r_int > 0 then
      local r_cap = math.max(1, lim.burst / r_int)
      local tat = math.max(tonumber(vals[1]) or now, now)
      wait = math.max(wait, tat + r_int - now - r_cap * r_int)
      fill = math.max(fill, (tat - now) / (r_cap * r_int))
    end
    if t_int > 0 then
      -- A request larger than the whole burst goes when the bucket is full (then owes the
      -- rest), or it could never go at all.
      local t_cap = math.max(1, lim.burst / t_int)
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
    return {0, soonest, fmt(soonest_wait), soonest_kind, fmt(now)}
  end
  if not commit then
    return {1, best, fmt(0), 'exact', fmt(now)}
  end

  local state, inflight = KEYS[2 * best - 1], KEYS[2 * best]
  local vals, r_int, t_int, max_fl = eff[best][1], eff[best][2], eff[best][3], eff[best][4]
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
  return {1, best, fmt(0), 'exact', fmt(now)}

elseif op == 'release' then
  local state, inflight = KEYS[1], KEYS[2]
  local lim = read_lim(2)
  local holder, delta, signal = ARGV[7], tonumber(ARGV[8]), ARGV[9]
  local started, stated_rpm, stated_tpm = tonumber(ARGV[10]), tonumber(ARGV[11]),
                                          tonumber(ARGV[12])
  local backoff, min_factor = tonumber(ARGV[13]), tonumber(ARGV[14])
  local fl_backoff, fl_recover = tonumber(ARGV[15]), tonumber(ARGV[16])

  local vals = redis.call('HMGET', state, unpack(FIELDS))
  local _, t_int, max_fl, f = key_limits(vals, now, lim)
  local live = redis.call('ZCOUNT', inflight, '(' .. fmt(now), '+inf')
  local held = redis.call('ZSCORE', inflight, holder)
  redis.call('ZREM', inflight, holder)
  if t_int > 0 and delta ~= 0 then
    local tat = tonumber(vals[2]) or now
    if delta > 0 then
      tat = math.max(tat, now) + delta * t_int
    else
      tat = tat + delta * t_int  -- a refund; below "now" simply means a full bucket
    end
    redis.call('HSET', state, 't', fmt(tat))
    keep_for(state, math.max(tat - now, 0) + 60000)
  end

  local learned = false
  if stated_rpm > 0 and tonumber(vals[4]) ~= stated_rpm then
    redis.call('HSET', state, 'lr', stated_rpm)
    learned = true
  end
  if stated_tpm > 0 and tonumber(vals[5]) ~= stated_tpm then
    redis.call('HSET', state, 'lt', stated_tpm)
    learned = true
  end
  if signal == '429' and started >= (tonumber(vals[7]) or -1) then
    redis.call('HSET', state, 'f', fmt(math.max(min_factor, f * backoff)), 'fa', fmt(now))
    learned = true
  elseif signal == 'timeout' and lim.max_fl > 0 and started >= (tonumber(vals[9]) or -1) then
    -- live counts this call's slot too: it was in flight when the server fell behind.
    local cap = math.max(1, math.min(max_fl, live) * fl_backoff)
    redis.call('HSET', state, 'c', fmt(cap), 'ca', fmt(now))
    learned = true
  elseif signal == 'ok' and tonumber(vals[8]) then
    local cap = tonumber(vals[8])
    cap = cap + fl_recover / cap
    if cap >= lim.max_fl then
      redis.call('HDEL', state, 'c')
    else
      redis.call('HSET', state, 'c', fmt(cap))
    end
  end
  if learned then
    keep_for(state, LEARNED_TTL_MS)
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

elseif op == 'effective' then
  local lim = read_lim(2)
  local vals = redis.call('HMGET', KEYS[1], unpack(FIELDS))
  local r_int, t_int, max_fl, f = key_limits(vals, now, lim)
  local function per_min(interval)
    if interval > 0 then
      return fmt(60000 / interval)
    end
    return fmt(0)
  end
  return {per_min(r_int), per_min(t_int), max_fl, fmt(f)}
end

return redis.error_reply('itas ratelimit.lua: unknown operation ' .. tostring(op))
