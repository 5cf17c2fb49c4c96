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

from __future__ import annotations

import asyncio
import builtins
import json
import queue
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from checkpoint_client import Checkpoint, PendingWrite, Unavailable

from .. import validation as v
from ._base import Backend, check_cas, saved_or_conflict

__all__ = ["MIGRATIONS", "SqliteStore", "list_query"]

_T = TypeVar("_T")

MIGRATIONS: list[str] = [
    # 1: the checkpoints. Rowid table (not WITHOUT ROWID) because states can be large.
    """
    CREATE TABLE checkpoints (
        execution_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        parent_id TEXT NOT NULL,
        node TEXT NOT NULL,
        next_nodes TEXT NOT NULL,
        content_type TEXT NOT NULL,
        state BLOB NOT NULL,
        metadata TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (execution_id, namespace, checkpoint_id)
    )
    """,
    # 2: latest, keyset paging and CAS all walk a lineage by version.
    """
    CREATE UNIQUE INDEX checkpoints_by_version
        ON checkpoints (execution_id, namespace, version)
    """,
    # 3: pending writes; they go with their checkpoint (delete, prune, expiry, clear).
    """
    CREATE TABLE writes (
        execution_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        channel TEXT NOT NULL,
        content_type TEXT NOT NULL,
        value BLOB NOT NULL,
        task_path TEXT NOT NULL,
        PRIMARY KEY (execution_id, namespace, checkpoint_id, task_id, idx),
        FOREIGN KEY (execution_id, namespace, checkpoint_id)
            REFERENCES checkpoints (execution_id, namespace, checkpoint_id) ON DELETE CASCADE
    )
    """,
]

_CREATE_MIGRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        applied_at INTEGER NOT NULL
    )
"""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Bounds of a SQLite INTEGER: "no cutoff" and "no upper version bound".
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# Every statement is a literal; values always travel as '?' parameters.
_SELECT_ONE = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at
    FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ? AND created_at >= ?
"""
_SELECT_LATEST = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at
    FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND created_at >= ?
    ORDER BY version DESC LIMIT 1
"""
# The listing: list_query appends the metadata filter conditions and the ordering.
_SELECT_PAGE = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at
    FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND version < ? AND created_at >= ?"""
_PAGE_ORDER = "\n    ORDER BY version DESC LIMIT ?"
_SELECT_VERSION = """
    SELECT version FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ? AND created_at >= ?
"""
_MAX_VERSION = """
    SELECT coalesce(max(version), 0) FROM checkpoints WHERE execution_id = ? AND namespace = ?
"""
_INSERT = """
    INSERT INTO checkpoints (execution_id, namespace, checkpoint_id, version, parent_id, node,
        next_nodes, content_type, state, metadata, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# Keep the newest N rows by count (deletions leave version gaps, so not by number).
_PRUNE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND version <= (
        SELECT version FROM checkpoints WHERE execution_id = ? AND namespace = ?
        ORDER BY version DESC LIMIT 1 OFFSET ?)
"""
_EXPIRE_LINEAGE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND created_at < ?
"""
_EXPIRE_EXECUTION = "DELETE FROM checkpoints WHERE execution_id = ? AND created_at < ?"
_DELETE_ONE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
"""
_DELETE_LINEAGE = "DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ?"
_DELETE_EXECUTION = "DELETE FROM checkpoints WHERE execution_id = ?"
_EXISTS = """
    SELECT 1 FROM checkpoints WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
"""
_SELECT_WRITES = """
    SELECT task_id, idx, channel, content_type, value, task_path FROM writes
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
    ORDER BY task_id, idx
"""
_UPSERT_WRITE = """
    INSERT INTO writes (execution_id, namespace, checkpoint_id, task_id, idx, channel,
        content_type, value, task_path)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (execution_id, namespace, checkpoint_id, task_id, idx) DO UPDATE SET
        channel = excluded.channel, content_type = excluded.content_type,
        value = excluded.value, task_path = excluded.task_path
"""

# One SQL condition per kind of filter value; '?' placeholders only, see _filter_clause.
_FILTER_TEXT = "(json_type(metadata, ?) = 'text' AND json_extract(metadata, ?) = ?)"
_FILTER_NUMBER = "(json_type(metadata, ?) IN ('integer', 'real') AND json_extract(metadata, ?) = ?)"
_FILTER_TYPE = "json_type(metadata, ?) = ?"


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // _MICROSECOND


def _datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        # Extended codes (SQLITE_BUSY_SNAPSHOT, ...) keep the primary code in the low byte.
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    text = str(exc).lower()
    return "database is locked" in text or "busy" in text


def _filter_clause(key: str, wanted: v.Scalar) -> tuple[str, list[object]]:
    """The SQL condition and parameters matching ``validation.json_scalar_equal``.

    The key was validated to hold no quote or backslash, so ``$."key"`` names exactly that
    top-level member; it is passed as a parameter, never pasted into the SQL.
    """
    path = f'$."{key}"'
    # json_type is NULL for a missing member, so every branch also requires presence.
    if wanted is None:
        return _FILTER_TYPE, [path, "null"]
    if isinstance(wanted, bool):
        return _FILTER_TYPE, [path, "true" if wanted else "false"]
    if isinstance(wanted, str):
        return _FILTER_TEXT, [path, path, wanted]
    number: int | float = wanted
    if isinstance(wanted, int) and not _INT64_MIN <= wanted <= _INT64_MAX:
        # SQLite reads such JSON integers as REAL, and cannot bind them as INTEGER.
        number = float(wanted)
    # SQLite compares INTEGER and REAL numerically, so 1 matches 1.0 as in JSON.
    return _FILTER_NUMBER, [path, path, number]


