"""``file:///path``: checkpoints as files in a directory tree, shared safely by processes.

Layout. Every name is derived from a SHA-256 of an id, never from the id itself, so no id
("..", "/abs", "a/b", 256 multibyte characters) can name a path outside the root or exceed
the file system's name length; the real ids are kept inside the files::

    <root>/
      .locks/<E>.lock            flock()ed by every mutation of execution E
      <E>/                       E = sha256(execution_id), one directory per execution
        <N>/                     N = sha256(namespace), one lineage
          <V>-<C>.ckpt           V = version (20 digits), C = sha256(checkpoint_id)[:32]
          <V>-<C>.w/             the pending writes of that checkpoint
            <T>-<I>.pw           T = sha256(task_id)[:32], I = idx + 2**31 (10 digits)
          .tmp-*                 a file being written, or a directory being deleted

A ``.ckpt`` file is one line of ASCII JSON (ids, parent_id, node, next_nodes, content_type,
metadata, created_at as ISO 8601 with microseconds, version, state length) followed by the
raw state bytes; a ``.pw`` file is the same for one pending write. Zero-padded versions make
the reverse-sorted file names the newest-first order, so a listing reads names, then opens
only the files it needs: headers for the metadata filter, the state only of what it returns.

Crash safety. Every file is written to a ``.tmp-`` file in its final directory, flushed and
fsynced, renamed over its final name with ``os.replace`` and the directory is fsynced before
the call returns. A rename is atomic, so a name either does not exist or names complete,
durable contents; a crash leaves at worst a ``.tmp-`` file, which no read looks at. The
rename of the ``.ckpt`` file is a save's commit point: before it nothing is visible, after
it (and the directory fsync) the save is durable, and only then is it acknowledged.
Removing a checkpoint unlinks its ``.ckpt`` (the commit point), then renames its writes
directory to ``.tmp-`` (so a reader sees all of the writes or none) and deletes that. A
crash in between leaves an orphan ``.w`` directory that no read reaches, because reads
start from a ``.ckpt``. Clearing renames the namespace or execution directory to ``.tmp-``
in one atomic step, then deletes it. Every mutation of an execution holds its lock, so a
save that finds ``.tmp-`` entries or orphan ``.w`` directories in its lineage knows they are
crash leftovers and deletes them before it stores anything. That matters because versions
can repeat (deleting the latest checkpoint frees its version): a re-saved id would otherwise
inherit the writes of an earlier checkpoint with the same file name.

Not atomic: a ``put_writes`` call with several writes stores them one file at a time, so a
crash (or a concurrent reader) may see some of them; each write is whole, and all of them
are durable before the call returns. Retention pruning happens after the save's commit
point; a crash in between leaves surplus checkpoints that the next save prunes.

Concurrency. Blocking I/O runs on the store's own thread pool (like ``asyncio.to_thread``,
but not the event loop's default executor: callers that park blocking calls there, such as a
sync client talking to a gateway in the same process, could otherwise occupy every thread
the store needs to answer them). Mutations of one execution are
serialized by an ``flock`` on ``.locks/<E>.lock``, taken in the worker thread and kept
outside the execution directory so that clearing the execution can remove the directory
while holding the lock. flock works across processes and across stores on the same
directory; in-process, an ``asyncio.Lock`` per execution queues writers before they occupy
a thread. Reads take no lock: every file they open is complete, and a file that vanishes
between listing and opening (deleted, pruned) is treated as not there.
"""

from .store import FileStats, FileStore

__all__ = ["FileStats", "FileStore"]
