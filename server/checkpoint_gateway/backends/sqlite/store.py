"""``SqliteStore``: the store over one SQLite file (see the package docstring)."""

from __future__ import annotations

import asyncio
import builtins
import json
import queue
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from checkpoint_client import (
    Channel,
    Checkpoint,
    Conflict,
    ExecutionInfo,
    NotFound,
    PendingWrite,
    Unavailable,
)

from ... import validation as v
from .._base import (
    AncestorWalk,
    Backend,
    PageBudget,
    Position,
    channel_conflict,
    check_cas,
    missing_channel,
    saved_or_conflict,
)
from .._location import StoreLocationError, check_database_file, make_directory
from .schema import (
    COLLECT_BLOBS,
    COPY_BLOBS,
    COPY_CHECKPOINTS,
    COPY_WRITES,
    COUNT_LIVE,
    CREATE_MIGRATIONS_TABLE,
    DELETE_EXECUTION,
    DELETE_EXECUTION_ALL,
    DELETE_EXECUTION_BLOBS,
    DELETE_EXECUTION_ORPHANS,
    DELETE_EXECUTION_WRITES,
    DELETE_LINEAGE,
    DELETE_LINEAGE_ALL,
    DELETE_LINEAGE_BLOBS,
    DELETE_LINEAGE_WRITES,
    DELETE_ONE,
    DELETE_ORPHANS,
    DELETE_WRITES_OF,
    EXPIRE_EXECUTION,
    EXPIRE_LINEAGE,
    INSERT,
    INSERT_BLOB,
    INSERT_WRITE,
    INT64_MIN,
    MAX_VERSION,
    MIGRATIONS,
    PRUNE,
    PRUNE_EXECUTION,
    SELECT_CHAIN,
    SELECT_CHANNEL_TYPES,
    SELECT_CHANNELS,
    SELECT_LATEST,
    SELECT_LOCATION,
    SELECT_ONE,
    SELECT_ROW,
    SELECT_SENT_CHANNELS,
    SELECT_STATE,
    SELECT_WRITES,
    SET_EXECUTION,
    TIDY_EXECUTION,
    TOUCH_EXECUTION,
    UPSERT_WRITE,
    delete_where_query,
    execution_query,
    executions_query,
    from_micros,
    list_query,
    micros,
    namespaces_query,
    search_query,
)

__all__ = ["SqliteStore"]

_T = TypeVar("_T")
Row = tuple[Any, ...]

#: RETURNING (3.35) cleans up after deletions in the same statement.
MIN_SQLITE = (3, 35, 0)


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        # Extended codes (SQLITE_BUSY_SNAPSHOT, ...) keep the primary code in the low byte.
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "database is locked" in text or "busy" in text


def _checkpoint(row: Row) -> Checkpoint:
    """A checkpoint row (as the ``schema`` statements select it) without its channels and writes."""
    (eid, ns, cid, version, parent, node, next_nodes, ctype, state, meta, created, _) = row
    return Checkpoint(
        eid,
        bytes(state),
        namespace=ns,
        checkpoint_id=cid,
        parent_id=parent,
        node=node,
        next_nodes=json.loads(next_nodes),
        content_type=ctype,
        metadata=json.loads(meta),
        created_at=from_micros(created),
        version=version,
    )


def _refs(column: str) -> dict[str, str]:
    """A ``channels`` column: ``{name: version}``."""
    refs: dict[str, str] = json.loads(column)
    return refs


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fits(budget: PageBudget, size: int) -> bool:
    """What ``budget.admit`` will say of a checkpoint weighing ``size``, asked before its
    state is read (``admit`` itself then counts it)."""
    return not budget.count or budget.used + size <= budget.max_bytes


