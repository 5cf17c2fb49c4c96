r"""The Lua scripts of a Redis store (see the package docstring for the key layout).

Every script touches the keys of one execution only, so it is atomic and runs unchanged
on plain Redis and on a cluster (the keys share the execution's hash tag). The one
exception is the executions index (``<prefix>executions`` and its partitions), in a slot
of its own: on plain Redis the scripts are also given its keys (the last keys, "index
keys") and keep it in the same atomic step; on a cluster they are not, and the store
updates it with commands of its own.

Keys of other checkpoints and lineages are built inside the scripts from the execution's
root key; they share its hash tag, so they are in the slot of the declared keys.

Strings are compared in Lua only with ``==`` (``<`` would follow the server's locale),
numbers are passed as decimal strings and compared with ``tonumber``: microseconds since
the epoch stay exact in a double.
"""

# -- shared functions -----------------------------------------------------------------------

_CORE = r"""
local FIELDS = {'state', 'content_type', 'metadata', 'parent_id', 'node', 'next_nodes',
                'created_at', 'version'}

-- Namespaces are in keys as unpadded URL-safe base64 (as the store writes them).
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local B64I = {}
for i = 1, 64 do B64I[string.byte(B64, i)] = i - 1 end

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = string.byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local k = 4
    if not b then k = 2 elseif not c then k = 3 end
    for _ = 1, k do
      local d = math.floor(n / 262144)
      out[#out + 1] = string.sub(B64, d + 1, d + 1)
      n = (n - d * 262144) * 64
    end
  end
  return table.concat(out)
end

local function unb64(s)
  local out, acc, bits = {}, 0, 0
  for i = 1, #s do
    acc = acc * 64 + B64I[string.byte(s, i)]
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      local p = 2 ^ bits
      local byte = math.floor(acc / p)
      out[#out + 1] = string.char(byte)
      acc = acc - byte * p
    end
  end
  return table.concat(out)
end

local function cutoff_of(text)
  if text == '' then return nil end
  return tonumber(text)
end

-- Byte order of two strings (Lua's own '<' follows the locale).
local function below(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- A checkpoint's member in its execution's time index (score: created_at): namespace,
-- version in 20 digits and id, NUL-separated (none of them holds a NUL), so that the
-- members of one instant sort by (namespace, version) as positions do.
local function tmember(ns, version, id)
  return ns .. '\0' .. string.format('%020d', version) .. '\0' .. id
end

local function tparse(member)
  local ns, version, id = string.match(member, '^(.-)%z(%d+)%z(.*)$')
  return ns, tonumber(version), id
end

-- A checkpoint's channel references (in the lineage's chans hash): "name\0version\0"
-- repeated. A value's field in the blobs hash is "name\0version", its content type's
-- "name\0version\0".
local function each_ref(refs)
  return string.gmatch(refs, '([^%z]+%z[^%z]+)%z')
end

local function ref_name(field)
  return string.match(field, '^([^%z]+)')
end

-- A pending write is stored as a JSON header [channel, content_type, task_path,
-- stored_at µs] (stored_at missing in writes stored before channels existed), a
-- newline, then the value.
local function write_head(value)
  local nl = string.find(value, '\n', 1, true)
  if not nl then return {}, 0 end
  local ok, head = pcall(cjson.decode, string.sub(value, 1, nl - 1))
  if not ok or type(head) ~= 'table' then return {}, nl end
  return head, nl
end

local function stored_at(value)
  local head = write_head(value)
  return tonumber(head[4]) or 0
end

local function hdel_all(key, fields)
  for i = 1, #fields, 200 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 199, #fields)))
  end
end

local function lineage_live(base, c)
  local top = redis.call('ZREVRANGE', base .. 'versions', 0, 0)
  if #top == 0 then return false end
  local t = redis.call('HGET', base .. 'cp:' .. top[1], 'created_at')
  return t ~= false and (c == nil or tonumber(t) >= c)
end

-- Take an execution out of the executions index: KEYS[first] on are its index keys.
local function unindex(first, execution_id)
  for i = first, #KEYS do redis.call('ZREM', KEYS[i], execution_id) end
end

-- Whether no lineage of the execution holds a checkpoint (live or not).
local function execution_empty(root, nskey)
  for _, s in ipairs(redis.call('SMEMBERS', nskey)) do
    if redis.call('ZCARD', root .. s .. ':versions') > 0 then return false end
  end
  return true
end
"""

