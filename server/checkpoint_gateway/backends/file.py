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

from __future__ import annotations

import asyncio
import builtins
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from checkpoint_client import Checkpoint, InternalError, PendingWrite, Unavailable

from .. import validation as v
from ._base import Backend, check_cas, saved_or_conflict

__all__ = ["FileStats", "FileStore"]

_T = TypeVar("_T")

_TMP = ".tmp-"
_CKPT = re.compile(r"(\d{20})-[0-9a-f]{32}\.ckpt")
_WRITES_DIR = re.compile(r"(\d{20}-[0-9a-f]{32})\.w")
_WRITE = re.compile(r"[0-9a-f]{32}-\d{10}\.pw")
_HASH = re.compile(r"[0-9a-f]{64}")
_IDX_OFFSET = 2**31  # makes every 32-bit idx a non-negative, fixed-width file name part
_FORMAT = 1


@dataclass
class FileStats:
    """Counts of checkpoint file reads, for diagnostics and tests.

    Attributes:
        headers_read: checkpoint files opened and their header parsed.
        states_read: checkpoint states read (each also counts as a header read).
    """

    headers_read: int = 0
    states_read: int = 0


class FileStore(Backend):
    """Checkpoints as files under one root directory; see the module docstring.

    Args:
        root: the directory; created by ``open`` when missing.
        threads: size of the thread pool that does the file I/O.
        **kwargs: ``limits``, ``retention`` and ``clock``, as for ``Backend``.
    """

    name = "file"

    def __init__(self, root: str | os.PathLike[str], *, threads: int = 8, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self.root = Path(root)
        self.stats = FileStats()
        self._stats_lock = threading.Lock()
        self._locks_dir = self.root / ".locks"
        self._mutexes: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._closed = False
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="file-store")

    @classmethod
    async def open(cls, path: str, **kwargs: Any) -> FileStore:
        """Create the root directory if needed and return a store on it.

        Args:
            path: the root directory.
            **kwargs: ``threads``, and ``limits``, ``retention`` and ``clock`` as for
                ``Backend``.

        Returns:
            The ready store.
        """
        store = cls(path, **kwargs)
        try:
            await store._run(store._setup)
        except BaseException:
            await store.close()
            raise
        return store

    def _setup(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            self._locks_dir.mkdir()
            _fsync_dir(self.root)
        # Executions whose clear was cut short by a crash; already unreachable.
        for entry in os.listdir(self.root):
            if entry.startswith(_TMP):
                _remove_path(self.root / entry)

    # -- the primitives ------------------------------------------------------------------

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        return await self._mutate(
            checkpoint.execution_id, self._save_sync, checkpoint, expected_version
        )

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        return await self._run(self._load_sync, execution_id, namespace, checkpoint_id)

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        return await self._run(self._latest_sync, execution_id, namespace)

    async def _version_of(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> int | None:
        return await self._run(self._version_of_sync, execution_id, namespace, checkpoint_id)

    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
    ) -> builtins.list[Checkpoint]:
        return await self._run(
            self._list_sync, execution_id, namespace, below_version, limit, metadata_filter
        )

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        return await self._mutate(
            execution_id, self._delete_sync, execution_id, namespace, checkpoint_id
        )

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        return await self._mutate(execution_id, self._clear_sync, execution_id, namespace)

    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> bool:
        return await self._mutate(
            execution_id, self._put_writes_sync, execution_id, namespace, checkpoint_id, writes
        )

    async def close(self) -> None:
        """Finish the file operations under way and stop the threads. Idempotent.

        Later calls answer ``Unavailable``. No file or lock is held between calls.
        """
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._pool.shutdown)

    # -- running blocking work -------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable(f"the file store {str(self.root)!r} is closed")

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        self._check_open()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    async def _mutate(self, execution_id: str, fn: Callable[..., _T], *args: Any) -> _T:
        self._check_open()
        key = _sha(execution_id)
        mutex = self._mutexes.get(key)
        if mutex is None:
            mutex = self._mutexes[key] = asyncio.Lock()
        # The asyncio lock only keeps this process's writers from parking threads on
        # the flock; the flock (taken by fn's thread) is what makes the mutation exclusive.
        async with mutex:
            return await self._run(self._locked, key, fn, *args)

    def _locked(self, key: str, fn: Callable[..., _T], *args: Any) -> _T:
        with self._flock(key):
            return fn(*args)

    @contextlib.contextmanager
    def _flock(self, key: str) -> Iterator[None]:
        path = self._locks_dir / f"{key}.lock"
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # Clearing an execution unlinks its lock file while holding it; whoever
                # waited on that file now holds a lock nobody else can see, so retry.
                with contextlib.suppress(FileNotFoundError):
                    current = os.stat(path)
                    mine = os.fstat(fd)
                    if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                        break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        try:
            yield
        finally:
            os.close(fd)  # releases the flock

    # -- paths and reading -----------------------------------------------------------------

    def _lineage_dir(self, execution_id: str, namespace: str) -> Path:
        return self.root / _sha(execution_id) / _sha(namespace)

    def _count(self, *, state: bool) -> None:
        with self._stats_lock:
            self.stats.headers_read += 1
            if state:
                self.stats.states_read += 1

    def _read(self, path: Path, want_state: Callable[[Checkpoint], bool]) -> Checkpoint | None:
        """The checkpoint in ``path``, or None when the file is gone (removed meanwhile).

        The state is read only when ``want_state(header)``; otherwise it is left empty.
        """
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        with f:
            head, length = _parse_header(f.readline(), path)
            if not want_state(head):
                self._count(state=False)
                return head
            self._count(state=True)
            data = f.read(length + 1)
        if len(data) != length:
            raise InternalError(f"checkpoint file {path} is corrupt: state length mismatch")
        return head.replace(state=data)

    def _find(
        self,
        lineage: Path,
        names: builtins.list[tuple[int, str]],
        checkpoint_id: str,
        cutoff: datetime | None,
        *,
        state: bool,
    ) -> tuple[str, Checkpoint] | None:
        """The live checkpoint with this id as (file name, checkpoint), or None."""
        suffix = f"-{_sha(checkpoint_id)[:32]}.ckpt"
        for _, name in reversed(names):
            if not name.endswith(suffix):
                continue
            cp = self._read(
                lineage / name,
                lambda h: state and h.checkpoint_id == checkpoint_id and _alive(h, cutoff),
            )
            if cp is not None and cp.checkpoint_id == checkpoint_id:
                return (name, cp) if _alive(cp, cutoff) else None
        return None

    def _writes(self, lineage: Path, name: str) -> tuple[PendingWrite, ...]:
        directory = lineage / f"{name.removesuffix('.ckpt')}.w"
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return ()
        found: builtins.list[PendingWrite] = []
        for entry in entries:
            if not _WRITE.fullmatch(entry):
                continue
            try:
                data = (directory / entry).read_bytes()
            except FileNotFoundError:
                continue
            found.append(_decode_write(data, directory / entry))
        found.sort(key=lambda w: (w.task_id, w.idx))
        return tuple(found)

    def _live_names(
        self, lineage: Path, names: builtins.list[tuple[int, str]], cutoff: datetime | None
    ) -> builtins.list[tuple[int, str]]:
        """``names`` without the expired ones, which (saved in time order) are a prefix."""
        if cutoff is None:
            return names
        for i, (_, name) in enumerate(names):
            cp = self._read(lineage / name, lambda _: False)
            if cp is not None and _alive(cp, cutoff):
                return names[i:]
        return []

    # -- reads -----------------------------------------------------------------------------

    def _load_sync(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self._find(
            lineage, _names(lineage), checkpoint_id, self.expired_before(), state=True
        )
        if found is None:
            return None
        name, cp = found
        return cp.replace(pending_writes=self._writes(lineage, name))

    def _latest_sync(self, execution_id: str, namespace: str) -> Checkpoint | None:
        lineage = self._lineage_dir(execution_id, namespace)
        # One clock reading per operation, so a checkpoint cannot expire between the
        # decision to read its state and the decision to return it.
        cutoff = self.expired_before()
        for _, name in reversed(_names(lineage)):
            cp = self._read(lineage / name, lambda h: _alive(h, cutoff))
            if cp is None:
                continue
            if not _alive(cp, cutoff):
                return None  # every older one expired too
            return cp.replace(pending_writes=self._writes(lineage, name))
        return None

    def _version_of_sync(self, execution_id: str, namespace: str, checkpoint_id: str) -> int | None:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self._find(
            lineage, _names(lineage), checkpoint_id, self.expired_before(), state=False
        )
        return None if found is None else found[1].version

    def _list_sync(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
    ) -> builtins.list[Checkpoint]:
        lineage = self._lineage_dir(execution_id, namespace)
        cutoff = self.expired_before()

        def wanted(head: Checkpoint) -> bool:
            return _alive(head, cutoff) and v.matches(head.metadata, metadata_filter)

        out: builtins.list[Checkpoint] = []
        for version, name in reversed(_names(lineage)):
            if below_version is not None and version >= below_version:
                continue
            cp = self._read(lineage / name, wanted)
            if cp is None:
                continue
            if not _alive(cp, cutoff):
                break  # every older one expired too
            if wanted(cp):
                out.append(cp)
                if len(out) == limit:
                    break
        return out

    # -- mutations (run holding the execution's flock) -------------------------------------

    def _save_sync(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        lineage = self._lineage_dir(checkpoint.execution_id, checkpoint.namespace)
        cutoff = self.expired_before()
        names = self._tidy(lineage, cutoff)
        found = self._find(lineage, names, checkpoint.checkpoint_id, cutoff, state=True)
        if found is not None:
            return saved_or_conflict(checkpoint, found[1])
        latest = names[-1][0] if names else 0
        check_cas(checkpoint, expected_version, latest)
        # Taking the time under the lock keeps created_at in version order, which is what
        # lets expiry treat the expired checkpoints as a prefix of the lineage.
        saved = checkpoint.replace(version=latest + 1, created_at=self.now())
        _make_dirs(lineage)
        name = f"{saved.version:020d}-{_sha(saved.checkpoint_id)[:32]}.ckpt"
        _write_atomic(lineage, name, _encode_checkpoint(saved))
        _fsync_dir(lineage)
        names.append((saved.version, name))
        keep = self.retention.max_checkpoints
        if keep is not None and len(names) > keep:
            for _, old in names[:-keep]:
                self._remove(lineage, old)
            _fsync_dir(lineage)
        return saved

    def _tidy(self, lineage: Path, cutoff: datetime | None) -> builtins.list[tuple[int, str]]:
        """Delete crash leftovers and expired checkpoints; return the live checkpoints.

        Only called holding the lock, when no other writer can be mid-way in ``lineage``.
        """
        try:
            entries = os.listdir(lineage)
        except FileNotFoundError:
            return []
        names = _parse_names(entries)
        stems = {name.removesuffix(".ckpt") for _, name in names}
        for entry in entries:
            orphan = _WRITES_DIR.fullmatch(entry)
            if entry.startswith(_TMP) or (orphan and orphan.group(1) not in stems):
                _remove_path(lineage / entry)
        live = self._live_names(lineage, names, cutoff)
        if len(live) < len(names):
            for _, name in names[: len(names) - len(live)]:
                self._remove(lineage, name)
            _fsync_dir(lineage)
        return builtins.list(live)

    def _remove(self, lineage: Path, name: str) -> None:
        """Remove a checkpoint and its writes; the caller fsyncs ``lineage`` afterwards."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lineage / name)
        writes = lineage / f"{name.removesuffix('.ckpt')}.w"
        if writes.is_dir():
            # The unlink must be durable before the writes go: never a checkpoint that
            # survives a crash without its writes.
            _fsync_dir(lineage)
            _remove_path(writes)

    def _delete_sync(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self._find(
            lineage, _names(lineage), checkpoint_id, self.expired_before(), state=False
        )
        if found is None:
            return False
        self._remove(lineage, found[0])
        _fsync_dir(lineage)
        return True

    def _clear_sync(self, execution_id: str, namespace: str | None) -> int:
        key = _sha(execution_id)
        execution = self.root / key
        cutoff = self.expired_before()
        if namespace is not None:
            target, parent = execution / _sha(namespace), execution
            lineages = [target]
        else:
            target, parent = execution, self.root
            try:
                lineages = [execution / e for e in os.listdir(execution) if _HASH.fullmatch(e)]
            except FileNotFoundError:
                lineages = []
        count = sum(len(self._live_names(lin, _names(lin), cutoff)) for lin in lineages)
        with contextlib.suppress(FileNotFoundError):
            # Namespaces whose clear was cut short by a crash; already unreachable.
            for entry in os.listdir(execution):
                if entry.startswith(_TMP):
                    _remove_path(execution / entry)
        if target.is_dir():
            _remove_path(target, parent)
        if namespace is None:
            # Safe while holding it: waiters notice the unlink and retry (see _flock).
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._locks_dir / f"{key}.lock")
        return count

    def _put_writes_sync(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> bool:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self._find(
            lineage, _names(lineage), checkpoint_id, self.expired_before(), state=False
        )
        if found is None:
            return False
        directory = lineage / f"{found[0].removesuffix('.ckpt')}.w"
        try:
            directory.mkdir()
        except FileExistsError:
            pass
        else:
            _fsync_dir(lineage)
        for w in writes:
            name = f"{_sha(w.task_id)[:32]}-{w.idx + _IDX_OFFSET:010d}.pw"
            _write_atomic(directory, name, _encode_write(w))
        _fsync_dir(directory)
        return True


# -- helpers -------------------------------------------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _alive(cp: Checkpoint, cutoff: datetime | None) -> bool:
    # Backend.is_live with the cutoff read once per operation.
    return cutoff is None or cp.created_at is None or cp.created_at >= cutoff


def _parse_names(entries: builtins.list[str]) -> builtins.list[tuple[int, str]]:
    """The checkpoint files among ``entries`` as (version, name), oldest first."""
    found: builtins.list[tuple[int, str]] = []
    for entry in entries:
        m = _CKPT.fullmatch(entry)
        if m:
            found.append((int(m.group(1)), entry))
    found.sort()
    return found


def _names(lineage: Path) -> builtins.list[tuple[int, str]]:
    try:
        return _parse_names(os.listdir(lineage))
    except FileNotFoundError:
        return []


def _dumps(obj: Mapping[str, Any]) -> bytes:
    # ASCII JSON escapes every newline, so the header is exactly one line.
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()


def _encode_checkpoint(cp: Checkpoint) -> bytes:
    assert cp.created_at is not None
    head = {
        "format": _FORMAT,
        "execution_id": cp.execution_id,
        "namespace": cp.namespace,
        "checkpoint_id": cp.checkpoint_id,
        "parent_id": cp.parent_id,
        "node": cp.node,
        "next_nodes": builtins.list(cp.next_nodes),
        "content_type": cp.content_type,
        "metadata": cp.metadata,
        "created_at": cp.created_at.isoformat(timespec="microseconds"),
        "version": cp.version,
        "state_length": len(cp.state_bytes),
    }
    return _dumps(head) + b"\n" + cp.state_bytes


def _parse_header(line: bytes, path: Path) -> tuple[Checkpoint, int]:
    """The checkpoint a header line describes (with an empty state) and its state length."""
    try:
        head = json.loads(line)
        cp = Checkpoint(
            head["execution_id"],
            b"",
            namespace=head["namespace"],
            checkpoint_id=head["checkpoint_id"],
            parent_id=head["parent_id"],
            node=head["node"],
            next_nodes=head["next_nodes"],
            content_type=head["content_type"],
            metadata=head["metadata"],
            created_at=datetime.fromisoformat(head["created_at"]),
            version=head["version"],
        )
        length = int(head["state_length"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InternalError(f"checkpoint file {path} is corrupt: bad header") from exc
    return cp, length


def _encode_write(w: PendingWrite) -> bytes:
    head = {
        "format": _FORMAT,
        "task_id": w.task_id,
        "idx": w.idx,
        "channel": w.channel,
        "content_type": w.content_type,
        "task_path": w.task_path,
        "value_length": len(w.value_bytes),
    }
    return _dumps(head) + b"\n" + w.value_bytes


def _decode_write(data: bytes, path: Path) -> PendingWrite:
    line, _, value = data.partition(b"\n")
    try:
        head = json.loads(line)
        length = int(head["value_length"])
        write = PendingWrite(
            head["task_id"],
            head["idx"],
            head["channel"],
            value,
            content_type=head["content_type"],
            task_path=head["task_path"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InternalError(f"pending write file {path} is corrupt: bad header") from exc
    if length != len(value):
        raise InternalError(f"pending write file {path} is corrupt: value length mismatch")
    return write


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(lineage: Path) -> None:
    """Create the execution and lineage directories, each durably linked into its parent."""
    for directory in (lineage.parent, lineage):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        _fsync_dir(directory.parent)


def _write_atomic(directory: Path, name: str, data: bytes) -> None:
    """Make ``directory/name`` hold ``data``, all or nothing; the caller fsyncs directory."""
    fd, tmp = tempfile.mkstemp(prefix=_TMP, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _remove_path(path: Path, parent: Path | None = None) -> None:
    """Delete a file or a directory tree; a tree first leaves its name in one atomic step.

    Renaming a directory to ``.tmp-`` before deleting it means readers see all of it or
    none of it, and a crash mid-way leaves only a ``.tmp-`` name that nothing reads.
    With ``parent`` (the directory holding ``path``), the rename is made durable first.
    """
    if not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    if path.name.startswith(_TMP):
        shutil.rmtree(path, ignore_errors=True)
        return
    doomed = path.with_name(f"{_TMP}{uuid.uuid4().hex}")
    try:
        os.rename(path, doomed)
    except FileNotFoundError:
        return
    if parent is not None:
        _fsync_dir(parent)
    shutil.rmtree(doomed, ignore_errors=True)