def _transact(conn: sqlite3.Connection, begin: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
    """Run ``work`` in one transaction: commit on success, roll back on any error."""
    conn.execute(begin)
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


class SqliteStore(Backend):
    """Checkpoints in one SQLite database file (WAL), safe across threads and processes.

    Build it with ``await SqliteStore.open(path)``, not the constructor.
    """

    name = "sqlite"

    def __init__(
        self,
        path: str,
        *,
        busy_timeout_ms: int,
        readers: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if readers < 1:
            raise ValueError("readers must be at least 1")
        if busy_timeout_ms < 0:
            raise ValueError("busy_timeout_ms must not be negative")
        self.path = path
        self._timeout = busy_timeout_ms / 1000
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._reader_pool = ThreadPoolExecutor(readers, thread_name_prefix="sqlite-reader")
        self._reader_count = readers
        self._writer: sqlite3.Connection | None = None
        # As many connections as reader threads, so a reader never waits for one.
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._connections: builtins.list[sqlite3.Connection] = []
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        busy_timeout_ms: int = 5000,
        readers: int = 4,
        **kwargs: Any,
    ) -> SqliteStore:
        """Open (creating it and its parent directories if needed) and migrate a database.

        Args:
            path: the database file.
            busy_timeout_ms: how long to wait for another process's write lock before
                answering ``Unavailable``.
            readers: reader threads (and connections) serving loads and listings.
            **kwargs: ``limits``, ``retention`` and ``clock`` for ``Backend``.

        Returns:
            The ready store; close it with ``await store.close()``.
        """
        store = cls(path, busy_timeout_ms=busy_timeout_ms, readers=readers, **kwargs)
        try:
            await store._run(store._writer_pool, store._connect)
            await store.setup()
        except BaseException:
            await store.close()
            raise
        return store

    def _new_connection(self, *, reader: bool) -> sqlite3.Connection:
        # isolation_level=None: the module never opens transactions behind our back;
        # check_same_thread=False: close() may run on another thread than the one using it.
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        self._connections.append(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        if reader:
            conn.execute("PRAGMA query_only = ON")
        else:
            mode = self._switch_to_wal(conn)
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch {self.path} to WAL (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _switch_to_wal(self, conn: sqlite3.Connection) -> str:
        # On a new file, connections racing to switch it to WAL can get SQLITE_BUSY at once,
        # without the busy handler being consulted; retry until the busy timeout, as the
        # busy handler would have.
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(0.005)

    def _connect(self) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE:
            raise RuntimeError(
                f"SQLite {sqlite3.sqlite_version} is too old; the sqlite backend needs "
                f"{'.'.join(map(str, MIN_SQLITE))} or newer"
            )
        path = Path(self.path)
        make_directory(path.parent)
        check_database_file(path)
        try:
            self._writer = self._new_connection(reader=False)
        except sqlite3.DatabaseError as exc:
            # Both are facts about the path, not outages: say which, once, without the
            # driver's traceback (the CLI names --backend with it).
            if "file is not a database" in str(exc):
                raise StoreLocationError(f"{path} is not a SQLite database") from None
            if "unable to open database file" in str(exc):
                raise StoreLocationError(
                    f"cannot create or open {path}: its directory does not accept new files"
                ) from None
            raise
        for _ in range(self._reader_count):
            self._readers.put(self._new_connection(reader=True))

    async def setup(self) -> None:
        """Apply the migrations this database lacks; a no-op when it is up to date.

        Safe to run repeatedly and from several processes at once: it runs in one
        ``BEGIN IMMEDIATE`` transaction, so concurrent runs take turns.
        """
        await self._write(self._migrate)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(CREATE_MIGRATIONS_TABLE)
        current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        applied: int = current.fetchone()[0]
        if applied > len(MIGRATIONS):
            # A newer gateway migrated this file; this one does not know that schema.
            raise RuntimeError(
                f"{self.path} has schema version {applied}, newer than this gateway's "
                f"{len(MIGRATIONS)}; upgrade the gateway"
            )
        for version, statement in enumerate(MIGRATIONS[applied:], start=applied + 1):
            conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (version, micros(datetime.now(UTC))),
            )

    # -- running work on the threads ------------------------------------------------------

    async def _run(self, pool: ThreadPoolExecutor, job: Callable[[], _T]) -> _T:
        if self._closed:
            raise Unavailable(f"the sqlite store {self.path!r} is closed")
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, job)
        except sqlite3.Error as exc:
            if _is_busy(exc):
                raise Unavailable(f"sqlite database {self.path!r} is busy: {exc}") from exc
            raise

    async def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def job() -> _T:
            assert self._writer is not None
            return _transact(self._writer, "BEGIN IMMEDIATE", work)

        return await self._run(self._writer_pool, job)

    async def _read(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def job() -> _T:
            conn = self._readers.get_nowait()
            try:
                # One read transaction: a checkpoint, its channel values and its writes
                # (a whole page, a whole chain) come from one snapshot.
                return _transact(conn, "BEGIN", work)
            finally:
                self._readers.put(conn)

        return await self._run(self._reader_pool, job)

    def _cutoff(self) -> int:
        cutoff = self.expired_before()
        return INT64_MIN if cutoff is None else micros(cutoff)

    # -- cleaning up (on the writer, inside its transaction) ------------------------------

    @staticmethod
    def _forget(
        conn: sqlite3.Connection, removed: builtins.list[Row], *, thin: bool = False
    ) -> None:
        """Clean up after the checkpoints a statement removed (its RETURNING rows): their
        writes, and the channel values no remaining checkpoint of their lineage refers
        to. ``thin`` (retention, prune: they keep each lineage's newest) also removes the
        lineage's orphan writes stored before the newest removed; otherwise an execution
        left without checkpoints leaves the executions index."""
        if not removed:
            return
        conn.executemany(DELETE_WRITES_OF, [(e, n, c) for e, n, c, _, _ in removed])
        lineages: dict[tuple[str, str], tuple[int, set[tuple[str, str]]]] = {}
        for eid, ns, _, created, channels in removed:
            newest, refs = lineages.get((eid, ns), (created, set()))
            refs.update(_refs(channels).items())
            lineages[(eid, ns)] = (max(newest, created), refs)
        for (eid, ns), (newest, refs) in lineages.items():
            if thin:
                conn.execute(DELETE_ORPHANS, (eid, ns, newest))
            if refs:
                conn.execute(COLLECT_BLOBS, (eid, ns, _json(sorted(refs))))
        if not thin:
            for eid in {e for e, _ in lineages}:
                conn.execute(TIDY_EXECUTION, (eid,))

    def _purge_expired(
        self, conn: sqlite3.Connection, execution_id: str, namespace: str | None
    ) -> None:
        """Remove the lineage's (or execution's) expired checkpoints, with what goes with
        them, and its orphan writes older than the TTL."""
        cutoff = self.expired_before()
        if cutoff is None:
            return
        cutoff_us = micros(cutoff)
        if namespace is None:
            self._forget(conn, conn.execute(EXPIRE_EXECUTION, (execution_id, cutoff_us)).fetchall())
            conn.execute(DELETE_EXECUTION_ORPHANS, (execution_id, cutoff_us))
        else:
            removed = conn.execute(EXPIRE_LINEAGE, (execution_id, namespace, cutoff_us)).fetchall()
            self._forget(conn, removed)
            conn.execute(DELETE_ORPHANS, (execution_id, namespace, cutoff_us))

    # -- reading (on a reader, inside its read transaction) -------------------------------

    @staticmethod
    def _complete(
        conn: sqlite3.Connection,
        row: Row,
        *,
        with_writes: bool,
        wanted: set[str] | None = None,
    ) -> Checkpoint:
        """A checkpoint row with its channel values (those in ``wanted``, or all) and, if
        asked, its pending writes, sorted by (task_id, idx)."""
        cp = _checkpoint(row)
        refs = _refs(row[-1])
        if wanted is not None:
            refs = {n: version for n, version in refs.items() if n in wanted}
        changes: dict[str, Any] = {}
        if refs:
            found = {
                name: (ctype, value)
                for name, ctype, value in conn.execute(
                    SELECT_CHANNELS, (_json(refs), cp.execution_id, cp.namespace)
                )
            }
            channels = {}
            for name, version in refs.items():
                if name not in found:
                    # Saves check references and removals keep what is referred to.
                    raise RuntimeError(
                        f"channel {name!r} version {version!r} of checkpoint "
                        f"{cp.checkpoint_id!r} of execution {cp.execution_id!r} has no value"
                    )
                ctype, value = found[name]
                channels[name] = Channel(version, bytes(value), content_type=ctype)
            changes["channels"] = channels
        if with_writes:
            rows = conn.execute(SELECT_WRITES, (cp.execution_id, cp.namespace, cp.checkpoint_id))
            changes["pending_writes"] = [
                PendingWrite(task, idx, channel, bytes(value), content_type=ctype, task_path=path)
                for task, idx, channel, ctype, value, path in rows
            ]
        return cp.replace(**changes) if changes else cp

    def _page(
        self,
        conn: sqlite3.Connection,
        query: tuple[str, builtins.list[object]],
        *,
        by_version: bool,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        """Read a page picked by a ``schema`` page query: the candidates with their
        weights first, then the rows that fit the budget, in order."""
        candidates = conn.execute(*query).fetchall()
        if by_version:
            candidates.sort(key=lambda c: c[4], reverse=True)
        else:
            candidates.sort(key=lambda c: (c[1], c[2], c[3], c[4]), reverse=True)
        budget = PageBudget(max_bytes)
        out: builtins.list[Checkpoint] = []
        for rid, *_, size in candidates:
            if not _fits(budget, size):
                budget.cut = True
                break
            row = conn.execute(SELECT_ROW, (rid,)).fetchone()
            cp = self._complete(conn, row, with_writes=with_writes)
            if not budget.admit(cp):
                break
            out.append(cp)
        return out, budget.cut

    # -- the primitives -----------------------------------------------------------------

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        eid, ns = checkpoint.execution_id, checkpoint.namespace

        def work(conn: sqlite3.Connection) -> Checkpoint:
            self._purge_expired(conn, eid, ns)
            row = conn.execute(
                SELECT_ONE, (eid, ns, checkpoint.checkpoint_id, INT64_MIN)
            ).fetchone()
            if row is not None:
                stored = _checkpoint(row)
                refs = _refs(row[-1])
                if refs:
                    types = dict(conn.execute(SELECT_CHANNEL_TYPES, (_json(refs), eid, ns)))
                    stored = stored.replace(
                        channels={
                            n: Channel(version, content_type=types.get(n))
                            for n, version in refs.items()
                        }
                    )
                return saved_or_conflict(checkpoint, stored)
            new_blobs = []
            if checkpoint.channels:
                sent = [[n, ch.version, ch.has_value] for n, ch in checkpoint.channels.items()]
                held = {
                    name: (ctype, value)
                    for name, ctype, value in conn.execute(
                        SELECT_SENT_CHANNELS, (_json(sent), eid, ns)
                    )
                }
                for name, ch in checkpoint.channels.items():
                    stored_value = held.get(name)
                    if ch.value_bytes is None:
                        if stored_value is None:
                            raise missing_channel(checkpoint, name)
                    elif stored_value is None:
                        new_blobs.append(
                            (eid, ns, name, ch.version, ch.content_type, ch.value_bytes)
                        )
                    elif stored_value != (ch.content_type, ch.value_bytes):
                        raise channel_conflict(checkpoint, name)
            latest: int = conn.execute(MAX_VERSION, (eid, ns)).fetchone()[0]
            check_cas(checkpoint, expected_version, latest)
            saved = checkpoint.replace(version=latest + 1, created_at=self.now())
            assert saved.created_at is not None
            created_us = micros(saved.created_at)
            conn.execute(
                INSERT,
                (
                    eid,
                    ns,
                    saved.checkpoint_id,
                    saved.version,
                    saved.parent_id,
                    saved.node,
                    _json(list(saved.next_nodes)),
                    saved.content_type,
                    saved.state_bytes,
                    saved.metadata_json().decode(),
                    created_us,
                    _json(saved.channel_versions()),
                ),
            )
            if new_blobs:
                conn.executemany(INSERT_BLOB, new_blobs)
            conn.execute(TOUCH_EXECUTION, (eid, created_us))
            keep = self.retention.max_checkpoints
            if keep is not None:
                removed = conn.execute(PRUNE, (eid, ns, eid, ns, keep)).fetchall()
                self._forget(conn, removed, thin=True)
            return saved

        return await self._write(work)

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> Checkpoint | None:
            row = conn.execute(
                SELECT_ONE, (execution_id, namespace, checkpoint_id, cutoff)
            ).fetchone()
            return None if row is None else self._complete(conn, row, with_writes=True)

        return await self._read(work)

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> Checkpoint | None:
            row = conn.execute(SELECT_LATEST, (execution_id, namespace, cutoff)).fetchone()
            return None if row is None else self._complete(conn, row, with_writes=True)

        return await self._read(work)

    async def _locate(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> tuple[int, int] | None:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> tuple[int, int] | None:
            row = conn.execute(
                SELECT_LOCATION, (execution_id, namespace, checkpoint_id, cutoff)
            ).fetchone()
            return None if row is None else (int(row[0]), int(row[1]))

        return await self._read(work)

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
        query = list_query(
            execution_id,
            namespace,
            below_version,
            limit,
            metadata_filter,
            self.expired_before(),
            with_writes=with_writes,
        )
        return await self._read(
            lambda conn: self._page(
                conn, query, by_version=True, with_writes=with_writes, max_bytes=max_bytes
            )
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
        query = execution_query(
            execution_id, after, limit, metadata_filter, self._cutoff(), with_writes=with_writes
        )
        return await self._read(
            lambda conn: self._page(
                conn, query, by_version=False, with_writes=with_writes, max_bytes=max_bytes
            )
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
        query = search_query(
            prefix, after, limit, metadata_filter, self._cutoff(), with_writes=with_writes
        )
        return await self._read(
            lambda conn: self._page(
                conn, query, by_version=False, with_writes=with_writes, max_bytes=max_bytes
            )
        )

    async def _namespaces(
        self, execution_id: str, after: str | None, limit: int
    ) -> builtins.list[str]:
        query = namespaces_query(execution_id, after, limit, self._cutoff())

        def work(conn: sqlite3.Connection) -> builtins.list[str]:
            return [name for (name,) in conn.execute(*query)][:limit]

        return await self._read(work)

    async def _executions(
        self, prefix: str, after: tuple[int, str] | None, limit: int
    ) -> builtins.list[ExecutionInfo]:
        query = executions_query(prefix, after, limit, self._cutoff())

        def work(conn: sqlite3.Connection) -> builtins.list[ExecutionInfo]:
            return [
                ExecutionInfo(eid, from_micros(updated)) for eid, updated in conn.execute(*query)
            ]

        return await self._read(work)

    async def _delete_where(
        self, prefix: str, execution_id: str | None, metadata_filter: Mapping[str, v.Scalar]
    ) -> int:
        query = delete_where_query(prefix, execution_id, metadata_filter, self._cutoff())

        def work(conn: sqlite3.Connection) -> int:
            removed = conn.execute(*query).fetchall()
            self._forget(conn, removed)
            return len(removed)

        return await self._write(work)

    async def _copy_execution(self, source: str, target: str) -> int:
        # One transaction: nobody sees a half-done copy, and a failure leaves no trace.
        def work(conn: sqlite3.Connection) -> int:
            self._purge_expired(conn, source, None)
            count: int = conn.execute(COUNT_LIVE, (source, INT64_MIN)).fetchone()[0]
            if not count:
                raise NotFound(f"execution {source!r} has no checkpoints to copy")
            if conn.execute(COUNT_LIVE, (target, self._cutoff())).fetchone()[0]:
                raise Conflict(f"execution {target!r} already has checkpoints; copy to a new id")
            # What the target still holds (expired checkpoints, orphan writes) makes way.
            for statement in (
                DELETE_EXECUTION_ALL,
                DELETE_EXECUTION_WRITES,
                DELETE_EXECUTION_BLOBS,
            ):
                conn.execute(statement, (target,))
            for statement in (COPY_CHECKPOINTS, COPY_BLOBS, COPY_WRITES):
                conn.execute(statement, (source, target))
            conn.execute(SET_EXECUTION, (target, micros(self.now())))
            return count

        return await self._write(work)

    async def _prune(self, execution_id: str) -> int:
        def work(conn: sqlite3.Connection) -> int:
            self._purge_expired(conn, execution_id, None)
            removed = conn.execute(PRUNE_EXECUTION, (execution_id,)).fetchall()
            self._forget(conn, removed, thin=True)
            return len(removed)

        return await self._write(work)

    async def _ancestors(
        self, execution_id: str, namespace: str, start: str, include_start: bool, walk: AncestorWalk
    ) -> str | None:
        # One statement (a recursive CTE) finds the chain up to the page's length; each
        # checkpoint's channels (those still wanted), writes and state (if kept) follow,
        # all in one read transaction.
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> str | None:
            chain = conn.execute(
                SELECT_CHAIN, (execution_id, namespace, start, cutoff, walk.limit)
            ).fetchall()
            if not chain:
                return None
            if not include_start:
                if not chain[0][5]:  # parent_id
                    return ""
                chain = chain[1:]
            for rid, *row in chain:
                cp = self._complete(conn, tuple(row), with_writes=True, wanted=walk.wanted())
                if walk.include_state:
                    (state,) = conn.execute(SELECT_STATE, (rid,)).fetchone()
                    cp = cp.replace(state=bytes(state))
                if not walk.take(cp):
                    return cp.checkpoint_id
                following = walk.next_after(cp)
                if following is not None:
                    return following
            return ""  # the chain was cut (a parent deleted, pruned or expired)

        return await self._read(work)

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            self._purge_expired(conn, execution_id, namespace)
            # Writes under the id go whether or not it was saved.
            conn.execute(DELETE_WRITES_OF, (execution_id, namespace, checkpoint_id))
            removed = conn.execute(DELETE_ONE, (execution_id, namespace, checkpoint_id)).fetchall()
            self._forget(conn, removed)
            return bool(removed)

        return await self._write(work)

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> int:
            # Expired checkpoints are already gone as far as callers know: not counted.
            rest: tuple[str, ...]
            if namespace is None:
                scope: tuple[str, ...] = (execution_id,)
                count = conn.execute(DELETE_EXECUTION, (*scope, cutoff)).rowcount
                rest = (DELETE_EXECUTION_ALL, DELETE_EXECUTION_WRITES, DELETE_EXECUTION_BLOBS)
            else:
                scope = (execution_id, namespace)
                count = conn.execute(DELETE_LINEAGE, (*scope, cutoff)).rowcount
                rest = (DELETE_LINEAGE_ALL, DELETE_LINEAGE_WRITES, DELETE_LINEAGE_BLOBS)
            if cutoff == INT64_MIN:
                rest = rest[1:]  # no TTL: no expired checkpoint is left
            for statement in rest:
                conn.execute(statement, scope)
            conn.execute(TIDY_EXECUTION, (execution_id,))
            return count

        return await self._write(work)

    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> None:
        def work(conn: sqlite3.Connection) -> None:
            self._purge_expired(conn, execution_id, namespace)
            now = micros(self.now())
            rows = [
                (
                    execution_id,
                    namespace,
                    checkpoint_id,
                    w.task_id,
                    w.idx,
                    w.channel,
                    w.content_type,
                    w.task_path,
                    now,
                    w.value_bytes,
                )
                for w in writes
            ]
            first = [r for r in rows if r[4] >= 0]
            special = [r for r in rows if r[4] < 0]
            if first:
                conn.executemany(INSERT_WRITE, first)
            if special:
                conn.executemany(UPSERT_WRITE, special)

        await self._write(work)

    async def close(self) -> None:
        """Finish queued work, stop the threads and close every connection. Idempotent."""
        if self._closed:
            return
        self._closed = True

        def shutdown() -> None:
            self._writer_pool.shutdown(wait=True)
            self._reader_pool.shutdown(wait=True)
            for conn in self._connections:
                conn.close()
            self._connections.clear()

        await asyncio.to_thread(shutdown)
