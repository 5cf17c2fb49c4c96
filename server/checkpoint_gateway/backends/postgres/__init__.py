"""``postgresql://``: checkpoints in PostgreSQL, through a psycopg connection pool.

Concurrency. There is no lock in this process: every call takes its own connection from
the pool, so calls run in parallel up to ``max_size`` and queue for ``timeout`` seconds
beyond that (then ``ResourceExhausted``). Saves are stored in batches by the function
``<prefix>save_batch``, one statement, so one round trip and one commit per batch. A
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
function (``<prefix>save_batch``) decides every item in order exactly as a save alone
would: expired rows of the lineage deleted, an existing id answered with its row, the
channels checked, compare-and-set checked against the latest version, else version
``latest + 1`` (items of one lineage get consecutive versions in batch order). It reads
with primary-key and index probes, decides in memory, then inserts the stored items in
one statement and prunes each lineage once, to the rows pruning after every save would
have left. Versions are unique and gap-free without retry loops; in the database
different lineages never wait for each other (except on a 64-bit hash collision, which
only costs a wait), and batches sharing a lineage run one after the other. In the
gateway, coalesced saves do wait for each other: one coalesced batch runs at a time, so
a batch that stalls (on a lock taken outside the gateway, a slow disk) holds up the saves
queued behind it, whatever their lineage, until it ends or their deadlines pass.
``coalesce_saves=False`` gives every save a connection of its own again, at the
throughput cost measured above.

What batching does not change: a caller is answered after its batch committed; an
item's own failure (``Conflict``, ``NotFound``) is its alone; a failure of the whole
statement (a lost connection) reaches every caller of the batch as a retryable error,
and nothing of the batch is stored. Concurrent saves of one lineage that are not in one
batch are ordered by the lock, as before.

Schema. Five tables per store in the configured schema, text keys ``COLLATE "C"`` (so
the database sorts by code point, exactly as the other backends do):

- ``<prefix>checkpoints``: one row per checkpoint, with its channel references as two
  arrays (``channel_names``, ``channel_versions``). ``UNIQUE (execution_id, namespace,
  version)`` is the index ``List`` walks backwards (keyset pagination with ``version <
  n``, never OFFSET), and ``latest`` reads one entry of it. ``(execution_id,
  created_at)`` serves listings across the namespaces of an execution (newest first,
  ties sorted incrementally), the TTL sweep, and "does this execution hold a live
  checkpoint". Search across executions has no index of its own (one more index entry
  per save for an operator's listing): with a metadata filter it reads the GIN index
  below and sorts the matches; without one it sorts the table (or, with an execution id
  prefix, the prefix's range).
- ``<prefix>blobs``: channel values, one row per ``(execution_id, namespace, channel,
  version)``.
- ``<prefix>writes``: pending writes by ``(execution_id, namespace, checkpoint_id,
  task_id, idx)``, with ``created_at``; no foreign key, since writes may come before
  their checkpoint.
- ``<prefix>executions``: ``(execution_id, updated_at)``, upserted by every batch that
  stores into an execution (one row per execution per batch, in id order), indexed
  ``(updated_at DESC, execution_id DESC)`` for ``executions``. Rows of executions left
  without checkpoints are dropped by the removals that empty them (the row locked first,
  then checked by a statement of its own, so that a save committed meanwhile is seen).
  With a TTL, the walk stops at ``updated_at < cutoff``: rows of executions whose
  checkpoints all expired stay, unread, until a save or clear reaches them.

Channels. A save's channel values are compared with the stored ones inside the batch's
statement (``b.value = x.value``: lengths first, bytes only when they match; nothing
stored travels back), and references checked there; new values are inserted once. A
value goes when no checkpoint of its lineage carries it any more: after retention or
TTL removed checkpoints carrying channels (in the save's statement), and after delete,
delete_where, prune and clear (``<prefix>collect_blobs``, which reads the references of
the lineage's remaining checkpoints; with retention that is at most ``max_checkpoints``
rows). Loads and listings return each checkpoint with its values in the same row (a
lateral join probing the blobs' primary key per reference).

Pending writes. ``put_writes`` is one statement whether or not the checkpoint exists:
``ON CONFLICT DO UPDATE ... WHERE excluded.idx < 0`` keeps the first write of a key with
``idx >= 0`` and replaces a special one. Saves never delete writes under their own id.
Retention removes the writes of what it prunes and the orphans stored before the newest
checkpoint it removed (judged as each pruning within a batch would have); the TTL sweep
removes an expired checkpoint's writes stored while it lived, the orphans of the
batch's own ids older than the TTL (so they never show once saved), and all orphans of
a lineage left empty. With a TTL, a write that is gone in all but storage does not
block a new first write of its key.

Listings. A page is one statement: a keyset scan takes ``limit`` rows without their
states, weighs each as ``_base.weight`` does (``octet_length``, which reads a stored
value's length and not the value), and a running sum admits the rows within
``max_page_bytes``; only those are joined back for state, values and writes. States a
page does not return are never read. Ancestors take two statements: a recursive query
over ``parent_id`` with the sizes of what each checkpoint would carry, then exactly the
states, channel values (of the requested channels) and writes (on those channels) the
page keeps.

Removals and copies. ``delete``, ``clear``, ``delete_where``, ``prune`` (per execution)
and ``copy_execution`` each run in one transaction that first takes the advisory locks
of the lineages they touch, in ascending order, as saves do, so a value is never
collected between a save's check and its commit, and a copy sees no save half done.
A copy is all or nothing: nothing of it shows before all of it does.

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
transaction it runs in a savepoint. Version 3 adds the channel columns (without a table
rewrite), the blobs and executions tables (the latter filled from the rows present), the
``(execution_id, created_at)`` index (built while writes wait: run ``migrate`` at a quiet
time on a large table), and lets writes come first (foreign key dropped, ``created_at``
added, the upgrade's time for rows before it). Version 4 adds ``save_batch`` and turns
version 2's ``save_many`` into a call of it without channels, so that a replica of the
previous version keeps working beside the new schema during a rolling upgrade, its saves
keeping the executions index and the retention rules. Its other writes keep their old
meaning: its ``put_writes`` still requires a saved checkpoint, and its ``delete`` and
``clear`` no longer take writes along (the foreign key did), leaving them as orphans
for the rules above.

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
