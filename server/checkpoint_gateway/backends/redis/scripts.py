"""The Lua scripts of a Redis store: every multi-key operation on an execution is one
script, atomic, and runs unchanged on plain Redis and on a cluster (the keys it touches
share the execution's hash tag; see the package docstring for the layout).

Keys of other checkpoints are built inside the scripts from the lineage's base key; they
share the execution's hash tag, so they are in the slot of the declared keys.
"""

LUA_COMMON = """
local FIELDS = {'state', 'content_type', 'metadata', 'parent_id', 'node', 'next_nodes',
                'created_at', 'version'}

local function drop(base, id)
  redis.call('DEL', base .. 'cp:' .. id, base .. 'w:' .. id)
end

-- Delete the lineage's expired checkpoints. Versions are saved in time order, so the
-- expired ones are a prefix of the sorted set; a hash Redis already expired counts too.
local function expire(vkey, base, cutoff)
  if cutoff == '' then return end
  local c = tonumber(cutoff)
  while true do
    local ids = redis.call('ZRANGE', vkey, 0, 99)
    if #ids == 0 then return end
    for i, id in ipairs(ids) do
      local t = redis.call('HGET', base .. 'cp:' .. id, 'created_at')
      if t and tonumber(t) >= c then
        if i > 1 then redis.call('ZREMRANGEBYRANK', vkey, 0, i - 2) end
        return
      end
      drop(base, id)
    end
    redis.call('ZREMRANGEBYRANK', vkey, 0, #ids - 1)
  end
end
"""

# KEYS: versions, namespaces, cp, writes
# ARGV: base, ns, id, expected|'', created_at, cutoff|'', keep|'', ttl_ms|'',
#       state, content_type, metadata, parent_id, node, next_nodes
# -> {0, stored fields...} (the id exists) | {1, latest} (CAS lost) | version (saved)
SAVE = (
    LUA_COMMON
    + """
local vkey, nskey, cpkey, wkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local base, id = ARGV[1], ARGV[3]
expire(vkey, base, ARGV[6])
if redis.call('EXISTS', cpkey) == 1 then
  local out = {0}
  for _, value in ipairs(redis.call('HMGET', cpkey, unpack(FIELDS))) do
    out[#out + 1] = value
  end
  return out
end
redis.call('ZREM', vkey, id)
local top = redis.call('ZREVRANGE', vkey, 0, 0, 'WITHSCORES')
local latest = 0
if #top > 0 then latest = tonumber(top[2]) end
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= latest then return {1, latest} end
local version = latest + 1
redis.call('DEL', wkey)
redis.call('HSET', cpkey, 'state', ARGV[9], 'content_type', ARGV[10], 'metadata', ARGV[11],
           'parent_id', ARGV[12], 'node', ARGV[13], 'next_nodes', ARGV[14],
           'created_at', ARGV[5], 'version', string.format('%d', version))
redis.call('ZADD', vkey, version, id)
redis.call('SADD', nskey, ARGV[2])
if ARGV[7] ~= '' then
  local surplus = redis.call('ZCARD', vkey) - tonumber(ARGV[7])
  if surplus > 0 then
    for _, old in ipairs(redis.call('ZRANGE', vkey, 0, surplus - 1)) do drop(base, old) end
    redis.call('ZREMRANGEBYRANK', vkey, 0, surplus - 1)
  end
end
if ARGV[8] ~= '' then
  redis.call('PEXPIRE', vkey, ARGV[8])
  redis.call('PEXPIRE', nskey, ARGV[8])
  redis.call('PEXPIRE', cpkey, ARGV[8])
end
return version
"""
)

# KEYS: cp, writes -> false | {fields, writes (flat HGETALL)}
LOAD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return {redis.call('HMGET', KEYS[1], 'state', 'content_type', 'metadata', 'parent_id', 'node',
                   'next_nodes', 'created_at', 'version'),
        redis.call('HGETALL', KEYS[2])}
