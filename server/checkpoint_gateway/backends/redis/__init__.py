"""``redis://``, ``rediss://``, ``redis+cluster://``: checkpoints in Redis 7 (no modules).

Key layout (version 2; ``upgrade`` brings version 1 data up when a store opens). Every key
of one execution carries the same hash tag, so all of them live in one Redis Cluster slot
and every operation on an execution is a single Lua script, atomic, that runs unchanged
on plain Redis and on a cluster. ``R`` is ``<prefix>{<E>}:``, the execution's root; ``B``
is ``R<N>:``, a lineage's base::

    R namespaces        set: <N> of every lineage with checkpoints or orphan writes
    R times             sorted set, the execution's time index: score created_at (µs),
                        member "<namespace>\\0<version, 20 digits>\\0<checkpoint_id>", so
                        one ZREVRANGEBYSCORE walks every lineage by position
    B versions          sorted set: member checkpoint_id, score version
    B cp:<id>           hash: state, content_type, metadata, parent_id, node, next_nodes,
                        created_at (µs), version
    B chans             hash: checkpoint_id -> its channel references,
                        "<name>\\0<version>\\0" repeated
    B blobs             hash: "<name>\\0<version>" -> the value, "<name>\\0<version>\\0" ->
                        its content type (names and versions hold no NUL)
    B blobrefs          hash: "<name>\\0<version>" -> how many checkpoints refer to it
    B w:<id>            hash: pending writes of a checkpoint, saved or not; field JSON
                        [task_id, idx], value a JSON header [channel, content_type,
                        task_path, stored_at µs], a newline, the bytes
    B orphans           sorted set: ids whose writes wait for a checkpoint not saved yet,
                        score the oldest write's stored_at

and, outside any execution, in one slot of their own::

    <prefix>executions                      sorted set: execution_id -> updated_at (µs)
    <prefix>{<prefix>executions}~<S>        the same, for the ids starting with the
                                            segment S ("<tenant>/": up to the first "/")
    <prefix>layout                          the layout version

``<E>``, ``<N>`` and ``<S>`` are the execution id, the namespace and the segment in
unpadded URL-safe base64: its alphabet has no ``{``, ``}``, ``:`` or ``~``, so no id can
move a hash tag or make two keys collide. Checkpoint ids are last in their keys, so they
stay raw; index members are raw ids, so ties sort by code point as the contract wants.

Costs. A save is one EVALSHA (coalesced saves share one pipeline): on plain Redis it also
updates the executions index inside the same script, so ``updated_at`` moves only when a
checkpoint is stored; on a cluster the index is in another slot, so one more command (a
two-line script) goes to its node at the same time as the save, and a save then refused
(conflict, lost compare-and-set, retry of a stored one) still moves ``updated_at`` to its
attempt. Channel values are counted per (name, version) in ``blobrefs``: removing a
checkpoint costs O(its channels), never O(lineage). Orphan writes are found through
``orphans`` only. What is indexed: checkpoints by version per lineage, by position per
execution, executions by updated_at (globally and per segment). What is a scan: metadata
filters (read per candidate, matched in Python), ``search`` and ``delete_where`` across
executions (they walk the executions index; search stops once the page is full of
checkpoints newer than the next execution's updated_at), and ``namespaces`` (reads the
execution's namespace set whole).

Copy. The target's keys are in another slot than the source's, so no one script can do
both on a cluster. A copy reads the source a chunk at a time and stages it under the
target's hash tag, in keys no reader looks at (``R~copy:<token>:...``), then one script
checks the target is still empty and renames every staged key into place: a concurrent
reader sees the target either absent or whole, on plain Redis including its executions
index entry. On a cluster the index entry is added just before that script: until it
runs, the target may be listed by ``executions`` only if it is live (it is not yet), so
listings skip it. A copy that fails leaves nothing (its stage is removed, and expires
after an hour should even that fail).

``created_at`` is the gateway's clock (``Backend.now``), passed into the scripts, never
Redis ``TIME``, so tests can inject a clock. With a TTL, every key a write touches gets
``PEXPIRE``; expiry by time is still decided on ``created_at`` so an injected clock is
honoured, and Redis's own expiry only collects garbage (a checkpoint's channel references
are in its lineage's ``chans``, refreshed by every save, so a checkpoint hash Redis
expires first still releases its values).
"""

from .settings import RedisSettings
from .store import RedisStore

__all__ = ["RedisSettings", "RedisStore"]
