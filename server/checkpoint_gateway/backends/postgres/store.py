"""``PostgresStore``: the store over a psycopg pool (see the package docstring)."""

from __future__ import annotations

import builtins
import json
import time
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, LiteralString, TypeAlias
from urllib.parse import quote

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout, TooManyRequests

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    Conflict,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)

from ... import validation as v
from ...secrets import scrub
from .. import BackendURLError
from .._base import Backend, PoolStats, check_cas, saved_or_conflict
from .._batch import Coalescer
from .schema import lock_key, migrate, table_names
from .settings import PostgresSettings

__all__ = ["PostgresStore"]

Connection: TypeAlias = AsyncConnection[TupleRow]
Pool: TypeAlias = AsyncConnectionPool[Any]


class _IdleCheck:
    """The pool's ``check``: a round trip, for connections idle ``after`` seconds or more.

    The store calls ``returned`` as each call gives its connection back (not the pool's
    ``reset`` callback: with one, psycopg_pool returns connections through a background
    task, a task per call and a pool that reads busy after the call ended). A connection
    the store never had, or one only the pool used, is tested.
    """

    def __init__(self, after: float) -> None:
        self._after = after
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    async def check(self, conn: AsyncConnection[Any]) -> None:
        at = self._returned.get(conn)
        if at is None or time.monotonic() - at >= self._after:
            await AsyncConnectionPool.check_connection(conn)

    def returned(self, conn: AsyncConnection[Any]) -> None:
        self._returned[conn] = time.monotonic()


_CP_COLUMNS = (
    "checkpoint_id",
    "version",
    "parent_id",
    "node",
    "next_nodes",
    "content_type",
    "state",
    "metadata_text",
    "created_at",
)
_COLUMNS = sql.SQL(", ").join(sql.Identifier(c) for c in _CP_COLUMNS)
_C_COLUMNS: LiteralString = (
    "c.checkpoint_id, c.version, c.parent_id, c.node, c.next_nodes, c.content_type, c.state, "
    "c.metadata_text, c.created_at"
)


def _live(cutoff: datetime | None) -> LiteralString:
    """The expiry condition: two query texts rather than ``(%s IS NULL OR ...)``, so each
    gets a plan of its own."""
    return "" if cutoff is None else " AND created_at >= %(cutoff)s"


def _checkpoint(execution_id: str, namespace: str, row: Sequence[Any]) -> Checkpoint:
    checkpoint_id, version, parent_id, node, next_nodes, content_type, state, meta, at = row
    return Checkpoint(
        execution_id,
        bytes(state),
        namespace=namespace,
        checkpoint_id=checkpoint_id,
        parent_id=parent_id,
        node=node,
        next_nodes=tuple(next_nodes),
        content_type=content_type,
        metadata=json.loads(meta),
        # The session's TimeZone decides the tzinfo psycopg returns; normalize.
        created_at=at.astimezone(UTC),
        version=version,
    )