"""

# KEYS: versions; ARGV: base -> false | {id, fields, writes}
LATEST = (
    LUA_COMMON
    + """
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0)
if #top == 0 then return false end
local id = top[1]
local cpkey = ARGV[1] .. 'cp:' .. id
if redis.call('EXISTS', cpkey) == 0 then return false end
return {id, redis.call('HMGET', cpkey, unpack(FIELDS)),
        redis.call('HGETALL', ARGV[1] .. 'w:' .. id)}
"""
)

# KEYS: versions; ARGV: base, max score ('+inf' or '(N'), count, '1' full | '0' light
# -> flat {id, score, fields, ...}, newest first; light fields: metadata, created_at
SCAN = (
    LUA_COMMON
    + """
local rows = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], '-inf', 'WITHSCORES',
                        'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i = 1, #rows, 2 do
  local cpkey = ARGV[1] .. 'cp:' .. rows[i]
  out[#out + 1] = rows[i]
  out[#out + 1] = rows[i + 1]
  if ARGV[4] == '1' then
    out[#out + 1] = redis.call('HMGET', cpkey, unpack(FIELDS))
  else
    out[#out + 1] = redis.call('HMGET', cpkey, 'metadata', 'created_at')
  end
end
return out
"""
)

# KEYS: versions; ARGV: base, id... -> {fields | false per id}
FETCH = (
    LUA_COMMON
    + """
local out = {}
for i = 2, #ARGV do
  local cpkey = ARGV[1] .. 'cp:' .. ARGV[i]
  if redis.call('EXISTS', cpkey) == 1 then
    out[i - 1] = redis.call('HMGET', cpkey, unpack(FIELDS))
  else
    out[i - 1] = false
  end
end
return out
"""
)

# KEYS: versions, cp, writes; ARGV: id, cutoff|'' -> 1 deleted a live checkpoint, else 0
DELETE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  redis.call('DEL', KEYS[2], KEYS[3])
  return 0
end
local t = redis.call('HGET', KEYS[2], 'created_at')
redis.call('DEL', KEYS[2], KEYS[3])
if not t then return 0 end
if ARGV[2] ~= '' and tonumber(t) < tonumber(ARGV[2]) then return 0 end
return 1
"""

# KEYS: namespaces; ARGV: execution base, '1' all | '0' one, ns, cutoff|''
# -> the number of live checkpoints removed
CLEAR = """
local spaces
if ARGV[2] == '1' then spaces = redis.call('SMEMBERS', KEYS[1]) else spaces = {ARGV[3]} end
local c = nil
if ARGV[4] ~= '' then c = tonumber(ARGV[4]) end
local n = 0
for _, ns in ipairs(spaces) do
  local base = ARGV[1] .. ns .. ':'
  local vkey = base .. 'versions'
  while true do
    local ids = redis.call('ZRANGE', vkey, 0, 499)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do
      local t = redis.call('HGET', base .. 'cp:' .. id, 'created_at')
      if t and (c == nil or tonumber(t) >= c) then n = n + 1 end
      redis.call('DEL', base .. 'cp:' .. id, base .. 'w:' .. id)
    end
    redis.call('ZREMRANGEBYRANK', vkey, 0, #ids - 1)
  end
  redis.call('SREM', KEYS[1], ns)
end
return n
"""

# KEYS: cp, writes, versions, namespaces; ARGV: cutoff|'', ttl_ms|'', field, value, ...
# -> 0 when the checkpoint does not exist (or expired), else 1
PUT_WRITES = """
local t = redis.call('HGET', KEYS[1], 'created_at')
if not t then return 0 end
if ARGV[1] ~= '' and tonumber(t) < tonumber(ARGV[1]) then return 0 end
-- In chunks: unpack() of thousands of arguments would overflow Lua's C stack.
for i = 3, #ARGV, 200 do
  redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if ARGV[2] ~= '' then
  for k = 2, 4 do
    if redis.call('EXISTS', KEYS[k]) == 1 then redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
  end
end
return 1
"""