def list_query(
    execution_id: str,
    namespace: str,
    below_version: int | None,
    limit: int,
    metadata_filter: Mapping[str, v.Scalar],
    expired_before: datetime | None,
) -> tuple[str, list[object]]:
    """The statement (and its parameters) that serves one page of a listing.

    A keyset query on the ``checkpoints_by_version`` index: ``version < ?`` newest first
    with a ``LIMIT``, never ``OFFSET``, and the metadata filter evaluated by SQLite so that
    only matching rows are returned. Exposed so that tests can check its query plan.

    Args:
        execution_id: the lineage's execution.
        namespace: the lineage's namespace.
        below_version: only versions below this one; None for no bound.
        limit: the most rows to return.
        metadata_filter: validated ``key -> scalar`` equality filter.
        expired_before: rows created before this are expired and skipped; None for none.

    Returns:
        The SQL text and its positional parameters.
    """
    conditions: list[str] = []
    params: list[object] = [
        execution_id,
        namespace,
        _INT64_MAX if below_version is None else below_version,
        _INT64_MIN if expired_before is None else _micros(expired_before),
    ]
    for key, wanted in metadata_filter.items():
        clause, clause_params = _filter_clause(key, wanted)
        conditions.append(clause)
        params += clause_params
    params.append(limit)
    # Only the constant fragments above are joined; every value is a '?' parameter.
    sql = _SELECT_PAGE + "".join("\n    AND " + c for c in conditions) + _PAGE_ORDER
    return sql, params


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
        created_at=_datetime(created),
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
        conn.execute(_CREATE_MIGRATIONS_TABLE)
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
                (version, _micros(datetime.now(UTC))),
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
        return _INT64_MIN if cutoff is None else _micros(cutoff)

    def _purge_expired(
        self, conn: sqlite3.Connection, execution_id: str, namespace: str | None
    ) -> None:
        cutoff = self.expired_before()
        if cutoff is None:
            return
        if namespace is None:
            conn.execute(_EXPIRE_EXECUTION, (execution_id, _micros(cutoff)))
        else:
            conn.execute(_EXPIRE_LINEAGE, (execution_id, namespace, _micros(cutoff)))

    # -- the primitives -----------------------------------------------------------------

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        eid, ns = checkpoint.execution_id, checkpoint.namespace

        def work(conn: sqlite3.Connection) -> Checkpoint:
            self._purge_expired(conn, eid, ns)
            row = conn.execute(
                _SELECT_ONE, (eid, ns, checkpoint.checkpoint_id, _INT64_MIN)
            ).fetchone()
            if row is not None:
                return saved_or_conflict(checkpoint, _checkpoint(row))
            latest: int = conn.execute(_MAX_VERSION, (eid, ns)).fetchone()[0]
            check_cas(checkpoint, expected_version, latest)
            saved = checkpoint.replace(version=latest + 1, created_at=self.now())
            assert saved.created_at is not None
            conn.execute(
                _INSERT,
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
                    _micros(saved.created_at),
                ),
            )
            keep = self.retention.max_checkpoints
            if keep is not None:
                # The pruned checkpoints' writes follow by ON DELETE CASCADE.
                conn.execute(_PRUNE, (eid, ns, eid, ns, keep))
            return saved

        return await self._write(work)

    @staticmethod
    def _writes(conn: sqlite3.Connection, cp: Checkpoint) -> Checkpoint:
        rows = conn.execute(
            _SELECT_WRITES,
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
                _SELECT_ONE,
                (execution_id, namespace, checkpoint_id, cutoff),
            ).fetchone()
            return None if row is None else self._writes(conn, _checkpoint(row))

        return await self._read(work)

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> Checkpoint | None:
            row = conn.execute(_SELECT_LATEST, (execution_id, namespace, cutoff)).fetchone()
            return None if row is None else self._writes(conn, _checkpoint(row))

        return await self._read(work)

    async def _version_of(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> int | None:
        cutoff = self._cutoff()

        def work(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(
                _SELECT_VERSION,
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
                _DELETE_ONE,
                (execution_id, namespace, checkpoint_id),
            )
            return cursor.rowcount > 0

        return await self._write(work)

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        def work(conn: sqlite3.Connection) -> int:
            # Expired checkpoints are already gone as far as callers know: not counted.
            self._purge_expired(conn, execution_id, namespace)
            if namespace is None:
                cursor = conn.execute(_DELETE_EXECUTION, (execution_id,))
            else:
                cursor = conn.execute(_DELETE_LINEAGE, (execution_id, namespace))
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
                _EXISTS,
                (execution_id, namespace, checkpoint_id),
            ).fetchone()
            if exists is None:
                return False
            conn.executemany(
                _UPSERT_WRITE,
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
