"""``redis://``, ``rediss://``, ``redis+cluster://``: checkpoints in Redis 7 (no modules).

Key layout. Every key of one execution carries the same hash tag, so all of them live in
one Redis Cluster slot and every multi-key operation on an execution is a single Lua
script that runs unchanged on plain Redis and on a cluster::

    <prefix>{<E>}:namespaces              set: <N> of every lineage of the execution
    <prefix>{<E>}:<N>:versions            sorted set: member checkpoint_id, score version
    <prefix>{<E>}:<N>:cp:<checkpoint_id>  hash: state, content_type, metadata, parent_id,
                                          node, next_nodes, created_at (µs), version
    <prefix>{<E>}:<N>:w:<checkpoint_id>   hash: pending writes, field JSON [task_id, idx]

``<E>`` and ``<N>`` are the execution id and the namespace in unpadded URL-safe base64:
its alphabet has no ``{``, ``}`` or ``:``, so no id can move the hash tag or make two
lineages' keys collide. The checkpoint id is last in its key, so it can stay raw.

Ordering comes from the sorted set only, never from ids. ``created_at`` is the gateway's
clock (``Backend.now``), passed into the scripts, never Redis ``TIME``, so tests can inject
a clock. With a TTL, every key a write touches gets ``PEXPIRE``; expiry by time is still
decided on ``created_at`` so an injected clock is honoured, and Redis's own expiry only
collects garbage.
"""

from .settings import RedisSettings
from .store import RedisStore

__all__ = ["RedisSettings", "RedisStore"]