_MAINTAIN = r"""
-- Drop a channel reference per name and version; a value no checkpoint refers to goes.
local function unref(base, refs)
  local bkey, rkey = base .. 'blobs', base .. 'blobrefs'
  for f in each_ref(refs) do
    if redis.call('HINCRBY', rkey, f, -1) <= 0 then
      redis.call('HDEL', rkey, f)
      redis.call('HDEL', bkey, f, f .. '\0')
    end
  end
end

-- Remove a checkpoint: its hash, its writes, its channel references and its time index
-- member. The caller removes it from the versions set.
local function drop(root, base, ns, id, version)
  local ckey = base .. 'chans'
  local refs = redis.call('HGET', ckey, id)
  if refs then
    unref(base, refs)
    redis.call('HDEL', ckey, id)
  end
  redis.call('DEL', base .. 'cp:' .. id, base .. 'w:' .. id)
  redis.call('ZREM', root .. 'times', tmember(ns, version, id))
end

-- Remove the orphan writes (of checkpoints never saved) stored before `before` µs. The
-- orphans set scores a writes key by its oldest write, so only candidates are read.
local function prune_orphans(base, before)
  local okey = base .. 'orphans'
  local ids = redis.call('ZRANGEBYSCORE', okey, '-inf', '(' .. string.format('%.0f', before))
  for _, id in ipairs(ids) do
    local wkey = base .. 'w:' .. id
    local flat = redis.call('HGETALL', wkey)
    local doomed, oldest = {}, nil
    for i = 1, #flat, 2 do
      local t = stored_at(flat[i + 1])
      if t < before then
        doomed[#doomed + 1] = flat[i]
      elseif oldest == nil or t < oldest then
        oldest = t
      end
    end
    if #doomed > 0 then hdel_all(wkey, doomed) end
    if oldest == nil then
      redis.call('ZREM', okey, id)
    else
      redis.call('ZADD', okey, string.format('%.0f', oldest), id)
    end
  end
end

-- Delete the lineage's expired checkpoints and orphan writes older than the TTL.
-- Versions are saved in time order, so the expired checkpoints are a prefix of the
-- versions set; a hash Redis already expired counts as expired.
local function expire(root, base, ns, cutoff)
  local c = cutoff_of(cutoff)
  if c == nil then return end
  local vkey = base .. 'versions'
  local n = 1
  while true do
    local rows = redis.call('ZRANGE', vkey, 0, n - 1, 'WITHSCORES')
    if #rows == 0 then break end
    local gone, stop = 0, false
    for i = 1, #rows, 2 do
      local id = rows[i]
      local t = redis.call('HGET', base .. 'cp:' .. id, 'created_at')
      if t and tonumber(t) >= c then
        stop = true
        break
      end
      drop(root, base, ns, id, tonumber(rows[i + 1]))
      gone = gone + 1
    end
    if gone > 0 then redis.call('ZREMRANGEBYRANK', vkey, 0, gone - 1) end
    if stop then break end
    n = 100
  end
  prune_orphans(base, c)
end

-- Forget a lineage left with neither checkpoints nor orphan writes.
local function tidy(base, b64ns, nskey)
  if redis.call('ZCARD', base .. 'versions') == 0 and
     redis.call('EXISTS', base .. 'orphans') == 0 then
    redis.call('SREM', nskey, b64ns)
    redis.call('DEL', base .. 'blobs', base .. 'blobrefs', base .. 'chans')
  end
end

-- Remove a whole lineage (with `unindex`, its members of the time index too); return how
-- many of its checkpoints were live.
local function clear_lineage(root, base, ns, c, unindex)
  local vkey, tkey = base .. 'versions', root .. 'times'
  local n = 0
  while true do
    local rows = redis.call('ZRANGE', vkey, 0, 499, 'WITHSCORES')
    if #rows == 0 then break end
    for i = 1, #rows, 2 do
      local id = rows[i]
      local t = redis.call('HGET', base .. 'cp:' .. id, 'created_at')
      if t and (c == nil or tonumber(t) >= c) then n = n + 1 end
      redis.call('DEL', base .. 'cp:' .. id, base .. 'w:' .. id)
      if unindex then redis.call('ZREM', tkey, tmember(ns, tonumber(rows[i + 1]), id)) end
    end
    redis.call('ZREMRANGEBYRANK', vkey, 0, #rows / 2 - 1)
  end
  local okey = base .. 'orphans'
  while true do
    local ids = redis.call('ZRANGE', okey, 0, 499)
    if #ids == 0 then break end
    for _, id in ipairs(ids) do redis.call('DEL', base .. 'w:' .. id) end
    redis.call('ZREMRANGEBYRANK', okey, 0, #ids - 1)
  end
  redis.call('DEL', base .. 'blobs', base .. 'blobrefs', base .. 'chans')
  return n
end
"""

_READ = r"""
-- About how many bytes a checkpoint weighs in a response (the store's `weight`): state
-- and channel values and, with writes, their values, plus a fixed overhead per part.
local function weigh(base, id, with_writes)
  local size = 512 + redis.call('HSTRLEN', base .. 'cp:' .. id, 'state')
  local refs = redis.call('HGET', base .. 'chans', id)
  if refs then
    local bkey = base .. 'blobs'
    for f in each_ref(refs) do size = size + 64 + redis.call('HSTRLEN', bkey, f) end
  end
  if with_writes then
    for _, v in ipairs(redis.call('HVALS', base .. 'w:' .. id)) do
      size = size + 64 + #v - (string.find(v, '\n', 1, true) or 0)
    end
  end
  return size
end

local function budget(used, count, max, limit)
  return {used = used, count = count, max = max, limit = limit, cut = 0}
end

-- Admit a checkpoint of `size` bytes to the page, unless it would make the page heavier
-- than its budget (the first is always admitted).
local function admit(b, size)
  if b.count > 0 and b.used + size > b.max then
    b.cut = 1
    return false
  end
  b.used = b.used + size
  b.count = b.count + 1
  return true
end

-- Add the values of `refs` to `blobs` (tag, field, content type, value), each value of a
-- lineage once per reply.
local function add_blobs(base, tag, refs, blobs, seen)
  for f in each_ref(refs) do
    local key = tag .. '\0' .. f
    if not seen[key] then
      seen[key] = true
      local held = redis.call('HMGET', base .. 'blobs', f, f .. '\0')
      blobs[#blobs + 1] = tag
      blobs[#blobs + 1] = f
      blobs[#blobs + 1] = held[2] or ''
      blobs[#blobs + 1] = held[1]
    end
  end
end

-- A checkpoint as replies carry it: {tag (base64 namespace), id, fields, channel refs,
-- writes (flat HGETALL) or false}; its channel values go to `blobs`.
local function record(base, tag, id, with_writes, blobs, seen)
  local fields = redis.call('HMGET', base .. 'cp:' .. id, unpack(FIELDS))
  local refs = redis.call('HGET', base .. 'chans', id) or ''
  add_blobs(base, tag, refs, blobs, seen)
  local writes = false
  if with_writes then writes = redis.call('HGETALL', base .. 'w:' .. id) end
  return {tag, id, fields, refs, writes}
end

-- Walk a time index newest first: scores from `max` (inclusive) down to `min`, skipping,
-- at score `max`, the members that are not below `bound` ('' for none). Calls
-- fn(score, member) until it returns false.
local function walk_times(tkey, max, bound, min, fn)
  local at = nil
  if bound ~= '' then at = tonumber(max) end
  local offset = 0
  while true do
    local rows = redis.call('ZREVRANGEBYSCORE', tkey, max, min, 'WITHSCORES',
                            'LIMIT', offset, 200)
    if #rows == 0 then return end
    offset = offset + #rows / 2
    for i = 1, #rows, 2 do
      local m, s = rows[i], rows[i + 1]
      if at == nil or tonumber(s) ~= at or below(m, bound) then
        if not fn(s, m) then return end
      end
    end
  end
end
"""

