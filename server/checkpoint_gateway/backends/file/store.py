"""``FileStore``: the store over a directory tree (see the package docstring)."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import fcntl
import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from checkpoint_client import Checkpoint, InternalError, PendingWrite, Unavailable

from ... import validation as v
from .._base import Backend, check_cas, saved_or_conflict
from .layout import (
    HASH,
    IDX_OFFSET,
    TMP,
    WRITE,
    WRITES_DIR,
    alive,
    checkpoint_names,
    decode_write,
    encode_checkpoint,
    encode_write,
    fsync_dir,
    make_dirs,
    parse_header,
    parse_names,
    remove_path,
    sha,
    write_atomic,
)

__all__ = ["FileStats", "FileStore"]

_T = TypeVar("_T")


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
            fsync_dir(self.root)
        # Executions whose clear was cut short by a crash; already unreachable.
        for entry in os.listdir(self.root):
            if entry.startswith(TMP):
                remove_path(self.root / entry)

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
        key = sha(execution_id)
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
        return self.root / sha(execution_id) / sha(namespace)

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
            head, length = parse_header(f.readline(), path)
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
        suffix = f"-{sha(checkpoint_id)[:32]}.ckpt"
        for _, name in reversed(names):
            if not name.endswith(suffix):
                continue
            cp = self._read(
                lineage / name,
                lambda h: state and h.checkpoint_id == checkpoint_id and alive(h, cutoff),
            )
            if cp is not None and cp.checkpoint_id == checkpoint_id:
                return (name, cp) if alive(cp, cutoff) else None
        return None

    def _writes(self, lineage: Path, name: str) -> tuple[PendingWrite, ...]:
        directory = lineage / f"{name.removesuffix('.ckpt')}.w"
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return ()
        found: builtins.list[PendingWrite] = []
        for entry in entries:
            if not WRITE.fullmatch(entry):
                continue
            try:
                data = (directory / entry).read_bytes()
            except FileNotFoundError:
                continue
            found.append(decode_write(data, directory / entry))
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
            if cp is not None and alive(cp, cutoff):
                return names[i:]
        return []

    # -- reads -----------------------------------------------------------------------------

    def _load_sync(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self._find(
            lineage, checkpoint_names(lineage), checkpoint_id, self.expired_before(), state=True
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
        for _, name in reversed(checkpoint_names(lineage)):
            cp = self._read(lineage / name, lambda h: alive(h, cutoff))
            if cp is None:
                continue
            if not alive(cp, cutoff):
                return None  # every older one expired too
            return cp.replace(pending_writes=self._writes(lineage, name))
        return None

    def _version_of_sync(self, execution_id: str, namespace: str, checkpoint_id: str) -> int | None:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self._find(
            lineage, checkpoint_names(lineage), checkpoint_id, self.expired_before(), state=False
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
            return alive(head, cutoff) and v.matches(head.metadata, metadata_filter)

        out: builtins.list[Checkpoint] = []
        for version, name in reversed(checkpoint_names(lineage)):
            if below_version is not None and version >= below_version:
                continue
            cp = self._read(lineage / name, wanted)
            if cp is None:
                continue
            if not alive(cp, cutoff):
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
        make_dirs(lineage)
        name = f"{saved.version:020d}-{sha(saved.checkpoint_id)[:32]}.ckpt"
        write_atomic(lineage, name, encode_checkpoint(saved))
        fsync_dir(lineage)
        names.append((saved.version, name))
        keep = self.retention.max_checkpoints
        if keep is not None and len(names) > keep:
            for _, old in names[:-keep]:
                self._remove(lineage, old)
            fsync_dir(lineage)
        return saved

    def _tidy(self, lineage: Path, cutoff: datetime | None) -> builtins.list[tuple[int, str]]:
        """Delete crash leftovers and expired checkpoints; return the live checkpoints.

        Only called holding the lock, when no other writer can be mid-way in ``lineage``.
        """
        try:
            entries = os.listdir(lineage)
        except FileNotFoundError:
            return []
        names = parse_names(entries)
        stems = {name.removesuffix(".ckpt") for _, name in names}
        for entry in entries:
            orphan = WRITES_DIR.fullmatch(entry)
            if entry.startswith(TMP) or (orphan and orphan.group(1) not in stems):
                remove_path(lineage / entry)
        live = self._live_names(lineage, names, cutoff)
        if len(live) < len(names):
            for _, name in names[: len(names) - len(live)]:
                self._remove(lineage, name)
            fsync_dir(lineage)
        return builtins.list(live)

    def _remove(self, lineage: Path, name: str) -> None:
        """Remove a checkpoint and its writes; the caller fsyncs ``lineage`` afterwards."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lineage / name)
        writes = lineage / f"{name.removesuffix('.ckpt')}.w"
        if writes.is_dir():
            # The unlink must be durable before the writes go: never a checkpoint that
            # survives a crash without its writes.
            fsync_dir(lineage)
            remove_path(writes)

    def _delete_sync(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self._find(
            lineage, checkpoint_names(lineage), checkpoint_id, self.expired_before(), state=False
        )
        if found is None:
            return False
        self._remove(lineage, found[0])
        fsync_dir(lineage)
        return True

    def _clear_sync(self, execution_id: str, namespace: str | None) -> int:
        key = sha(execution_id)
        execution = self.root / key
        cutoff = self.expired_before()
        if namespace is not None:
            target, parent = execution / sha(namespace), execution
            lineages = [target]
        else:
            target, parent = execution, self.root
            try:
                lineages = [execution / e for e in os.listdir(execution) if HASH.fullmatch(e)]
            except FileNotFoundError:
                lineages = []
        count = sum(len(self._live_names(lin, checkpoint_names(lin), cutoff)) for lin in lineages)
        with contextlib.suppress(FileNotFoundError):
            # Namespaces whose clear was cut short by a crash; already unreachable.
            for entry in os.listdir(execution):
                if entry.startswith(TMP):
                    remove_path(execution / entry)
        if target.is_dir():
            remove_path(target, parent)
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
            lineage, checkpoint_names(lineage), checkpoint_id, self.expired_before(), state=False
        )
        if found is None:
            return False
        directory = lineage / f"{found[0].removesuffix('.ckpt')}.w"
        try:
            directory.mkdir()
        except FileExistsError:
            pass
        else:
            fsync_dir(lineage)
        for w in writes:
            name = f"{sha(w.task_id)[:32]}-{w.idx + IDX_OFFSET:010d}.pw"
            write_atomic(directory, name, encode_write(w))
        fsync_dir(directory)
        return True
