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

from checkpoint_client import Checkpoint, PendingWrite, Unavailable

from ... import validation as v
from .._base import Backend, check_cas, saved_or_conflict
from .schema import (
    CREATE_MIGRATIONS_TABLE,
    DELETE_EXECUTION,
    DELETE_LINEAGE,
    DELETE_ONE,
    EXISTS,
    EXPIRE_EXECUTION,
    EXPIRE_LINEAGE,
    INSERT,
    INT64_MIN,
    MAX_VERSION,
    MIGRATIONS,
    PRUNE,
    SELECT_LATEST,
    SELECT_ONE,
    SELECT_VERSION,
    SELECT_WRITES,
    UPSERT_WRITE,
    from_micros,
    list_query,
    micros,
)

__all__ = ["SqliteStore"]

_T = TypeVar("_T")


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        # Extended codes (SQLITE_BUSY_SNAPSHOT, ...) keep the primary code in the low byte.
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "database is locked" in text or "busy" in text


def _checkpoint(row: sqlite3.Row | tuple[Any, ...]) -> Checkpoint:
    (eid, ns, cid, version, parent, node, next_nodes, ctype, state, meta, created) = row
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
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = self._new_connection(reader=False)
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
                # One read transaction: a checkpoint and its writes come from one snapshot.
                return _transact(conn, "BEGIN", work)
            finally:
                self._readers.put(conn)

        return await self._run(self._reader_pool, job)

    def _cutoff(self) -> int:
        cutoff = self.expired_before()
        return INT64_MIN if cutoff is None else micros(cutoff)

    def _purge_expired(
        self, conn: sqlite3.Connection, execution_id: str, namespace: str | None
    ) -> None:
        cutoff = self.expired_before()
        if cutoff is None:
            return
        if namespace is None:
            conn.execute(EXPIRE_EXECUTION, (execution_id, micros(cutoff)))
        else:
            conn.execute(EXPIRE_LINEAGE, (execution_id, namespace, micros(cutoff)))

    # -- the primitives -----------------------------------------------------------------

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        eid, ns = checkpoint.execution_id, checkpoint.namespace

        def work(conn: sqlite3.Connection) -> Checkpoint:
            self._purge_expired(conn, eid, ns)
            row = conn.execute(
                SELECT_ONE, (eid, ns, checkpoint.checkpoint_id, INT64_MIN)
            ).fetchone()
            if row is not None:
                return saved_or_conflict(checkpoint, _checkpoint(row))
            latest: int = conn.execute(MAX_VERSION, (eid, ns)).fetchone()[0]
            check_cas(checkpoint, expected_version, latest)
            saved = checkpoint.replace(version=latest + 1, created_at=self.now())
            assert saved.created_at is not None
            conn.execute(
                INSERT,
                (
                    eid,
                    ns,
                    saved.checkpoint_id,
                    saved.version,
                    saved.parent_id,
                    saved.node,
                    json.dumps(list(saved.next_nodes), ensure_ascii=False),
                    saved.content_type,
                    saved.state_bytes,
                    saved.metadata_json().decode(),
                    micros(saved.created_at),
                ),
            )
            keep = self.retention.max_checkpoints
            if keep is not None:
                # The pruned checkpoints' writes follow by ON DELETE CASCADE.
                conn.execute(PRUNE, (eid, ns, eid, ns, keep))
            return saved

        return await self._write(work)

    @staticmethod
    def _writes(conn: sqlite3.Connection, cp: Checkpoint) -> Checkpoint:
        rows = conn.execute(
            SELECT_WRITES,
            (cp.execution_id, cp.namespace, cp.checkpoint_id),
        ).fetchall()
        writes = [
            PendingWrite(task, idx, channel, bytes(value), content_type=ctype, task_path=path)
            for task, idx, channel, ctype, value, path in rows
        ]
        return cp.replace(pending_writes=writes)

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> Checkpoint | None:
            row = conn.execute(
                SELECT_ONE,
                (execution_id, namespace, checkpoint_id, cutoff),
            ).fetchone()
            return None if row is None else self._writes(conn, _checkpoint(row))

        return await self._read(work)

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> Checkpoint | None:
            row = conn.execute(SELECT_LATEST, (execution_id, namespace, cutoff)).fetchone()
            return None if row is None else self._writes(conn, _checkpoint(row))

        return await self._read(work)

    async def _version_of(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> int | None:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(
                SELECT_VERSION,
                (execution_id, namespace, checkpoint_id, cutoff),
            ).fetchone()
            return None if row is None else int(row[0])

        return await self._read(work)

    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
    ) -> builtins.list[Checkpoint]:
        sql, params = list_query(
            execution_id, namespace, below_version, limit, metadata_filter, self.expired_before()
        )

        def work(conn: sqlite3.Connection) -> builtins.list[Checkpoint]:
            return [_checkpoint(row) for row in conn.execute(sql, params)]

        return await self._read(work)

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            self._purge_expired(conn, execution_id, namespace)
            cursor = conn.execute(
                DELETE_ONE,
                (execution_id, namespace, checkpoint_id),
            )
            return cursor.rowcount > 0

        return await self._write(work)

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        def work(conn: sqlite3.Connection) -> int:
            # Expired checkpoints are already gone as far as callers know: not counted.
            self._purge_expired(conn, execution_id, namespace)
            if namespace is None:
                cursor = conn.execute(DELETE_EXECUTION, (execution_id,))
            else:
                cursor = conn.execute(DELETE_LINEAGE, (execution_id, namespace))
            # rowcount counts only the checkpoints, not the writes removed by the cascade.
            return cursor.rowcount

        return await self._write(work)

    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            self._purge_expired(conn, execution_id, namespace)
            exists = conn.execute(
                EXISTS,
                (execution_id, namespace, checkpoint_id),
            ).fetchone()
            if exists is None:
                return False
            conn.executemany(
                UPSERT_WRITE,
                [
                    (
                        execution_id,
                        namespace,
                        checkpoint_id,
                        w.task_id,
                        w.idx,
                        w.channel,
                        w.content_type,
                        w.value_bytes,
                        w.task_path,
                    )
                    for w in writes
                ],
            )
            return True

        return await self._write(work)

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