COMMON = _CORE
MAINTAIN = _CORE + _MAINTAIN
READ = _CORE + _READ

# -- writes ------------------------------------------------------------------------------------

# KEYS: versions, namespaces, cp[, index keys (plain Redis)]
# ARGV: root, base, ns, b64ns, id, expected|'', created_at, cutoff|'', keep|'', ttl_ms|'',
#       execution_id, state, content_type, metadata, parent_id, node, next_nodes,
#       then per channel: name, version, '1' with a value | '0' a reference, content_type,
#       value
# -> version (saved) | {0, stored fields, refs} (the id exists) | {1, latest} (CAS lost)
#    | {2, name} (a reference to no stored value) | {3, name} (other bytes, same version)
SAVE = (
    MAINTAIN
    + r"""
local vkey, nskey, cpkey = KEYS[1], KEYS[2], KEYS[3]
local root, base, ns, id, created = ARGV[1], ARGV[2], ARGV[3], ARGV[5], ARGV[7]
expire(root, base, ns, ARGV[8])
if redis.call('EXISTS', cpkey) == 1 then
  return {0, redis.call('HMGET', cpkey, unpack(FIELDS)),
          redis.call('HGET', base .. 'chans', id) or ''}
end
redis.call('ZREM', vkey, id)
local bkey = base .. 'blobs'
local refs, fresh = {}, {}
for i = 18, #ARGV, 5 do
  local name, value, ctype = ARGV[i], ARGV[i + 4], ARGV[i + 3]
  local f = name .. '\0' .. ARGV[i + 1]
  if ARGV[i + 2] == '1' then
    local size = redis.call('HSTRLEN', bkey, f)
    if redis.call('HEXISTS', bkey, f) == 0 then
      fresh[#fresh + 1] = i
    elseif size ~= #value or redis.call('HGET', bkey, f .. '\0') ~= ctype
        or redis.call('HGET', bkey, f) ~= value then
      return {3, name}
    end
  elseif redis.call('HEXISTS', bkey, f) == 0 then
    return {2, name}
  end
  refs[#refs + 1] = f
end
local top = redis.call('ZREVRANGE', vkey, 0, 0, 'WITHSCORES')
local latest = 0
if #top > 0 then latest = tonumber(top[2]) end
if ARGV[6] ~= '' and tonumber(ARGV[6]) ~= latest then return {1, latest} end
local version = latest + 1
redis.call('HSET', cpkey, 'state', ARGV[12], 'content_type', ARGV[13], 'metadata', ARGV[14],
           'parent_id', ARGV[15], 'node', ARGV[16], 'next_nodes', ARGV[17],
           'created_at', created, 'version', string.format('%d', version))
redis.call('ZADD', vkey, version, id)
redis.call('SADD', nskey, ARGV[4])
redis.call('ZADD', root .. 'times', created, tmember(ns, version, id))
for _, i in ipairs(fresh) do
  local f = ARGV[i] .. '\0' .. ARGV[i + 1]
  redis.call('HSET', bkey, f, ARGV[i + 4], f .. '\0', ARGV[i + 3])
end
if #refs > 0 then
  local rkey = base .. 'blobrefs'
  for _, f in ipairs(refs) do redis.call('HINCRBY', rkey, f, 1) end
  redis.call('HSET', base .. 'chans', id, table.concat(refs, '\0') .. '\0')
end
-- Writes may have come first: they are this checkpoint's now, no longer orphans.
redis.call('ZREM', base .. 'orphans', id)
for i = 4, #KEYS do redis.call('ZADD', KEYS[i], 'GT', created, ARGV[11]) end
if ARGV[9] ~= '' then
  local surplus = redis.call('ZCARD', vkey) - tonumber(ARGV[9])
  if surplus > 0 then
    local rows = redis.call('ZRANGE', vkey, 0, surplus - 1, 'WITHSCORES')
    local newest = nil
    for i = 1, #rows, 2 do
      local t = redis.call('HGET', base .. 'cp:' .. rows[i], 'created_at')
      if t and (newest == nil or tonumber(t) > newest) then newest = tonumber(t) end
      drop(root, base, ns, rows[i], tonumber(rows[i + 1]))
    end
    redis.call('ZREMRANGEBYRANK', vkey, 0, surplus - 1)
    if newest then prune_orphans(base, newest) end
  end
end
if ARGV[10] ~= '' then
  for _, key in ipairs({vkey, nskey, cpkey, root .. 'times', bkey, base .. 'blobrefs',
                        base .. 'chans', base .. 'w:' .. id, base .. 'orphans'}) do
    redis.call('PEXPIRE', key, ARGV[10])
  end
end
return version
"""
)

