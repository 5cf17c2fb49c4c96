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
"""

from .schema import MIGRATIONS, list_query
from .store import SqliteStore

__all__ = ["MIGRATIONS", "SqliteStore", "list_query"]
