"""``postgresql://``: checkpoints in PostgreSQL, through a psycopg connection pool.

Concurrency. There is no lock in this process: every call takes its own connection from
the pool, so calls run in parallel up to ``max_size`` and queue for ``timeout`` seconds
beyond that (then ``ResourceExhausted``). Saves are stored in batches by the function
``<prefix>save_many``, one statement, so one round trip and one commit per batch. A
``save_many`` call is one batch; with ``coalesce_saves`` (the default) the single saves
that arrive in one event-loop iteration, from any RPC, are one batch (at most
``max_batch``; see ``_batch.Coalescer``), and those that arrive while a batch runs form
the next one, so batches grow with the load; without it each single save is a batch of
one. One coalesced batch runs at a time (at 64 callers, 3,400 saves/s against 2,300
with two at a time and 1,700-1,800 with four: bigger batches, fewer commits);
``save_many`` calls run concurrently, each on a connection of its own.

A batch first takes a transaction-scoped advisory lock per lineage, keyed by a hash of
the store's tables and the lineage (the key a save of an older replica takes alone), all
of them in ascending key order, so that two batches never wait for each other in a
cycle. Under the locks no other save can move a lineage's latest version, so the
function decides every item in order exactly as a save alone would: expired rows of the
lineage deleted, an existing id answered with its row, compare-and-set checked against
the latest version, else version ``latest + 1`` (items of one lineage get consecutive
versions in batch order). It reads with primary-key and version-index probes, decides in
memory, then inserts the stored items in one statement and prunes each lineage once, to
the rows pruning after every save would have left. Versions are unique and gap-free
without retry loops; in the database different lineages never wait for each other
(except on a 64-bit hash collision, which only costs a wait), and batches sharing a
lineage run one after the other. In the gateway, coalesced saves do wait for each other:
one coalesced batch runs at a time, so a batch that stalls (on a lock taken outside the
gateway, a slow disk) holds up the saves queued behind it, whatever their lineage, until
it ends or their deadlines pass. ``coalesce_saves=False`` gives every save a connection
of its own again, at the throughput cost measured above.

What batching does not change: a caller is answered after its batch committed; an
item's own failure (``Conflict``) is its alone; a failure of the whole statement (a lost
connection) reaches every caller of the batch as a retryable error, and nothing of the
batch is stored. Concurrent saves of one lineage that are not in one batch are ordered
by the lock, as before.

Schema. Two tables per store (``<prefix>checkpoints``, ``<prefix>writes``) in the
configured schema. ``UNIQUE (execution_id, namespace, version)`` is the index ``List``
walks backwards (keyset pagination with ``version < n``, never OFFSET), and ``latest`` and
``max(version)`` read one entry of it. Text keys use ``COLLATE "C"`` so the database sorts
pending writes by code point, exactly as the other backends do.

Metadata. ``metadata_text`` holds the exact JSON the caller's metadata encodes to, so a
checkpoint reads back byte for byte (JSONB would rewrite ``1e+20`` as an integer, and a
retried save must compare equal). ``metadata`` (JSONB, GIN ``jsonb_path_ops``) holds only
the top-level scalar entries, the only ones an equality filter can match, which keeps the
index small. A filter becomes ``metadata @> {...}``: JSONB compares numbers by value
(``1`` matches ``1.0``), never equates ``true`` with ``1`` or ``"1"`` with ``1``, and a
``null`` matches only a present null. JSONB cannot hold U+0000, so it is replaced in that
column; every row SQL returns is checked again with ``validation.matches``, so results
equal the other backends' even for such strings.

Migrations. ``MIGRATIONS`` lists the schema changes (position ``i`` is version ``i + 1``);
``<prefix>migrations`` records each version applied. ``setup()`` applies the missing ones
in one transaction under an advisory lock derived from schema and prefix, so replicas
starting together serialize and the later ones find nothing to do. Inside a caller's
transaction it runs in a savepoint. A replica of an older version keeps working beside a
newer schema: it applies only the versions it knows, and its saves take the same lineage
locks as batches do.

Errors. Pool exhaustion (every connection busy) becomes ``ResourceExhausted``; a lost
connection, a server that cannot be reached (including a pool wait that timed out while
the pool failed to connect), a serialization failure or a deadlock becomes
``Unavailable`` (safe to retry). Messages name the server without its password. Any other
database error is a defect and propagates (the gateway reports INTERNAL).
"""

from .schema import MIGRATIONS, migrate
from .settings import PostgresSettings
from .store import PostgresStore

__all__ = ["MIGRATIONS", "PostgresSettings", "PostgresStore", "migrate"]