# KEYS: writes, cp, namespaces
# ARGV: root, base, ns, b64ns, id, cutoff|'', ttl_ms|'', stored_at µs,
#       then per write: field, value, '1' replaces | '0' only when absent
PUT_WRITES = (
    MAINTAIN
    + r"""
local wkey, cpkey, nskey = KEYS[1], KEYS[2], KEYS[3]
local root, base = ARGV[1], ARGV[2]
expire(root, base, ARGV[3], ARGV[6])
for i = 9, #ARGV, 3 do
  if ARGV[i + 2] == '1' then
    redis.call('HSET', wkey, ARGV[i], ARGV[i + 1])
  else
    redis.call('HSETNX', wkey, ARGV[i], ARGV[i + 1])
  end
end
local okey = base .. 'orphans'
local orphan = redis.call('EXISTS', cpkey) == 0
if orphan then redis.call('ZADD', okey, 'NX', ARGV[8], ARGV[5]) end
redis.call('SADD', nskey, ARGV[4])
if ARGV[7] ~= '' then
  redis.call('PEXPIRE', wkey, ARGV[7])
  redis.call('PEXPIRE', nskey, ARGV[7])
  if orphan then redis.call('PEXPIRE', okey, ARGV[7]) end
end
return 1
"""
)

# KEYS: versions, namespaces[, index keys]
# ARGV: root, base, ns, b64ns, id, cutoff|'', execution_id
# -> 1 when a live checkpoint went, else 0 (its writes go either way)
DELETE = (
    MAINTAIN
    + r"""
local vkey, nskey = KEYS[1], KEYS[2]
local root, base, id = ARGV[1], ARGV[2], ARGV[5]
redis.call('ZREM', base .. 'orphans', id)
local version = redis.call('ZSCORE', vkey, id)
local t = redis.call('HGET', base .. 'cp:' .. id, 'created_at')
if version then
  drop(root, base, ARGV[3], id, tonumber(version))
  redis.call('ZREM', vkey, id)
else
  redis.call('DEL', base .. 'cp:' .. id, base .. 'w:' .. id)
end
tidy(base, ARGV[4], nskey)
if #KEYS > 2 and execution_empty(root, nskey) then unindex(3, ARGV[7]) end
if not version or not t then return 0 end
local c = cutoff_of(ARGV[6])
if c ~= nil and tonumber(t) < c then return 0 end
return 1
"""
)

# KEYS: namespaces[, index keys]
# ARGV: root, '1' every namespace | '0' one, b64ns, cutoff|'', execution_id
# -> the number of live checkpoints removed
CLEAR = (
    MAINTAIN
    + r"""
local nskey, root = KEYS[1], ARGV[1]
local every = ARGV[2] == '1'
local spaces
if every then spaces = redis.call('SMEMBERS', nskey) else spaces = {ARGV[3]} end
local c = cutoff_of(ARGV[4])
local n = 0
for _, s in ipairs(spaces) do
  n = n + clear_lineage(root, root .. s .. ':', unb64(s), c, not every)
  redis.call('SREM', nskey, s)
end
if every then redis.call('DEL', root .. 'times') end
if #KEYS > 1 and (every or execution_empty(root, nskey)) then unindex(2, ARGV[5]) end
return n
"""
)

# KEYS: namespaces[, index keys]; ARGV: root, cutoff|'', execution_id
# -> how many checkpoints went (every lineage keeps its newest)
PRUNE = (
    MAINTAIN
    + r"""
local nskey, root = KEYS[1], ARGV[1]
local n = 0
for _, s in ipairs(redis.call('SMEMBERS', nskey)) do
  local base, ns = root .. s .. ':', unb64(s)
  local vkey = base .. 'versions'
  expire(root, base, ns, ARGV[2])
  local rows = redis.call('ZRANGE', vkey, 0, -2, 'WITHSCORES')
  local newest = nil
  for i = 1, #rows, 2 do
    local t = redis.call('HGET', base .. 'cp:' .. rows[i], 'created_at')
    if t then
      n = n + 1
      if newest == nil or tonumber(t) > newest then newest = tonumber(t) end
    end
    drop(root, base, ns, rows[i], tonumber(rows[i + 1]))
  end
  if #rows > 0 then redis.call('ZREMRANGEBYRANK', vkey, 0, #rows / 2 - 1) end
  if newest then prune_orphans(base, newest) end
  tidy(base, s, nskey)
end
if #KEYS > 1 and execution_empty(root, nskey) then unindex(2, ARGV[3]) end
return n
"""
)

