"""``file:///path``: checkpoints as files in a directory tree, shared safely by processes.

Layout. Every name is derived from a SHA-256 of an id, never from the id itself, so no id
("..", "/abs", "a/b", 256 multibyte characters) can name a path outside the root or exceed
the file system's name length; the real ids are kept inside the files::

    <root>/
      .format                    {"format": 2}: the layout (``upgrade`` converts older ones)
      .locks/<E>.lock            flock()ed by every mutation of execution E
      <E>/                       E = sha256(execution_id), one directory per execution
        <N>/                     N = sha256(namespace), one lineage
          <V>-<C>.ckpt           V = version (20 digits), C = sha256(checkpoint_id)[:32]
          w-<C>/                 the pending writes stored under checkpoint id C, saved or not
            <T>-<I>.pw           T = sha256(task_id)[:32], I = idx + 2**31 (10 digits)
          b-<H>-<K>.blob         a channel value: H = sha256(name)[:32], K = sha256(version)[:32]
          u-<µs>                 empty; its name is when a checkpoint was last saved here
          .tmp-del-<C>           a checkpoint being removed (see below)
          .tmp-*                 a file being written, or a directory being deleted
      .tmp-copy-<E>-*            a copy of an execution being built

A ``.ckpt`` file is one line of ASCII JSON (ids, parent_id, node, next_nodes, content_type,
metadata, created_at as ISO 8601 with microseconds, version, state length, and its
channels as ``name -> version``) followed by the raw state bytes. A ``.blob`` is the same
for one channel value (its real name, version, content type, length and SHA-256), and a
``.pw`` for one pending write (with its checkpoint id and ``created_at``, when it was
stored). Zero-padded versions make the reverse-sorted file names the newest-first order,
so a listing reads names, then opens only the files it needs: headers for the metadata
filter, the state only of what it returns (once the page's byte budget admits it, weighed
by the state length in the header).

Channels. A value is stored once per lineage, name and version, in its ``.blob``; the
checkpoints that carry it refer to it from their headers. A save checks its references
exist (a ``stat`` each) and that a value it sends under a stored version has the same
content type, length and digest as the stored one (one header line each). When
checkpoints are removed, the values they referred to are collected: the lineage's
remaining headers are read newest first until each of those values is known to be still
in use (values carry forward, so usually one header), and the rest are deleted. There is
no reference count to keep in step: fine for a store on one node.

Writes are stored under the checkpoint id alone, so they may come before their
checkpoint, and a save never touches them. Each ``.pw`` records when it was stored, for
the orphan rules: retention and ``prune`` delete the writes of unsaved checkpoints stored
before the newest checkpoint they remove, TTL those older than the TTL (reading the
header line of each such write).

Crash safety. Every file is written to a ``.tmp-`` file in its final directory, flushed and
fsynced, renamed over its final name with ``os.replace`` and the directory is fsynced before
the call returns. A rename is atomic, so a name either does not exist or names complete,
durable contents; a crash leaves at worst a ``.tmp-`` file, which no read looks at. The
rename of the ``.ckpt`` file is a save's commit point: before it nothing is visible, after
it (and the directory fsync) the save is durable, and only then is it acknowledged. The new
channel values a save brings are renamed into place and their directory fsynced before
that, so no crash leaves a checkpoint whose value is missing; a crash after them but
before the commit leaves values no checkpoint refers to, which hold the bytes the save
sent for that version (a later save may refer to them) and go with the lineage. The
``u-`` marker is renamed just before the commit: a save cut short may leave it a little
ahead of the newest checkpoint, never behind an acknowledged one.

Removing checkpoints (delete, retention, TTL, prune, delete_where) first renames each
``.ckpt`` to ``.tmp-del-<C>`` and fsyncs: that is the commit point, after which no read
finds it. Then its writes directory goes (renamed to ``.tmp-`` and deleted, so a reader
sees all of the writes or none), the directory is fsynced, the ``.tmp-del-`` file is
unlinked, and unreferenced channel values are deleted. A crash in between leaves the
``.tmp-del-`` file; every mutation of a lineage starts by finishing such removals (and
deleting other ``.tmp-`` leftovers: it holds the lock, so no writer is mid-way), so a
later save or write under the same id never inherits the writes of a removed checkpoint.
A ``w-`` directory without its ``.ckpt`` is not a leftover: it holds writes ahead of their
checkpoint. Deleting an id that was never saved removes its writes directory. Clearing
renames the namespace or execution directory to ``.tmp-`` in one atomic step, then
deletes it.

Copying an execution builds the target under ``.tmp-copy-<E>-<random>`` in the root: each
checkpoint rewritten for the target id and fsynced, values and writes hard-linked (copied
where the file system has no links; no stored file is ever changed in place, so sharing is
safe), the directories fsynced. Then one rename puts it in place: a half-done copy is never
visible. A target that exists without live checkpoints (writes alone, expired checkpoints)
is first renamed aside and deleted after; a copy needs the locks of both executions (taken
in one order). A ``.tmp-copy-`` directory whose execution is not locked is a crash
leftover, deleted when a store opens.

Not atomic: a ``put_writes`` call with several writes stores them one file at a time, so a
crash (or a concurrent reader) may see some of them; each write is whole, and all of them
are durable before the call returns. Retention pruning happens after the save's commit
point; a crash in between leaves surplus checkpoints that the next save prunes.

What a save costs. As before: the state file's fsync and the lineage directory's fsync,
plus the rename of the ``u-`` marker (no fsync of its own: the same directory fsync makes
it durable). A save that brings new channel values adds one file fsync per value and one
directory fsync (values before the commit); a reference costs a ``stat``, a value sent
again a header read.

Listings across lineages (``list(all_namespaces=True)``, ``search``) merge the lineages'
newest-first streams. Within a lineage ``created_at`` rises with the version (it is taken
under the lock), so a page continues in each lineage by bisection: about log2(n) headers
per lineage, plus the headers of the page. ``search``, ``delete_where`` and
``executions`` scan: one directory listing per execution and lineage per call; search
reads log2(n) headers per lineage, delete_where every header of each execution it looks
at, and executions one header per execution (one per lineage with a TTL) and each
lineage's ``u-`` marker name. ``namespaces`` reads one header per lineage. Directory
names are hashes, so an execution id prefix (a tenant) narrows nothing before a header is
read: those scans cover every execution under the root. The file store is single-node and
meant for small deployments; these costs are linear in what is stored.

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

Upgrades. A store written by the format-1 layout (writes in ``<V>-<C>.w/``) is converted
when a store is opened on it, execution by execution under each one's lock (see
``upgrade``); stop gateways running older code first.
"""

from .reading import FileStats
from .store import FileStore

__all__ = ["FileStats", "FileStore"]
