"""The job store's Lua scripts: each runs atomically in Redis, so completion is decided exactly once.

Slots are ``<file>:<page>`` fields of the job's results hash (see ``worker.jobs`` for the keys).
"""

from __future__ import annotations

# Shared by both scripts: finish the job once every planned page has a result.
# A job whose pages all failed (or that has no page at all) is "failed", otherwise "done".
SETTLE_LUA = """
local function settle(meta, results, failed, now)
  local state = redis.call('HGET', meta, 'state')
  if state == 'done' or state == 'failed' then return 0 end
  local total = tonumber(redis.call('HGET', meta, 'total') or '-1')
  if total < 0 then return 0 end
  if redis.call('HLEN', results) < total then return 0 end
  local final = 'done'
  if redis.call('SCARD', failed) >= total then final = 'failed' end
  redis.call('HSET', meta, 'state', final, 'finished', now)
  return 1
end
"""

# KEYS: meta, results, overlays, failed, reads, stats.
# ARGV: slot, page_json, overlay_png, failed(0/1), now, ttl_s.
# Returns {done, total, finished_now}; {-1, -1, 0} when the job no longer exists (deleted or expired).
# The service-wide page counters move only when a slot is filled for the first time.
RECORD_PAGE_LUA = (
    SETTLE_LUA
    + """
local meta, results, overlays, failed, reads, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local slot, page, overlay, is_failed, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
if redis.call('EXISTS', meta) == 0 then return {-1, -1, 0} end
if redis.call('HSET', results, slot, page) == 1 then
  if is_failed == '1' then redis.call('HINCRBY', stats, 'pages_failed', 1)
  else redis.call('HINCRBY', stats, 'pages_done', 1) end
end
if overlay ~= '' then redis.call('HSET', overlays, slot, overlay) else redis.call('HDEL', overlays, slot) end
if is_failed == '1' then redis.call('SADD', failed, slot) else redis.call('SREM', failed, slot) end
redis.call('HINCRBY', reads, slot, 1)
for _, key in ipairs({results, overlays, failed, reads}) do
  if redis.call('EXISTS', key) == 1 then redis.call('EXPIRE', key, ttl) end
end
if redis.call('HGET', meta, 'state') == 'queued' then redis.call('HSET', meta, 'state', 'running') end
local finished = settle(meta, results, failed, now)
return {redis.call('HLEN', results), tonumber(redis.call('HGET', meta, 'total')), finished}
"""
)

# KEYS: meta, results, failed. ARGV: plan_json, total, now. Returns 1 when the job finished now.
SET_PLAN_LUA = (
    SETTLE_LUA
    + """
local meta, results, failed = KEYS[1], KEYS[2], KEYS[3]
if redis.call('EXISTS', meta) == 0 then return -1 end
redis.call('HSET', meta, 'plan', ARGV[1], 'total', ARGV[2])
return settle(meta, results, failed, ARGV[3])
"""
)