# KEYS: namespaces[, index keys]
# ARGV: root, cutoff|'', execution_id, then per checkpoint: b64ns, id, version
# -> how many live checkpoints went (one whose version changed meanwhile stays)
DELETE_MANY = (
    MAINTAIN
    + r"""
local nskey, root = KEYS[1], ARGV[1]
local c = cutoff_of(ARGV[2])
local n, touched = 0, {}
for i = 4, #ARGV, 3 do
  local s, id, v = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local base = root .. s .. ':'
  local score = redis.call('ZSCORE', base .. 'versions', id)
  if score and tonumber(score) == v then
    local t = redis.call('HGET', base .. 'cp:' .. id, 'created_at')
    if t and (c == nil or tonumber(t) >= c) then
      drop(root, base, unb64(s), id, v)
      redis.call('ZREM', base .. 'versions', id)
      n = n + 1
      touched[s] = true
    end
  end
end
for s in pairs(touched) do tidy(root .. s .. ':', s, nskey) end
if n > 0 and #KEYS > 1 and execution_empty(root, nskey) then unindex(2, ARGV[3]) end
return n
"""
)

# -- reads ---------------------------------------------------------------------------------

# KEYS: cp; ARGV: base, tag, id -> false | {record, blobs}
LOAD = (
    READ
    + r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local blobs = {}
return {record(ARGV[1], ARGV[2], ARGV[3], true, blobs, {}), blobs}
"""
)

# KEYS: versions; ARGV: base, tag -> false | {record, blobs}
LATEST = (
    READ
    + r"""
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0)
if #top == 0 then return false end
if redis.call('EXISTS', ARGV[1] .. 'cp:' .. top[1]) == 0 then return false end
local blobs = {}
return {record(ARGV[1], ARGV[2], top[1], true, blobs, {}), blobs}
"""
)

# One lineage, newest first, below a version.
# KEYS: versions
# ARGV: base, tag, upper ('+inf' | '(N'), limit, cutoff|'', max_bytes, with_writes ('1'|'0'),
#       light ('1'|'0')
# light -> flat {id, version, metadata, created_at} for up to `limit` versions (the caller
#          filters, skips hashes Redis expired and stops at the first expired one)
# full  -> {cut, records, blobs}: the live checkpoints that fit the byte budget, reading
#          sizes (HSTRLEN) before values, so nothing is read that the page does not hold
LIST = (
    READ
    + r"""
