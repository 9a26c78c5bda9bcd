/**
 * The Lua scripts the Redis store runs. Each runs atomically on the server and reads the server's own
 * clock (TIME), so instances whose clocks disagree still agree on token levels and expiries. The one
 * exception is the failover fence, proposed from the calling instance's clock (BATCH_LUA says why). Redis 7
 * replicates script effects, not the script, so calling TIME before a write is allowed.
 * Values go back as strings or JSON: Redis truncates Lua numbers to integers in replies.
 * @module
 */

/**
 * A batch of token-bucket takes and spent-set insertions, one per key, in one atomic call: what the
 * handshakes of one event-loop turn need (redis-link.ts collects them). KEYS[1] is the epoch record,
 * KEYS[1 + i] the key of op i; ARGV[1] is the fence this caller proposes (its clock plus the allowed
 * skew, ms), then per op in order either 't', rate per second, burst, least, most, or 's', ttl ms,
 * issue time ms.
 *
 * The epoch record (a hash: `id`, `fence`) is what closes the failover replay window
 * (docs/OPERATIONS.md, "Redis Sentinel"): `id` names the server process and its replication history
 * (INFO run_id and master_replid, both new after a restart and after every promotion; a server whose
 * INFO lacks them gets an error, never an unfenced insertion). When the
 * server running this script is not the one the record names (a failover, a restart without the data,
 * a FLUSHALL), spent marks may have been lost with the previous one, so the record is rewritten with
 * `fence` raised to at least ARGV[1]: from then on a proof whose challenge was issued before the
 * fence is refused, whichever instance presents it. All in the same atomic step as the insertions.
 * The fence comes from the instance's clock, not Redis's TIME: challenge issue times come from
 * instance clocks, which agree within clock_skew_ms; Redis hosts' clocks are not assumed to.
 *
 * 't' is a token bucket: a hash of `tokens` and `at` (server ms); a missing bucket is a full one,
 * and the key expires once the bucket would be full again. It takes as many whole tokens as there
 * are, up to `most`, if there are at least `least` (the limiter leases tokens in advance this way,
 * redis-limiter.ts). 's' is SET key 1 PX ttl NX, unless the issue time is before the fence.
 * Returns the fence and 1 if this call raised it (else 0), then two integers per op: for 't'
 * {tokens taken, 0}, or {0, ms until there would be `least`}; for 's' {1, 0} when the key was absent
 * (now set), {0, 0} when it was already there, {0, 1} when the challenge predates the fence.
 */
export const BATCH_LUA = `
local info = redis.call('INFO', 'server')
local i = string.find(info, 'run_id:', 1, true)
local repl = redis.call('INFO', 'replication')
local j = string.find(repl, 'master_replid:', 1, true)
if not i or not j then
  -- Without them a change of server cannot be seen: refuse rather than lose the fence silently.
  return redis.error_reply('wisdom batch: INFO gives no run_id or master_replid, which the failover fence needs')
end
local id = string.sub(info, i + 7, i + 46) .. '/' .. string.sub(repl, j + 14, j + 53)
local rec = redis.call('HMGET', KEYS[1], 'id', 'fence')
local fence = tonumber(rec[2]) or 0
local raised = 0
if rec[1] ~= id then
  fence = math.max(fence, tonumber(ARGV[1]))
  redis.call('HSET', KEYS[1], 'id', id, 'fence', string.format('%.17g', fence))
  raised = 1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out = { fence, raised }
local a = 2
for i = 2, #KEYS do
  local key = KEYS[i]
  if ARGV[a] == 't' then
    local rate = tonumber(ARGV[a + 1])
    local burst = tonumber(ARGV[a + 2])
    local least = tonumber(ARGV[a + 3])
    local most = tonumber(ARGV[a + 4])
    a = a + 5
    local b = redis.call('HMGET', key, 'tokens', 'at')
    local tokens = tonumber(b[1])
    local at = tonumber(b[2])
    if tokens == nil or at == nil then
      tokens = burst
    else
      tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
    end
    local got, retry = 0, 0
    if tokens >= least then
      got = math.min(most, math.floor(tokens))
      tokens = tokens - got
    else
      retry = math.max(1, math.ceil((least - tokens) * 1000 / rate))
    end
    local fullInMs = math.ceil((burst - tokens) * 1000 / rate)
    if fullInMs <= 0 then
      redis.call('DEL', key)
    else
      redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
      redis.call('PEXPIRE', key, fullInMs)
    end
    out[#out + 1] = got
    out[#out + 1] = retry
  elseif ARGV[a] == 's' then
    if tonumber(ARGV[a + 2]) < fence then
      out[#out + 1] = 0
      out[#out + 1] = 1
    else
      local set = redis.call('SET', key, '1', 'PX', ARGV[a + 1], 'NX')
      out[#out + 1] = set and 1 or 0
      out[#out + 1] = 0
    end
    a = a + 3
  else
    return redis.error_reply('wisdom batch: unknown op ' .. tostring(ARGV[a]))
  end
end
return out
`;

/**
 * Pressure board. KEYS[1]: a hash of instance id -> JSON sample with its expiry `exp` (server ms).
 * ARGV: instance id, ttl ms, this instance's sample as JSON. Stores the sample, drops expired ones,
 * and returns the aggregate of the live ones as JSON. The hash itself expires with its last sample.
 */
export const PRESSURE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mine = cjson.decode(ARGV[3])
mine.exp = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(mine))
local agg = { openConnections = 0, acceptsPerSec = 0, challengesPerSec = 0, failedProofsPerSec = 0, validProofsPerSec = 0,
  loopDelayMs = 0, sourceSaturation = 0, maxBits = 0, instances = 0 }
local last = mine.exp
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, s = pcall(cjson.decode, all[i + 1])
  local exp = ok and type(s) == 'table' and tonumber(s.exp) or 0
  if exp <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    agg.instances = agg.instances + 1
    agg.openConnections = agg.openConnections + (tonumber(s.openConnections) or 0)
    agg.acceptsPerSec = agg.acceptsPerSec + (tonumber(s.acceptsPerSec) or 0)
    agg.challengesPerSec = agg.challengesPerSec + (tonumber(s.challengesPerSec) or 0)
    agg.failedProofsPerSec = agg.failedProofsPerSec + (tonumber(s.failedProofsPerSec) or 0)
    agg.validProofsPerSec = agg.validProofsPerSec + (tonumber(s.validProofsPerSec) or 0)
    agg.loopDelayMs = math.max(agg.loopDelayMs, tonumber(s.loopDelayMs) or 0)
    agg.sourceSaturation = math.max(agg.sourceSaturation, tonumber(s.sourceSaturation) or 0)
    agg.maxBits = math.max(agg.maxBits, tonumber(s.bits) or 0)
    last = math.max(last, exp)
  end
end
redis.call('PEXPIREAT', KEYS[1], last)
return cjson.encode(agg)
`;