def _jsonb_safe(value: Any) -> Any:
    # JSONB rejects U+0000; any replacement works because SQL matches are re-checked.
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _filterable(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The entries an equality filter can match: top-level keys with scalar values."""
    return {
        _jsonb_safe(key): _jsonb_safe(value)
        for key, value in metadata.items()
        if value is None or isinstance(value, str | int | float | bool)
    }


def _describe(conninfo: str) -> tuple[str, str | None]:
    """``(where, password)``: the server named without secrets, and the password to scrub."""
    try:
        params = conninfo_to_dict(conninfo) if conninfo else None
    except psycopg.Error:
        params = None
    if not params:
        return "the configured server", None
    host = params.get("host") or params.get("hostaddr") or "local socket"
    port = params.get("port")
    where = f"{params.get('user') or ''}{'@' if params.get('user') else ''}{host}"
    where += f":{port}" if port else ""
    where += f"/{params['dbname']}" if params.get("dbname") else ""
    password = params.get("password")
    return f"postgresql://{where}", str(password) if password else None


class PostgresStore(Backend):
    """Checkpoints in PostgreSQL tables, shared safely by any number of gateway replicas.

    Build it with ``await PostgresStore.open(url, settings=...)``, or hand it a pool you
    built (``PostgresStore(pool, settings=...)``, then ``await store.setup()``); either
    way ``close()`` closes the pool.

    Args:
        pool: the connection pool; its connections may be in autocommit mode or not.
        settings: schema, table prefix and pool settings (the pool ones are used by
            ``open`` only, and for messages).
        **kwargs: ``limits``, ``retention``, ``clock`` (see ``Backend``).
    """

    name = "postgresql"

    def __init__(
        self, pool: Pool, *, settings: PostgresSettings | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings or PostgresSettings()
        self._pool = pool
        self._names = table_names(self.settings.schema, self.settings.table_prefix)
        self._where, self._password = _describe(
            pool.conninfo if isinstance(pool.conninfo, str) else ""
        )
        self._queries: dict[tuple[Any, ...], sql.Composed] = {}
        self._coalescer: Coalescer[tuple[Checkpoint, int | None], Checkpoint] | None = None
        self._idle_check: _IdleCheck | None = None  # set by ``open`` (settings.check)
        if self.settings.coalesce_saves:
            self._coalescer = Coalescer(
                self._save_many,
                max_batch=self.settings.max_batch,
                # Big states go in smaller batches: one statement stays a few MiB.
                weigh=lambda item: len(item[0].state_bytes),
                max_batch_bytes=8 * 1024 * 1024,
            )

    @classmethod
    async def open(
        cls, url: str, *, settings: PostgresSettings | None = None, **kwargs: Any
    ) -> PostgresStore:
        """Connect, open the pool, apply pending migrations and return the store.

        Raises:
            Unavailable: the server cannot be reached or refuses the connection.
            ValueError: ``url`` is not a PostgreSQL URL or conninfo string.
        """
        settings = settings or PostgresSettings()
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            # libpq's message may quote the string, password and all.
            raise BackendURLError("the PostgreSQL URL is malformed") from None
        connect_kwargs: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": settings.prepare_threshold,
            # libpq counts whole seconds.
            "connect_timeout": max(2, round(settings.connect_timeout)),
        }
        if "application_name" not in params:
            connect_kwargs["application_name"] = "checkpoint-gateway"
        idle_check = _IdleCheck(settings.check_after_idle) if settings.check else None
        pool: Pool = AsyncConnectionPool(
            url,
            open=False,
            kwargs=connect_kwargs,
            min_size=settings.min_size,
            max_size=settings.max_size,
            timeout=settings.timeout,
            max_waiting=settings.max_waiting,
            max_idle=settings.max_idle,
            max_lifetime=settings.max_lifetime,
            reconnect_timeout=settings.reconnect_timeout,
            check=idle_check.check if idle_check is not None else None,
            name="checkpoint-gateway",
        )
        store = cls(pool, settings=settings, **kwargs)
        store._idle_check = idle_check
        try:
            # One direct connection first: a refused or rejected connection fails here at
            # once with libpq's reason, where the pool would retry until its timeout and
            # then only say that it timed out.
            try:
                probe = await AsyncConnection.connect(url, **connect_kwargs)
            except psycopg.OperationalError as exc:
                raise Unavailable(
                    f"cannot connect to PostgreSQL at {store._where}: {store._reason(exc)}"
                ) from exc
            await probe.close()
            try:
                await pool.open(wait=True, timeout=settings.connect_timeout)
            except PoolTimeout as exc:
                raise Unavailable(
                    f"PostgreSQL at {store._where}: could not open {settings.min_size} "
                    f"connection(s) within {settings.connect_timeout:g} s"
                ) from exc
            await store.setup()
        except BaseException:
            await pool.close()
            raise
        return store

    async def setup(self, conn: AsyncConnection[Any] | None = None) -> list[int]:
        """Create the schema and tables, or bring them up to date; return versions applied.

        Idempotent, and safe to run from several processes at once. With ``conn`` it runs
        on that connection (in a savepoint if a transaction is open); otherwise on one from
        the pool.
        """
        if conn is not None:
            return await migrate(conn, self.settings.schema, self.settings.table_prefix)
        async with self._connection() as pooled:
            return await migrate(pooled, self.settings.schema, self.settings.table_prefix)

    async def close(self) -> None:
        """Finish the batches of saves in flight, then close the pool (waiting for
        connections in use). Idempotent."""
        if self._coalescer is not None:
            await self._coalescer.close()
        await self._pool.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _sql(self, template: LiteralString, **fragments: LiteralString) -> sql.Composed:
        """``template`` with the table names, ``{cols}`` and ``fragments`` filled in.

        Fragments are constant SQL text chosen by the caller (never input). Memoized, so
        a query is composed once and keeps one text (which prepared statements key on).
        """
        key = (template, *sorted(fragments.items()))
        query = self._queries.get(key)
        if query is None:
            parts = {name: sql.SQL(text) for name, text in fragments.items()}
            query = sql.SQL(template).format(**self._names, cols=_COLUMNS, **parts)
            self._queries[key] = query
        return query

    def _reason(self, exc: BaseException) -> str:
        """The first line of a driver message, without the password should it appear."""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self._password:
            text = scrub(text, (self._password, quote(self._password, safe="")))
        return text

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; driver and pool failures become the client's errors."""
        # Failed connection attempts so far: if the pool fails to connect while we wait,
        # a timeout means the server is down (retryable), not that the pool is full.
        errors_before = self._pool.get_stats().get("connections_errors", 0)
        try:
            async with self._pool.connection() as conn:
                try:
                    yield conn
                finally:
                    if self._idle_check is not None:
                        self._idle_check.returned(conn)
        except PoolTimeout as exc:
            if self._pool.get_stats().get("connections_errors", 0) > errors_before:
                raise Unavailable(
                    f"PostgreSQL at {self._where}: no connection could be made within "
                    f"{self.settings.timeout:g} s (is the server up and accepting connections?)"
                ) from exc
            raise ResourceExhausted(
                f"no PostgreSQL connection became free within {self.settings.timeout:g} s: "
                f"all {self._pool.max_size} connections of the pool are busy "
                "(raise max_size or timeout, or lower the load)"
            ) from exc
        except TooManyRequests as exc:
            raise ResourceExhausted(
                f"too many calls waiting for a PostgreSQL connection "
                f"(max_waiting={self.settings.max_waiting})"
            ) from exc
        except PoolClosed as exc:
            raise Unavailable("the PostgreSQL store is closed") from exc
        except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected) as exc:
            raise Unavailable(
                f"PostgreSQL at {self._where}: transaction aborted by a concurrent one "
                f"({self._reason(exc)}); safe to retry"
            ) from exc
        except psycopg.OperationalError as exc:
            raise Unavailable(f"PostgreSQL at {self._where}: {self._reason(exc)}") from exc

    async def _writes(
        self, conn: Connection, execution_id: str, namespace: str, checkpoint_id: str
    ) -> builtins.list[PendingWrite]:
        cur = await conn.execute(
            self._sql(
                "SELECT task_id, idx, channel, value, content_type, task_path FROM {writes} "
                "WHERE execution_id = %s AND namespace = %s AND checkpoint_id = %s "
                "ORDER BY task_id, idx"
            ),
            [execution_id, namespace, checkpoint_id],
            binary=True,
        )
        return [
            PendingWrite(task_id, idx, channel, bytes(value), content_type=ct, task_path=path)
            for task_id, idx, channel, value, ct, path in await cur.fetchall()
        ]

    # -- primitives -------------------------------------------------------------------------

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        if self._coalescer is not None:
            return await self._coalescer.submit((checkpoint, expected_version))
        (result,) = await self._save_many([(checkpoint, expected_version)])
        if isinstance(result, CheckpointError):
            raise result
        return result

    async def _save_many(
        self, items: builtins.list[tuple[Checkpoint, int | None]]
    ) -> builtins.list[Checkpoint | CheckpointError]:
        """Store the batch with one call of ``{save_many}``: one round trip, one commit.

        The function decides every item as a single save would, in order, and answers
        what the decision rests on; the checks themselves are made here, with the rules
        every backend shares: an id already stored comes back (``r_outcome`` ``d``: a row
        from before the batch; ``b``: an earlier item of the batch) for
        ``saved_or_conflict``, a compare-and-set it did not store (``c``) for
        ``check_cas`` with the latest version it saw, and a stored item (``s``) got that
        version plus one.
        """
        schema, prefix = self.settings.schema, self.settings.table_prefix
        lineages: dict[tuple[str, str], int] = {}  # numbered from 1 as they first appear
        last_of_id: dict[tuple[str, str, str], int] = {}
        numbers: builtins.list[int] = []
        previous: builtins.list[int | None] = []  # the earlier item with the same id
        for i, (cp, _) in enumerate(items, start=1):
            lineage = (cp.execution_id, cp.namespace)
            numbers.append(lineages.setdefault(lineage, len(lineages) + 1))
            previous.append(last_of_id.get((*lineage, cp.checkpoint_id)))
            last_of_id[(*lineage, cp.checkpoint_id)] = i
        created = [self.now() for _ in items]
        params = {
            # The keys a single save of each lineage takes (so that saves of older
            # replicas serialize with batches too), distinct and ascending: the function
            # takes them in this order, which keeps concurrent batches from deadlocking.
            "locks": sorted({lock_key(schema, prefix, e, n) for e, n in lineages}),
            "cutoff": self.expired_before(),
            "keep": self.retention.max_checkpoints,
            "leids": [e for e, _ in lineages],
            "lnss": [n for _, n in lineages],
            "lineage": numbers,
            "prev": previous,
            "cids": [cp.checkpoint_id for cp, _ in items],
            "expected": [expected for _, expected in items],
            "parent_ids": [cp.parent_id for cp, _ in items],
            "nodes": [cp.node for cp, _ in items],
            "next_nodes": [node for cp, _ in items for node in cp.next_nodes],
            "next_counts": [len(cp.next_nodes) for cp, _ in items],
            "content_types": [cp.content_type for cp, _ in items],
            "states": [cp.state_bytes for cp, _ in items],
            "metadata_texts": [cp.metadata_json().decode() for cp, _ in items],
            "metadatas": [Jsonb(_filterable(cp.metadata)) for cp, _ in items],
            "created_ats": created,
        }
        # Binary parameters: no escaping of every state into text.
        query = self._sql(
            "SELECT * FROM {save_many}(%(locks)b::int8[], %(cutoff)b::timestamptz, "
            "%(keep)b::int8, %(leids)b::text[], %(lnss)b::text[], %(lineage)b::int4[], "
            "%(prev)b::int4[], %(cids)b::text[], %(expected)b::int8[], "
            "%(parent_ids)b::text[], %(nodes)b::text[], %(next_nodes)b::text[], "
            "%(next_counts)b::int4[], %(content_types)b::text[], %(states)b::bytea[], "
            "%(metadata_texts)b::text[], %(metadatas)b::jsonb[], "
            "%(created_ats)b::timestamptz[]) ORDER BY r_item"
        )
        async with self._connection() as conn:
            try:
                if conn.autocommit:  # the statement is its own transaction
                    rows = await (await conn.execute(query, params, binary=True)).fetchall()
                else:
                    async with conn.transaction():
                        cur = await conn.execute(query, params, binary=True)
                        rows = await cur.fetchall()
            except psycopg.errors.UniqueViolation as exc:
                # Only a writer that skips the lineage locks (a foreign tool) can cause
                # this; nothing of the batch was stored, and retrying it is safe.
                raise Unavailable(
                    "a checkpoint of the batch was saved concurrently by another writer; "
                    "safe to retry"
                ) from exc
        if [row[0] for row in rows] != list(range(1, len(items) + 1)):
            raise RuntimeError(f"{len(items)} saves answered with {len(rows)} rows")
        out: builtins.list[Checkpoint | CheckpointError] = []
        for (checkpoint, expected), at, row in zip(items, created, rows, strict=True):
            outcome, latest, source = row[1], row[2], row[3]
            try:
                if outcome == "s":
                    out.append(checkpoint.replace(version=latest + 1, created_at=at))
                elif outcome == "b":
                    stored = out[source - 1]
                    assert isinstance(stored, Checkpoint)  # the function's 's' answer
                    out.append(saved_or_conflict(checkpoint, stored))
                elif outcome == "d":
                    found = _checkpoint(checkpoint.execution_id, checkpoint.namespace, row[4:])
                    out.append(saved_or_conflict(checkpoint, found))
                else:
                    check_cas(checkpoint, expected, latest)
                    raise RuntimeError(
                        f"save_many lost a compare-and-set it should not have ({outcome!r})"
                    )
            except Conflict as exc:
                out.append(exc)
        return out

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        cutoff = self.expired_before()
        async with self._connection() as conn:
            cur = await conn.execute(
                self._sql(
                    "SELECT {cols} FROM {checkpoints} WHERE execution_id = %(eid)s "
                    "AND namespace = %(ns)s AND checkpoint_id = %(cid)s{live}",
                    live=_live(cutoff),
                ),
                {"eid": execution_id, "ns": namespace, "cid": checkpoint_id, "cutoff": cutoff},
                binary=True,
            )
            row = await cur.fetchone()
            if row is None:
                return None
            writes = await self._writes(conn, execution_id, namespace, checkpoint_id)
        return _checkpoint(execution_id, namespace, row).replace(pending_writes=writes)

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        cutoff = self.expired_before()
        async with self._connection() as conn:
            cur = await conn.execute(
                self._sql(
                    "SELECT {cols} FROM {checkpoints} WHERE execution_id = %(eid)s "
                    "AND namespace = %(ns)s{live} ORDER BY version DESC LIMIT 1",
                    live=_live(cutoff),
                ),
                {"eid": execution_id, "ns": namespace, "cutoff": cutoff},
                binary=True,
            )
            row = await cur.fetchone()
            if row is None:
                return None
            cp = _checkpoint(execution_id, namespace, row)
            writes = await self._writes(conn, execution_id, namespace, cp.checkpoint_id)
        return cp.replace(pending_writes=writes)

    async def _version_of(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> int | None:
        cutoff = self.expired_before()
        async with self._connection() as conn:
            cur = await conn.execute(
                self._sql(
                    "SELECT version FROM {checkpoints} WHERE execution_id = %(eid)s "
                    "AND namespace = %(ns)s AND checkpoint_id = %(cid)s{live}",
                    live=_live(cutoff),
                ),
                {"eid": execution_id, "ns": namespace, "cid": checkpoint_id, "cutoff": cutoff},
            )
            row = await cur.fetchone()
        return None if row is None else int(row[0])

    def list_query(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
    ) -> tuple[sql.Composed, dict[str, Any]]:
        """The query ``_list`` runs (exposed so tests can EXPLAIN it)."""
        cutoff = self.expired_before()
        where: LiteralString = "execution_id = %(eid)s AND namespace = %(ns)s"
        if below_version is not None:
            where += " AND version < %(below)s"
        if metadata_filter:
            where += " AND metadata @> %(filter)s"
        where += _live(cutoff)
        query = self._sql(
            "SELECT {cols} FROM {checkpoints} WHERE {where} ORDER BY version DESC LIMIT %(limit)s",
            where=where,
        )
        params = {
            "eid": execution_id,
            "ns": namespace,
            "below": below_version,
            "filter": Jsonb({k: _jsonb_safe(x) for k, x in metadata_filter.items()}),
            "cutoff": cutoff,
            "limit": limit,
        }
        return query, params

    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
    ) -> builtins.list[Checkpoint]:
        out: builtins.list[Checkpoint] = []
        async with self._connection() as conn:
            while len(out) < limit:
                wanted = limit - len(out)
                query, params = self.list_query(
                    execution_id, namespace, below_version, wanted, metadata_filter
                )
                cur = await conn.execute(query, params, binary=True)
                rows = await cur.fetchall()
                for row in rows:
                    cp = _checkpoint(execution_id, namespace, row)
                    # Containment already matched; this only drops what the U+0000
                    # replacement let through, so the loop almost never runs twice.
                    if v.matches(cp.metadata, metadata_filter):
                        out.append(cp)
                    below_version = cp.version
                if len(rows) < wanted:
                    break
        return out

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        async with self._connection() as conn:
            cur = await conn.execute(
                self._sql(
                    "DELETE FROM {checkpoints} WHERE execution_id = %s AND namespace = %s "
                    "AND checkpoint_id = %s RETURNING created_at"
                ),
                [execution_id, namespace, checkpoint_id],
            )
            row = await cur.fetchone()
        # An expired checkpoint goes too (it would be swept anyway) but did not exist.
        cutoff = self.expired_before()
        return row is not None and (cutoff is None or row[0] >= cutoff)

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        cutoff = self.expired_before()
        scope: LiteralString = "" if namespace is None else " AND namespace = %(ns)s"
        live: LiteralString = "" if cutoff is None else " WHERE created_at >= %(cutoff)s"
        async with self._connection() as conn:
            cur = await conn.execute(
                self._sql(
                    "WITH gone AS (DELETE FROM {checkpoints} WHERE execution_id = %(eid)s"
                    "{scope} RETURNING created_at) SELECT count(*) FROM gone{live}",
                    scope=scope,
                    live=live,
                ),
                {"eid": execution_id, "ns": namespace, "cutoff": cutoff},
            )
            row = await cur.fetchone()
        return 0 if row is None else int(row[0])

    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> bool:
        cutoff = self.expired_before()
        ids = {"eid": execution_id, "ns": namespace, "cid": checkpoint_id, "cutoff": cutoff}
        async with self._connection() as conn, conn.transaction():
            # FOR KEY SHARE keeps a concurrent delete or prune from removing the
            # checkpoint between this check and the insert (it waits for our commit).
            cur = await conn.execute(
                self._sql(
                    "SELECT 1 FROM {checkpoints} WHERE execution_id = %(eid)s "
                    "AND namespace = %(ns)s AND checkpoint_id = %(cid)s{live} FOR KEY SHARE",
                    live=_live(cutoff),
                ),
                ids,
            )
            if await cur.fetchone() is None:
                return False
            if writes:
                await conn.execute(
                    self._sql(
                        "INSERT INTO {writes} (execution_id, namespace, checkpoint_id, "
                        "task_id, idx, channel, value, content_type, task_path) "
                        "SELECT %(eid)s, %(ns)s, %(cid)s, w.* FROM unnest(%(task_ids)s::text[], "
                        "%(idxs)s::int4[], %(channels)s::text[], %(values)s::bytea[], "
                        "%(content_types)s::text[], %(task_paths)s::text[]) AS w "
                        "ON CONFLICT (execution_id, namespace, checkpoint_id, task_id, idx) "
                        "DO UPDATE SET channel = excluded.channel, value = excluded.value, "
                        "content_type = excluded.content_type, task_path = excluded.task_path"
                    ),
                    {
                        **ids,
                        "task_ids": [w.task_id for w in writes],
                        "idxs": [w.idx for w in writes],
                        "channels": [w.channel for w in writes],
                        "values": [w.value_bytes for w in writes],
                        "content_types": [w.content_type for w in writes],
                        "task_paths": [w.task_path for w in writes],
                    },
                )
        return True

    def pool_stats(self) -> PoolStats:
        """The connection pool now, from psycopg_pool's ``get_stats()`` (for metrics)."""
        stats = self._pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        return PoolStats(
            size=size,
            in_use=max(0, size - idle),
            idle=idle,
            waiting=stats.get("requests_waiting", 0),
            max_size=stats.get("pool_max", self._pool.max_size),
        )