local vkey, base, tag = KEYS[1], ARGV[1], ARGV[2]
local limit = tonumber(ARGV[4])
if ARGV[8] == '1' then
  local rows = redis.call('ZREVRANGEBYSCORE', vkey, ARGV[3], '-inf', 'WITHSCORES',
                          'LIMIT', 0, limit)
  local out = {}
  for i = 1, #rows, 2 do
    local got = redis.call('HMGET', base .. 'cp:' .. rows[i], 'metadata', 'created_at')
    out[#out + 1] = rows[i]
    out[#out + 1] = rows[i + 1]
    out[#out + 1] = got[1]
    out[#out + 1] = got[2]
  end
  return out
end
local c = cutoff_of(ARGV[5])
local with_writes = ARGV[7] == '1'
local b = budget(0, 0, tonumber(ARGV[6]), limit)
local out, blobs, seen = {}, {}, {}
local offset, done = 0, false
while not done do
  local ids = redis.call('ZREVRANGEBYSCORE', vkey, ARGV[3], '-inf', 'LIMIT', offset, 100)
  if #ids == 0 then break end
  offset = offset + #ids
  for _, id in ipairs(ids) do
    local t = redis.call('HGET', base .. 'cp:' .. id, 'created_at')
    if t then
      if c ~= nil and tonumber(t) < c then
        done = true
        break
      end
      if not admit(b, weigh(base, id, with_writes)) then
        done = true
        break
      end
      out[#out + 1] = record(base, tag, id, with_writes, blobs, seen)
      if b.count >= limit then
        done = true
        break
      end
    end
  end
end
return {b.cut, out, blobs}
"""
)

# Every lineage of an execution, by position (created_at, namespace, version) descending.
# KEYS: times
# ARGV: root, max ('+inf' | µs), bound (member | ''), limit, min (cutoff µs | '-inf'),
#       max_bytes, with_writes ('1'|'0'), mode ('full' | 'light' | 'meta')
# full  -> {cut, records, blobs} as LIST
# light -> flat {created_at, member, weight, metadata | false} for up to `limit` live
#          checkpoints (metadata only in mode 'meta'); the last row is where to go on
LIST_EXECUTION = (
    READ
    + r"""
local root = ARGV[1]
local limit = tonumber(ARGV[4])
local with_writes = ARGV[7] == '1'
local mode = ARGV[8]
local b = budget(0, 0, tonumber(ARGV[6]), limit)
local out, blobs, seen, bases = {}, {}, {}, {}
local rows = 0
walk_times(KEYS[1], ARGV[2], ARGV[3], ARGV[5], function(score, member)
  local ns, version, id = tparse(member)
  local s = bases[ns]
  if s == nil then
    s = b64(ns)
    bases[ns] = s
  end
  local base = root .. s .. ':'
  local v = redis.call('HGET', base .. 'cp:' .. id, 'version')
  if not v or tonumber(v) ~= version then return true end  -- expired by Redis
  if mode == 'full' then
    if not admit(b, weigh(base, id, with_writes)) then return false end
    out[#out + 1] = record(base, s, id, with_writes, blobs, seen)
    return b.count < limit
  end
  out[#out + 1] = score
  out[#out + 1] = member
  out[#out + 1] = weigh(base, id, with_writes)
  if mode == 'meta' then
    out[#out + 1] = redis.call('HGET', base .. 'cp:' .. id, 'metadata')
  else
    out[#out + 1] = false
  end
  rows = rows + 1
  return rows < limit
end)
if mode == 'full' then return {b.cut, out, blobs} end
return out
"""
)

# Checkpoints of one execution by id, in order, within a byte budget.
# KEYS: namespaces (any key of the execution)
# ARGV: root, used, count, max_bytes, limit, with_writes ('1'|'0'), cutoff|'',
#       then per checkpoint: b64ns, id
# -> {cut, records, blobs, used}; checkpoints gone meanwhile are skipped
FETCH = (
    READ
    + r"""
local root = ARGV[1]
local c = cutoff_of(ARGV[7])
local with_writes = ARGV[6] == '1'
local b = budget(tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
local out, blobs, seen = {}, {}, {}
for i = 8, #ARGV, 2 do
  if b.count >= b.limit then break end
  local s, id = ARGV[i], ARGV[i + 1]
  local base = root .. s .. ':'
  local t = redis.call('HGET', base .. 'cp:' .. id, 'created_at')
  if t and (c == nil or tonumber(t) >= c) then
    if not admit(b, weigh(base, id, with_writes)) then break end
    out[#out + 1] = record(base, s, id, with_writes, blobs, seen)
  end
end
return {b.cut, out, blobs, b.used}
"""
)

# KEYS: namespaces; ARGV: root, cutoff|'' -> the base64 namespaces with a live checkpoint
NAMESPACES = (
    COMMON
    + r"""
local c = cutoff_of(ARGV[2])
local out = {}
for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if lineage_live(ARGV[1] .. s .. ':', c) then out[#out + 1] = s end
end
return out
"""
)

# Whether an execution holds a live checkpoint; on plain Redis, one that does not leaves
# the executions index in the same step.
# KEYS: namespaces[, index keys]; ARGV: root, cutoff|'', execution_id -> 1 | 0
LIVE = (
    COMMON
    + r"""
local c = cutoff_of(ARGV[2])
for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if lineage_live(ARGV[1] .. s .. ':', c) then return 1 end
end
unindex(2, ARGV[3])
return 0
"""
)

# A cluster's lazy clean-up of the executions index (in its own slot): remove an entry
# that still has the score seen with nothing live behind it, unless it is recent (a save
# may be on its way: it adds the entry before its script runs).
# KEYS: index keys (the first the global index); ARGV: execution_id, seen score | '',
#       recent (µs)
UNINDEX = r"""
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
if ARGV[2] ~= '' and tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if tonumber(score) >= tonumber(ARGV[3]) then return 0 end
for i = 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
"""

# A cluster's entry for an execution in the index (its keys share one slot).
# KEYS: index keys; ARGV: updated_at µs, execution_id
INDEX_ADD = r"""
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'GT', ARGV[1], ARGV[2]) end
return 1
"""

# One page of a walk up the parent chain, with the rules of AncestorWalk (the store feeds
# the result to one, which decides again).
# KEYS: versions (routing)
# ARGV: base, tag, start, include_start ('1'|'0'), cutoff|'', limit, max_bytes,
#       include_state ('1'|'0'), channel count (-1: every channel), names...
# -> false (start does not exist) | {next ('' ended | id the next page starts at), records,
#    blobs}; records carry only the channels and writes asked for, states only when asked
ANCESTORS = (
    READ
    + r"""
local base, tag = ARGV[1], ARGV[2]
local c = cutoff_of(ARGV[5])
local limit, max = tonumber(ARGV[6]), tonumber(ARGV[7])
local with_state = ARGV[8] == '1'
local remaining = nil
if tonumber(ARGV[9]) >= 0 then
  remaining = {}
  for i = 10, 9 + tonumber(ARGV[9]) do remaining[ARGV[i]] = true end
end
local function fetch(id)
  local got = redis.call('HMGET', base .. 'cp:' .. id, unpack(FIELDS))
  if not got[7] then return nil end
  if c ~= nil and tonumber(got[7]) < c then return nil end
  return got
end
local id = ARGV[3]
local fields = fetch(id)
if fields == nil then return false end
if ARGV[4] == '0' then
  if fields[4] == '' then return {'', {}, {}} end
  id = fields[4]
  fields = fetch(id)
end
local out, blobs, seen = {}, {}, {}
local used = 0
local bkey = base .. 'blobs'
while fields ~= nil do
  local refs = redis.call('HGET', base .. 'chans', id) or ''
  local kept, found = {}, {}
  local size = 512
  if with_state then size = size + #fields[1] else fields[1] = '' end
  for f in each_ref(refs) do
    local name = ref_name(f)
    if remaining == nil or remaining[name] then
      kept[#kept + 1] = f
      found[#found + 1] = name
      size = size + 64 + redis.call('HSTRLEN', bkey, f)
    end
  end
  local writes = {}
  local flat = redis.call('HGETALL', base .. 'w:' .. id)
  for i = 1, #flat, 2 do
    local head, nl = write_head(flat[i + 1])
    if remaining == nil or remaining[head[1]] then
      writes[#writes + 1] = flat[i]
      writes[#writes + 1] = flat[i + 1]
      size = size + 64 + #flat[i + 1] - nl
    end
  end
  if #out > 0 and (#out >= limit or used + size > max) then return {id, out, blobs} end
  local trimmed = ''
  if #kept > 0 then trimmed = table.concat(kept, '\0') .. '\0' end
  add_blobs(base, tag, trimmed, blobs, seen)
  out[#out + 1] = {tag, id, fields, trimmed, writes}
  used = used + size
  local finished = false
  if remaining ~= nil then
    for _, name in ipairs(found) do remaining[name] = nil end
    finished = next(remaining) == nil
  end
  if finished or fields[4] == '' then return {'', out, blobs} end
  if #out >= limit then return {fields[4], out, blobs} end
  id = fields[4]
  fields = fetch(id)
end
return {'', out, blobs}
"""
)

# -- copy ------------------------------------------------------------------------------------
# A copy reads the source a chunk at a time, stages it under keys of the target's slot no
# reader looks at (`<target root>~copy:<token>:...`; '~' is not in base64), then publishes
# it all in one script: the target appears whole or not at all.

# KEYS: versions (source lineage); ARGV: base, after (version), max_items, max_bytes,
#       cutoff|''
# -> {last version read (0: the end), records, blobs}; records {id, version, fields,
#    refs, writes}
COPY_READ = (
    READ
    + r"""
local base = ARGV[1]
local c = cutoff_of(ARGV[5])
local max = tonumber(ARGV[4])
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf', 'WITHSCORES',
                        'LIMIT', 0, tonumber(ARGV[3]))
local out, blobs, seen = {}, {}, {}
local size, last, full = 0, 0, false
for i = 1, #rows, 2 do
  local id = rows[i]
  last = tonumber(rows[i + 1])
  local fields = redis.call('HMGET', base .. 'cp:' .. id, unpack(FIELDS))
  if fields[7] and (c == nil or tonumber(fields[7]) >= c) then
    local refs = redis.call('HGET', base .. 'chans', id) or ''
    local writes = redis.call('HGETALL', base .. 'w:' .. id)
    add_blobs(base, '', refs, blobs, seen)
    out[#out + 1] = {id, rows[i + 1], fields, refs, writes}
    size = size + weigh(base, id, true)
    if size >= max then
      full = true
      break
    end
  end
end
if not full and #rows < 2 * tonumber(ARGV[3]) then last = 0 end
return {last, out, blobs}
"""
)

# KEYS: orphans (source lineage); ARGV: base, offset, count
# -> {next offset (0: the end), flat {id, score, writes}}
COPY_READ_ORPHANS = r"""
local rows = redis.call('ZRANGE', KEYS[1], tonumber(ARGV[2]),
                        tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1, 'WITHSCORES')
local out = {}
for i = 1, #rows, 2 do
  out[#out + 1] = rows[i]
  out[#out + 1] = rows[i + 1]
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. 'w:' .. rows[i])
end
local following = 0
if #rows == 2 * tonumber(ARGV[3]) then following = tonumber(ARGV[2]) + tonumber(ARGV[3]) end
return {following, out}
"""

# KEYS: staged namespaces (target slot)
# ARGV: stage root, b64ns, ns, staging pexpire ms, record count, orphan count,
#       per record: id, version, 8 fields, refs, write count, (field, value)...,
#       per orphan: id, score, write count, (field, value)...,
#       then channel values: field, content_type, value...
STAGE = (
    COMMON
    + r"""
local sroot, s = ARGV[1], ARGV[2]
local base = sroot .. s .. ':'
local ttl = ARGV[4]
local touched = {KEYS[1], sroot .. 'times'}
local function key(k)
  touched[#touched + 1] = k
  return k
end
redis.call('SADD', KEYS[1], s)
local i = 7
for _ = 1, tonumber(ARGV[5]) do
  local id, version = ARGV[i], ARGV[i + 1]
  local f = {}
  for j = 1, 8 do f[j] = ARGV[i + 1 + j] end
  redis.call('HSET', key(base .. 'cp:' .. id), 'state', f[1], 'content_type', f[2],
             'metadata', f[3], 'parent_id', f[4], 'node', f[5], 'next_nodes', f[6],
             'created_at', f[7], 'version', f[8])
  redis.call('ZADD', key(base .. 'versions'), version, id)
  redis.call('ZADD', sroot .. 'times', f[7], tmember(ARGV[3], tonumber(version), id))
  local refs = ARGV[i + 10]
  if refs ~= '' then
    redis.call('HSET', key(base .. 'chans'), id, refs)
    for r in each_ref(refs) do redis.call('HINCRBY', key(base .. 'blobrefs'), r, 1) end
  end
  local nw = tonumber(ARGV[i + 11])
  i = i + 12
  for _ = 1, nw do
    redis.call('HSET', key(base .. 'w:' .. id), ARGV[i], ARGV[i + 1])
    i = i + 2
  end
end
for _ = 1, tonumber(ARGV[6]) do
  local id, score, nw = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  redis.call('ZADD', key(base .. 'orphans'), score, id)
  i = i + 3
  for _ = 1, nw do
    redis.call('HSET', key(base .. 'w:' .. id), ARGV[i], ARGV[i + 1])
    i = i + 2
  end
end
while i <= #ARGV do
  redis.call('HSET', key(base .. 'blobs'), ARGV[i], ARGV[i + 2], ARGV[i] .. '\0', ARGV[i + 1])
  i = i + 3
end
local done = {}
for _, k in ipairs(touched) do
  if not done[k] then
    done[k] = true
    redis.call('PEXPIRE', k, ttl)
  end
end
return 1
"""
)

_STAGE_FUNCTIONS = r"""
-- Every key of a stage, with the key it becomes under `root`.
local function staged(sroot, root)
  local out = {}
  for _, s in ipairs(redis.call('SMEMBERS', sroot .. 'namespaces')) do
    local sb, db = sroot .. s .. ':', root .. s .. ':'
    for _, id in ipairs(redis.call('ZRANGE', sb .. 'versions', 0, -1)) do
      out[#out + 1] = {sb .. 'cp:' .. id, db .. 'cp:' .. id}
      out[#out + 1] = {sb .. 'w:' .. id, db .. 'w:' .. id}
    end
    for _, id in ipairs(redis.call('ZRANGE', sb .. 'orphans', 0, -1)) do
      out[#out + 1] = {sb .. 'w:' .. id, db .. 'w:' .. id}
    end
    for _, k in ipairs({'blobs', 'blobrefs', 'chans', 'orphans', 'versions'}) do
      out[#out + 1] = {sb .. k, db .. k}
    end
  end
  out[#out + 1] = {sroot .. 'times', root .. 'times'}
  out[#out + 1] = {sroot .. 'namespaces', root .. 'namespaces'}
  return out
end

local function drop_stage(sroot)
  for _, pair in ipairs(staged(sroot, '')) do redis.call('DEL', pair[1]) end
end
"""

# KEYS: target namespaces[, index keys]
# ARGV: target root, stage root, target execution_id, now µs, ttl_ms|'', cutoff|''
# -> how many checkpoints were published | -1 (the target has live checkpoints now:
#    nothing published, the stage removed)
PUBLISH = (
    MAINTAIN
    + _STAGE_FUNCTIONS
    + r"""
local nskey, root, sroot = KEYS[1], ARGV[1], ARGV[2]
local c = cutoff_of(ARGV[6])
for _, s in ipairs(redis.call('SMEMBERS', nskey)) do
  if lineage_live(root .. s .. ':', c) then
    drop_stage(sroot)
    return -1
  end
end
-- What the target holds is not live (orphan writes, expired checkpoints): replaced.
for _, s in ipairs(redis.call('SMEMBERS', nskey)) do
  clear_lineage(root, root .. s .. ':', unb64(s), c, false)
end
redis.call('DEL', nskey, root .. 'times')
local n = 0
for _, s in ipairs(redis.call('SMEMBERS', sroot .. 'namespaces')) do
  n = n + redis.call('ZCARD', sroot .. s .. ':versions')
end
for _, pair in ipairs(staged(sroot, root)) do
  if redis.call('EXISTS', pair[1]) == 1 then
    redis.call('RENAME', pair[1], pair[2])
    if ARGV[5] ~= '' then
      redis.call('PEXPIRE', pair[2], ARGV[5])
    else
      redis.call('PERSIST', pair[2])
    end
  end
end
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], ARGV[4], ARGV[3]) end
return n
"""
)

# KEYS: staged namespaces; ARGV: stage root -> 1
ABORT = (
    _CORE
    + _STAGE_FUNCTIONS
    + r"""
drop_stage(ARGV[1])
return 1
"""
)

# -- upgrade -----------------------------------------------------------------------------------

# Layout 1 -> 2 for one execution: build its time index from its checkpoints.
# KEYS: namespaces; ARGV: root -> the newest created_at (0 without checkpoints)
UPGRADE = (
    COMMON
    + r"""
local root = ARGV[1]
local tkey = root .. 'times'
local newest = 0
for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local base, ns = root .. s .. ':', unb64(s)
  local rows = redis.call('ZRANGE', base .. 'versions', 0, -1, 'WITHSCORES')
  for i = 1, #rows, 2 do
    local t = redis.call('HGET', base .. 'cp:' .. rows[i], 'created_at')
    if t then
      redis.call('ZADD', tkey, t, tmember(ns, tonumber(rows[i + 1]), rows[i]))
      if tonumber(t) > newest then newest = tonumber(t) end
    end
  end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', tkey, ttl) end
return newest
"""
)

# For tests: the scripts' base64 and time index members, checked against Python's.
# KEYS: any; ARGV: text, base64 -> {b64(text), unb64(base64)}
SELF_TEST = (
    _CORE
    + r"""
return {b64(ARGV[1]), unb64(ARGV[2]), tostring(below(ARGV[1], ARGV[2]))}
"""
)

#: Every script by the name the store calls it.
SCRIPTS = {
    "save": SAVE,
    "put_writes": PUT_WRITES,
    "delete": DELETE,
    "clear": CLEAR,
    "prune": PRUNE,
    "delete_many": DELETE_MANY,
    "load": LOAD,
    "latest": LATEST,
    "list": LIST,
    "list_execution": LIST_EXECUTION,
    "fetch": FETCH,
    "namespaces": NAMESPACES,
    "live": LIVE,
    "unindex": UNINDEX,
    "index_add": INDEX_ADD,
    "ancestors": ANCESTORS,
    "copy_read": COPY_READ,
    "copy_read_orphans": COPY_READ_ORPHANS,
    "stage": STAGE,
    "publish": PUBLISH,
    "abort": ABORT,
    "upgrade": UPGRADE,
    "self_test": SELF_TEST,
}
