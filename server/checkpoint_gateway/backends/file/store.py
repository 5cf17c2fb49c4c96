"""``FileStore``: the store over a directory tree (see the package docstring)."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import fcntl
import functools
import os
import shutil
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from checkpoint_client import (
    Checkpoint,
    Conflict,
    ExecutionInfo,
    InternalError,
    NotFound,
    PendingWrite,
    Unavailable,
)

from ... import validation as v
from .._base import (
    AncestorWalk,
    Backend,
    Position,
    channel_conflict,
    check_cas,
    from_us,
    missing_channel,
    saved_or_conflict,
    to_us,
)
from .._location import make_directory
from .layout import (
    DELETING,
    LOCKS,
    MARKER,
    TMP,
    TMP_COPY,
    TMP_DEL,
    WRITE,
    BlobHead,
    Listing,
    blob_file,
    checkpoint_file,
    checkpoint_key,
    checkpoint_names,
    encode_blob,
    encode_checkpoint,
    encode_write,
    fsync_dir,
    link_or_copy,
    make_dirs,
    marker_file,
    parse_blob_header,
    remove_path,
    sha,
    short,
    subdirs,
    write_atomic,
    write_file,
    writes_dir,
)
from .reading import FileStats, Reader
from .upgrade import upgrade

__all__ = ["FileStats", "FileStore"]

_T = TypeVar("_T")


class FileStore(Backend):
    """Checkpoints as files under one root directory; see the package docstring.

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
        self.reader = Reader(self.root)
        self._locks_dir = self.root / LOCKS
        self._mutexes: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._closed = False
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="file-store")

    @property
    def stats(self) -> FileStats:
        """Counts of the files read so far (assign a fresh ``FileStats`` to restart)."""
        return self.reader.stats

    @stats.setter
    def stats(self, value: FileStats) -> None:
        self.reader.stats = value

    @classmethod
    async def open(cls, path: str, **kwargs: Any) -> FileStore:
        """Create the root directory if needed, upgrade an older layout, return a store.

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
        make_directory(self.root)
        with contextlib.suppress(FileExistsError):
            self._locks_dir.mkdir()
            fsync_dir(self.root)
        for entry in os.listdir(self.root):
            if entry.startswith(TMP_COPY):
                # A copy cut short by a crash, unless one is being built right now.
                with self._try_flock(entry[len(TMP_COPY) :][:64]) as free:
                    if free:
                        remove_path(self.root / entry)
            elif entry.startswith(TMP):
                remove_path(self.root / entry)  # a clear cut short; already unreachable
        upgrade(self.root, self._flock)

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

    async def _locate(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> tuple[int, int] | None:
        return await self._run(self._locate_sync, execution_id, namespace, checkpoint_id)

    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        return await self._run(
            self._list_sync,
            execution_id,
            namespace,
            below_version,
            limit,
            metadata_filter,
            with_writes,
            max_bytes,
        )

    async def _list_execution(
        self,
        execution_id: str,
        after: Position | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        return await self._run(
            self._merged_sync,
            [self.root / sha(execution_id)],
            "",
            after,
            limit,
            metadata_filter,
            with_writes,
            max_bytes,
        )

    async def _search(
        self,
        prefix: str,
        after: Position | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        return await self._run(
            self._search_sync, prefix, after, limit, metadata_filter, with_writes, max_bytes
        )

    async def _namespaces(
        self, execution_id: str, after: str | None, limit: int
    ) -> builtins.list[str]:
        return await self._run(self._namespaces_sync, execution_id, after, limit)

    async def _executions(
        self, prefix: str, after: tuple[int, str] | None, limit: int
    ) -> builtins.list[ExecutionInfo]:
        return await self._run(self._executions_sync, prefix, after, limit)

    async def _delete_where(
        self, prefix: str, execution_id: str | None, metadata_filter: Mapping[str, v.Scalar]
    ) -> int:
        if execution_id is not None:
            keys = [sha(execution_id)]
        else:
            keys = [d.name for d in await self._run(subdirs, self.root)]
        deleted = 0
        for key in keys:
            deleted += await self._mutate_keys(
                [key], self._delete_where_sync, key, prefix, metadata_filter
            )
        return deleted

    async def _copy_execution(self, source: str, target: str) -> int:
        return await self._mutate_keys([sha(source), sha(target)], self._copy_sync, source, target)

    async def _prune(self, execution_id: str) -> int:
        return await self._mutate(execution_id, self._prune_sync, execution_id)

    async def _ancestors(
        self, execution_id: str, namespace: str, start: str, include_start: bool, walk: AncestorWalk
    ) -> str | None:
        return await self._run(
            self.reader.ancestors,
            self._lineage_dir(execution_id, namespace),
            start,
            include_start,
            walk,
            self.expired_before(),
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
    ) -> None:
        await self._mutate(
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
        return await self._mutate_keys([sha(execution_id)], fn, *args)

    async def _mutate_keys(self, keys: builtins.list[str], fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn`` holding the locks of the executions named by ``keys`` (taken in
        one order, so that two calls locking the same pair cannot deadlock)."""
        self._check_open()
        keys = sorted(set(keys))
        async with contextlib.AsyncExitStack() as held:
            for key in keys:
                mutex = self._mutexes.get(key)
                if mutex is None:
                    mutex = self._mutexes[key] = asyncio.Lock()
                # The asyncio lock only keeps this process's writers from parking threads
                # on the flock; the flock (taken by fn's thread) makes the change exclusive.
                await held.enter_async_context(mutex)
            return await self._run(self._locked, keys, fn, *args)

    def _locked(self, keys: builtins.list[str], fn: Callable[..., _T], *args: Any) -> _T:
        with contextlib.ExitStack() as held:
            for key in keys:
                held.enter_context(self._flock(key))
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

    @contextlib.contextmanager
    def _try_flock(self, key: str) -> Iterator[bool]:
        """The lock of an execution if nobody holds it (yields True), else yields False."""
        fd = os.open(self._locks_dir / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
            else:
                yield True
        finally:
            os.close(fd)

    # -- reads (no lock: every file they open is complete) ---------------------------------

    def _lineage_dir(self, execution_id: str, namespace: str) -> Path:
        return self.root / sha(execution_id) / sha(namespace)

    def _load_sync(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self.reader.find(
            lineage, checkpoint_names(lineage), checkpoint_id, self.expired_before()
        )
        return None if found is None else self.reader.load(found)

    def _latest_sync(self, execution_id: str, namespace: str) -> Checkpoint | None:
        lineage = self._lineage_dir(execution_id, namespace)
        # One clock reading per operation, so a checkpoint cannot expire between the
        # decision to read its state and the decision to return it.
        cutoff = self.expired_before()
        names = checkpoint_names(lineage)
        while True:
            found = self.reader.newest(lineage, names, cutoff)
            if found is None:
                return None
            loaded = self.reader.load(found)
            if loaded is not None:
                return loaded
            names = [n for n in names if n[1] != found.name]  # removed meanwhile

    def _locate_sync(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> tuple[int, int] | None:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self.reader.find(
            lineage, checkpoint_names(lineage), checkpoint_id, self.expired_before()
        )
        if found is None:
            return None
        assert found.cp.created_at is not None
        return found.cp.version, to_us(found.cp.created_at)

    def _list_sync(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        lineage = self._lineage_dir(execution_id, namespace)
        found = self.reader.below(lineage, below_version, self.expired_before())
        return self.reader.page(
            found, limit, metadata_filter, with_writes=with_writes, max_bytes=max_bytes
        )

    def _merged_sync(
        self,
        executions: builtins.list[Path],
        prefix: str,
        after: Position | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        lineages = [lineage for execution in executions for lineage in subdirs(execution)]
        found = self.reader.merged(lineages, after, self.expired_before(), prefix)
        return self.reader.page(
            found, limit, metadata_filter, with_writes=with_writes, max_bytes=max_bytes
        )

    def _search_sync(
        self,
        prefix: str,
        after: Position | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        return self._merged_sync(
            subdirs(self.root), prefix, after, limit, metadata_filter, with_writes, max_bytes
        )

    def _namespaces_sync(
        self, execution_id: str, after: str | None, limit: int
    ) -> builtins.list[str]:
        cutoff = self.expired_before()
        found: builtins.list[str] = []
        for lineage in subdirs(self.root / sha(execution_id)):
            newest = self.reader.newest(lineage, checkpoint_names(lineage), cutoff)
            if newest is not None and (after is None or newest.cp.namespace > after):
                found.append(newest.cp.namespace)
        found.sort()
        return found[:limit]

    def _executions_sync(
        self, prefix: str, after: tuple[int, str] | None, limit: int
    ) -> builtins.list[ExecutionInfo]:
        cutoff = self.expired_before()
        found: builtins.list[tuple[int, str]] = []
        for execution in subdirs(self.root):
            updated = self._updated(execution, cutoff)
            if updated is None or not updated[1].startswith(prefix):
                continue
            if after is None or updated < after:
                found.append(updated)
        found.sort(reverse=True)
        return [ExecutionInfo(eid, from_us(us)) for us, eid in found[:limit]]

    def _updated(self, execution: Path, cutoff: datetime | None) -> tuple[int, str] | None:
        """An execution's (updated_at µs, id), or None when it holds no live checkpoint.

        updated_at is the newest last-save marker of its lineages with live checkpoints.
        Without a TTL one header (for the id) is read per execution; with one, the newest
        header of each lineage (to know it is live).
        """
        execution_id: str | None = None
        updated = 0
        for lineage in subdirs(execution):
            try:
                listing = Listing.of(os.listdir(lineage))
            except FileNotFoundError:
                continue
            if not listing.names:
                continue
            if cutoff is None and execution_id is not None and listing.marker is not None:
                updated = max(updated, listing.marker)
                continue
            newest = self.reader.newest(lineage, listing.names, cutoff)
            if newest is None:
                continue
            assert newest.cp.created_at is not None
            execution_id = newest.cp.execution_id
            updated = max(updated, listing.marker or 0, to_us(newest.cp.created_at))
        return None if execution_id is None else (updated, execution_id)

    # -- mutations (run holding the execution's flock) -------------------------------------

    def _save_sync(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        lineage = self._lineage_dir(checkpoint.execution_id, checkpoint.namespace)
        cutoff = self.expired_before()
        listing = self._tidy(lineage, cutoff)
        found = self.reader.find(lineage, listing.names, checkpoint.checkpoint_id, cutoff)
        if found is not None:
            state = self.reader.state(found)
            if state is None:
                raise InternalError(f"checkpoint file {found.path} vanished under the lock")
            return saved_or_conflict(checkpoint, found.cp.replace(state=state))
        new_values: builtins.list[tuple[str, bytes]] = []
        for channel, ch in checkpoint.channels.items():
            file = blob_file(channel, ch.version)
            if ch.value_bytes is None:
                if not (lineage / file).exists():
                    raise missing_channel(checkpoint, channel)
                continue
            held = self._blob_head(lineage / file)
            if held is None:
                new_values.append((file, encode_blob(channel, ch)))
            elif not held.holds(ch):
                raise channel_conflict(checkpoint, channel)
        latest = listing.names[-1][0] if listing.names else 0
        check_cas(checkpoint, expected_version, latest)
        # Taking the time under the lock keeps created_at in version order, which is what
        # lets expiry treat the expired checkpoints as a prefix of the lineage, and the
        # listings across lineages bisect a lineage by position.
        saved = checkpoint.replace(version=latest + 1, created_at=self.now())
        assert saved.created_at is not None
        make_dirs(lineage)
        for file, data in new_values:
            write_atomic(lineage, file, data)
        if new_values:
            # The values are durable before the checkpoint that needs them can be.
            fsync_dir(lineage)
        self._mark(lineage, listing, to_us(saved.created_at))
        name = checkpoint_file(saved.version, saved.checkpoint_id)
        write_atomic(lineage, name, encode_checkpoint(saved))  # the commit point
        fsync_dir(lineage)
        listing.names.append((saved.version, name))
        keep = self.retention.max_checkpoints
        if keep is not None and len(listing.names) > keep:
            self._thin(lineage, listing, listing.names[:-keep])
        return saved

    @staticmethod
    def _blob_head(path: Path) -> BlobHead | None:
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        with f:
            return parse_blob_header(f.readline(), path)

    @staticmethod
    def _mark(lineage: Path, listing: Listing, updated_us: int) -> None:
        """Record the last save in the lineage's marker: a rename (or, the first time, an
        empty file), made durable by the save's own directory fsync."""
        if listing.marker is not None and listing.marker >= updated_us:
            return
        target = lineage / marker_file(updated_us)
        if listing.marker is None:
            target.touch()
        else:
            os.replace(lineage / marker_file(listing.marker), target)
        listing.marker = updated_us

    def _tidy(self, lineage: Path, cutoff: datetime | None) -> Listing:
        """Finish what a crash cut short, remove what expired; return what is live.

        Only called holding the lock, when no other writer can be mid-way in ``lineage``:
        a ``.tmp-del-`` file is a removal to finish, other ``.tmp-`` entries are dead.
        """
        try:
            entries = os.listdir(lineage)
        except FileNotFoundError:
            return Listing([], set(), None)
        listing = Listing.of(entries)
        deleting = {m.group(1): e for e in entries if (m := DELETING.fullmatch(e))}
        if deleting:
            carried: set[str] = set()
            for entry in deleting.values():
                found = self.reader.head(lineage, entry)
                if found is not None:
                    carried |= _blobs_of(found.cp)
            self._finish(lineage, listing, deleting, carried, orphans_before=None)
        for entry in entries:
            if entry.startswith(TMP) and entry not in deleting.values():
                remove_path(lineage / entry)
        others = [m for e in entries if (m := MARKER.fullmatch(e))]
        if len(others) > 1:
            for m in others:
                if int(m.group(1)) != listing.marker:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(lineage / m.group(0))
        if cutoff is None:
            return listing
        live = self.reader.live_names(lineage, listing.names, cutoff)
        expired = listing.names[: len(listing.names) - len(live)]
        if expired:
            self._remove(lineage, listing, self._heads(lineage, expired), to_us(cutoff))
        elif self._drop_orphans(lineage, listing, to_us(cutoff)):
            fsync_dir(lineage)
        return listing

    def _heads(
        self, lineage: Path, names: builtins.list[tuple[int, str]]
    ) -> builtins.list[tuple[str, Checkpoint]]:
        out = []
        for _, name in names:
            found = self.reader.head(lineage, name)
            if found is None:
                raise InternalError(f"checkpoint file {lineage / name} vanished under the lock")
            out.append((name, found.cp))
        return out

    def _thin(self, lineage: Path, listing: Listing, doomed: builtins.list[tuple[int, str]]) -> int:
        """Remove checkpoints (retention, prune) with the orphan writes stored before the
        newest of them."""
        heads = self._heads(lineage, doomed)
        newest = max(to_us(cp.created_at) for _, cp in heads if cp.created_at is not None)
        self._remove(lineage, listing, heads, newest)
        return len(heads)

    def _remove(
        self,
        lineage: Path,
        listing: Listing,
        doomed: builtins.list[tuple[str, Checkpoint]],
        orphans_before: int | None,
    ) -> None:
        """Remove checkpoints with their writes and the channel values no remaining one
        carries; with ``orphans_before`` (µs), also the writes of unsaved checkpoints
        stored before then.

        Each ``.ckpt`` is first renamed to ``.tmp-del-<C>`` (the commit point: gone for
        every reader), then its writes and values go, then the ``.tmp-del-`` file; a
        crash in between leaves the ``.tmp-del-`` file, and ``_tidy`` finishes the job
        before anything else touches the lineage. So a later save of the same id never
        inherits the writes of the checkpoint that was removed.
        """
        gone = {name for name, _ in doomed}
        listing.names = [x for x in listing.names if x[1] not in gone]
        keys = {checkpoint_key(name): name for name, _ in doomed}
        carried: set[str] = set()
        for _, cp in doomed:
            carried |= _blobs_of(cp)
        if not carried and not keys.keys() & listing.writes:
            # Nothing else goes with these checkpoints: unlinking them is the whole job.
            for name in gone:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(lineage / name)
            if orphans_before is not None:
                self._drop_orphans(lineage, listing, orphans_before)
            fsync_dir(lineage)
            return
        deleting = {}
        for key, name in keys.items():
            deleting[key] = TMP_DEL + key
            os.replace(lineage / name, lineage / deleting[key])
        fsync_dir(lineage)
        self._finish(lineage, listing, deleting, carried, orphans_before)

    def _finish(
        self,
        lineage: Path,
        listing: Listing,
        deleting: dict[str, str],
        carried: set[str],
        orphans_before: int | None,
    ) -> None:
        """The rest of a removal once its checkpoints are ``.tmp-del-`` files (keyed by
        checkpoint id hash): their writes, the orphans, the files, unreferenced values."""
        changed = False
        for key in deleting:
            if key in listing.writes:
                remove_path(lineage / writes_dir(key))
                listing.writes.discard(key)
                changed = True
        if orphans_before is not None:
            changed = self._drop_orphans(lineage, listing, orphans_before) or changed
        if changed:
            fsync_dir(lineage)  # the writes are gone before what says to remove them
        for entry in deleting.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lineage / entry)
        self._collect(lineage, listing, carried)
        fsync_dir(lineage)

    def _collect(self, lineage: Path, listing: Listing, candidates: set[str]) -> None:
        """Delete the channel value files among ``candidates`` that no remaining
        checkpoint refers to. Reads headers newest first, and stops as soon as every
        candidate is known to be in use (usually at once: values carry forward)."""
        left = set(candidates)
        for _, name in reversed(listing.names):
            if not left:
                return
            found = self.reader.head(lineage, name)
            if found is not None:
                left -= _blobs_of(found.cp)
        for file in left:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lineage / file)

    def _drop_orphans(self, lineage: Path, listing: Listing, before_us: int) -> bool:
        """Delete the writes of unsaved checkpoints stored before ``before_us``; return
        whether anything went (the caller fsyncs ``lineage``)."""
        saved = {checkpoint_key(name) for _, name in listing.names}
        changed = False
        for key in sorted(listing.writes - saved):
            directory = lineage / writes_dir(key)
            try:
                entries = [e for e in os.listdir(directory) if WRITE.fullmatch(e)]
            except FileNotFoundError:
                listing.writes.discard(key)
                continue
            kept = dropped = 0
            for entry in entries:
                created = self.reader.write_created_us(directory / entry)
                if created is None:
                    continue
                if created < before_us:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(directory / entry)
                    dropped += 1
                else:
                    kept += 1
            if not kept:
                remove_path(lineage / writes_dir(key))
                listing.writes.discard(key)
                changed = True
            elif dropped:
                fsync_dir(directory)
                changed = True
        return changed

    def _delete_sync(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        lineage = self._lineage_dir(execution_id, namespace)
        cutoff = self.expired_before()
        listing = self._tidy(lineage, cutoff)
        found = self.reader.find(lineage, listing.names, checkpoint_id, cutoff)
        if found is not None:
            self._remove(lineage, listing, [(found.name, found.cp)], None)
            return True
        key = short(checkpoint_id)
        if key in listing.writes:
            # Writes stored ahead of a checkpoint that will now never come.
            remove_path(lineage / writes_dir(key))
            fsync_dir(lineage)
        return False

    def _clear_sync(self, execution_id: str, namespace: str | None) -> int:
        key = sha(execution_id)
        execution = self.root / key
        cutoff = self.expired_before()
        if namespace is not None:
            target, parent = execution / sha(namespace), execution
            lineages = [target]
        else:
            target, parent = execution, self.root
            lineages = subdirs(execution)
        count = sum(
            len(self.reader.live_names(lin, checkpoint_names(lin), cutoff)) for lin in lineages
        )
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
    ) -> None:
        lineage = self._lineage_dir(execution_id, namespace)
        listing = self._tidy(lineage, self.expired_before())
        make_dirs(lineage)
        directory = lineage / writes_dir(short(checkpoint_id))
        if short(checkpoint_id) not in listing.writes:
            with contextlib.suppress(FileExistsError):
                directory.mkdir()
            fsync_dir(lineage)
        stored_at = self.now()
        for w in writes:
            name = write_file(w.task_id, w.idx)
            if w.idx >= 0 and (directory / name).exists():
                continue  # the first write of a key wins
            write_atomic(directory, name, encode_write(w, checkpoint_id, stored_at))
        fsync_dir(directory)

    def _prune_sync(self, execution_id: str) -> int:
        cutoff = self.expired_before()
        deleted = 0
        for lineage in subdirs(self.root / sha(execution_id)):
            listing = self._tidy(lineage, cutoff)
            if len(listing.names) > 1:
                deleted += self._thin(lineage, listing, listing.names[:-1])
        return deleted

    def _delete_where_sync(
        self, key: str, prefix: str, metadata_filter: Mapping[str, v.Scalar]
    ) -> int:
        cutoff = self.expired_before()
        deleted = 0
        for lineage in subdirs(self.root / key):
            listing = self._tidy(lineage, cutoff)
            heads = self._heads(lineage, listing.names)
            if heads and not heads[0][1].execution_id.startswith(prefix):
                return 0  # every lineage belongs to the same execution
            doomed = [(name, cp) for name, cp in heads if v.matches(cp.metadata, metadata_filter)]
            if doomed:
                self._remove(lineage, listing, doomed, None)
                deleted += len(doomed)
        return deleted

    def _copy_sync(self, source: str, target: str) -> int:
        """Build the copy under a ``.tmp-copy-`` name in the root, then rename it into
        place: the target appears whole or not at all."""
        cutoff = self.expired_before()
        destination = self.root / sha(target)
        for lineage in subdirs(destination):
            if self._tidy(lineage, cutoff).names:
                raise Conflict(f"execution {target!r} already has checkpoints; copy to a new id")
        plans = [(lin, self._tidy(lin, cutoff)) for lin in subdirs(self.root / sha(source))]
        count = sum(len(listing.names) for _, listing in plans)
        if not count:
            raise NotFound(f"execution {source!r} has no checkpoints to copy")
        build = self.root / f"{TMP_COPY}{sha(target)}-{uuid.uuid4().hex}"
        displaced: Path | None = None
        try:
            build.mkdir()
            now_us = to_us(self.now())
            for lineage, listing in plans:
                self._copy_lineage(lineage, listing, build / lineage.name, target, now_us)
            fsync_dir(build)
            if destination.exists():
                # Only orphan writes or expired checkpoints: the copy replaces them.
                displaced = self.root / f"{TMP}{uuid.uuid4().hex}"
                os.rename(destination, displaced)
            os.rename(build, destination)
        except BaseException:
            if displaced is not None and not destination.exists():
                os.rename(displaced, destination)
                displaced = None
            shutil.rmtree(build, ignore_errors=True)
            raise
        fsync_dir(self.root)
        if displaced is not None:
            shutil.rmtree(displaced, ignore_errors=True)
        return count

    def _copy_lineage(
        self, lineage: Path, listing: Listing, twin: Path, target: str, now_us: int
    ) -> None:
        twin.mkdir()
        values: set[str] = set()
        for _, name in listing.names:
            found = self.reader.head(lineage, name)
            state = None if found is None else self.reader.state(found)
            if found is None or state is None:
                raise InternalError(f"checkpoint file {lineage / name} vanished under the lock")
            values |= _blobs_of(found.cp)
            twin_cp = found.cp.replace(execution_id=target, state=state)
            write_atomic(twin, name, encode_checkpoint(twin_cp))
        for file in values:
            link_or_copy(lineage / file, twin / file)
        for key in listing.writes:
            directory = twin / writes_dir(key)
            directory.mkdir()
            with contextlib.suppress(FileNotFoundError):
                for entry in os.listdir(lineage / writes_dir(key)):
                    if WRITE.fullmatch(entry):
                        link_or_copy(lineage / writes_dir(key) / entry, directory / entry)
            fsync_dir(directory)
        if listing.names:
            (twin / marker_file(now_us)).touch()
        fsync_dir(twin)


def _blobs_of(cp: Checkpoint) -> set[str]:
    """The channel value files a checkpoint (header) refers to."""
    return {blob_file(name, ch.version) for name, ch in cp.channels.items()}
