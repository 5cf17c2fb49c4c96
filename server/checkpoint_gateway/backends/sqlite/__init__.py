"""``sqlite:///path.db``: checkpoints in one SQLite file, shared safely by processes.

Concurrency. Every mutation runs on one dedicated writer thread with its own connection,
inside ``BEGIN IMMEDIATE``: the write lock is taken up front, so a transaction never has to
upgrade a read lock (which in WAL mode fails with ``SQLITE_BUSY_SNAPSHOT`` without waiting),
and writers of this process queue on the thread instead of fighting over the file lock.
Reads run on a small pool of reader threads, each with its own connection; WAL lets them
read a consistent snapshot while the writer commits. Writers in *other* processes are
waited for up to ``busy_timeout_ms``; a lock still held after that becomes ``Unavailable``
(safe to retry). Any other SQLite error propagates, and the gateway reports it as INTERNAL.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL``. With WAL, ``synchronous=NORMAL``
survives a crash of the process (the committed frames are in the WAL file, in the OS page
cache) but not a power loss or kernel crash: the WAL is only fsynced at checkpoints, so the
last transactions acknowledged before the machine went down can vanish. A checkpoint
store promises that an acknowledged save is never lost, so every commit fsyncs the WAL
(FULL). The price is one fsync per transaction.

Schema: ``MIGRATIONS`` lists the schema changes; position ``i`` is version ``i + 1``, and
``schema_migrations`` records every version applied. ``setup()`` applies what is missing in
one ``BEGIN IMMEDIATE`` transaction, so running it twice is a no-op and two processes
running it at once serialize on the write lock (the second finds nothing left to do).
Each entry is a single statement because ``executescript`` would commit on its own.

Time: ``created_at`` is stored as integer microseconds since the Unix epoch (UTC), which
round-trips a ``datetime`` exactly and compares as a number for expiry.

Layout (``schema``): a checkpoint row keeps its channel references as JSON
``{name: version}``; the values live once per ``(execution, namespace, channel,
version)`` in ``blobs``. A save checks them with one statement and inserts only the new
ones; when checkpoints go, the values their lineage no longer refers to go with them (a
``json_each`` over the lineage's remaining rows, only when the removed rows carried
channels). Writes have no foreign key (they may come first) and a ``created_at`` for the
orphan rules. ``executions`` holds each execution's ``updated_at``, upserted by every
save. The state is the last column of a checkpoint row, so reading the others never
walks a large state's overflow pages.

Reads: a page is chosen by one statement that also weighs each candidate (from
``length()``, which reads no value); only the rows that fit the byte budget are then
read, all in one read transaction. ``ancestors`` finds a page of the parent chain with
one recursive query. Indexes: ``checkpoints_by_version`` (a lineage's listing, latest,
CAS), ``checkpoints_by_time`` (an execution across namespaces, expiry),
``checkpoints_by_run_id`` (an expression index on ``metadata.run_id``: search and
delete by run), ``executions_by_update``, ``writes_by_time`` (orphans). Searching
without a run_id filter scans the checkpoints (not their states) and keeps the newest.

Copy runs in one write transaction: nobody sees a half-done copy, and a failed one leaves
nothing.
"""

from .schema import MIGRATIONS, list_query, search_query
from .store import SqliteStore

__all__ = ["MIGRATIONS", "SqliteStore", "list_query", "search_query"]
