"""``PostgresStore``: the store over a psycopg pool (see the package docstring)."""

from __future__ import annotations

import builtins
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, LiteralString, TypeAlias
from urllib.parse import quote

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolClosed, PoolTimeout, TooManyRequests

from checkpoint_client import (
    Channel,
    Checkpoint,
    CheckpointError,
    Conflict,
    ExecutionInfo,
    NotFound,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)

from ... import validation as v
from ...secrets import scrub
from .. import BackendURLError
from .._base import (
    AncestorWalk,
    Backend,
    PoolStats,
    Position,
    channel_conflict,
    check_cas,
    from_us,
    missing_channel,
    saved_or_conflict,
    to_us,
)
from .._batch import Coalescer
from . import queries as q
from .pool import IdleCheck, describe
from .schema import lock_key, migrate, table_names
from .settings import PostgresSettings

__all__ = ["PostgresStore"]

Connection: TypeAlias = AsyncConnection[TupleRow]
Pool: TypeAlias = AsyncConnectionPool[Any]


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
        self._where, self._password = describe(
            pool.conninfo if isinstance(pool.conninfo, str) else ""
        )
        self._queries: dict[tuple[Any, ...], sql.Composed] = {}
        self._coalescer: Coalescer[tuple[Checkpoint, int | None], Checkpoint] | None = None
        self._idle_check: IdleCheck | None = None  # set by ``open`` (settings.check)
        if self.settings.coalesce_saves:
            self._coalescer = Coalescer(
                self._save_many,
                max_batch=self.settings.max_batch,
                # Big states go in smaller batches: one statement stays a few MiB.
                weigh=lambda item: _size(item[0]),
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
        idle_check = IdleCheck(settings.check_after_idle) if settings.check else None
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
        """``template`` with the table names and ``fragments`` filled in (fragments may
        name tables too).

        Fragments are constant SQL text chosen by the caller (never input). Memoized, so
        a query is composed once and keeps one text (which prepared statements key on).
        """
        key = (template, *sorted(fragments.items()))
        query = self._queries.get(key)
        if query is None:
            parts = {name: sql.SQL(text).format(**self._names) for name, text in fragments.items()}
            query = sql.SQL(template).format(**self._names, **parts)
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

    def _ttl(self) -> timedelta | None:
        ttl = self.retention.ttl_seconds
        return None if ttl is None else timedelta(seconds=ttl)

    async def _lock(self, conn: Connection, lineages: Iterable[tuple[str, str]]) -> None:
        """Take the advisory locks saves take for ``lineages``, in ascending key order
        (as batches do), until the transaction ends."""
        schema, prefix = self.settings.schema, self.settings.table_prefix
        keys = sorted({lock_key(schema, prefix, e, n) for e, n in lineages})
        if keys:
            await conn.execute(
                self._sql("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::int8[]) AS k"), [keys]
            )

    async def _forget_empty(self, conn: Connection, execution_ids: Iterable[str]) -> None:
        """Drop the index rows of executions left without checkpoints (in a transaction
        holding the locks of what it removed).

        The rows are locked first, in id order as saves lock them, and checked by a
        second statement: its fresh snapshot sees every save that updated a row before
        the lock was granted, and a save that comes after it finds the row gone and
        inserts it again. (Checked in one statement, a save committed while it waited
        would stay unseen, and its execution would drop out of the index.)
        """
        ids = sorted(set(execution_ids))
        if not ids:
            return
        await conn.execute(
            self._sql(
                "SELECT FROM {executions} WHERE execution_id = ANY (%s) "
                "ORDER BY execution_id FOR UPDATE"
            ),
            [ids],
        )
        await conn.execute(
            self._sql(
                "DELETE FROM {executions} AS e WHERE e.execution_id = ANY (%s) AND NOT EXISTS "
                "(SELECT FROM {checkpoints} AS c WHERE c.execution_id = e.execution_id)"
            ),
            [ids],
        )

    async def _removed(
        self, conn: Connection, removed: builtins.list[tuple[str, str, str, datetime, bool]]
    ) -> None:
        """What goes with removed checkpoints ``(execution, namespace, id, created_at,
        carried channels)``: their writes, then the channel values of their lineages that
        no remaining checkpoint carries."""
        if not removed:
            return
        await conn.execute(
            self._sql(
                "DELETE FROM {writes} AS w USING unnest(%s::text[], %s::text[], %s::text[]) "
                "AS g (eid, ns, cid) WHERE w.execution_id = g.eid AND w.namespace = g.ns "
                "AND w.checkpoint_id = g.cid"
            ),
            [[r[0] for r in removed], [r[1] for r in removed], [r[2] for r in removed]],
        )
        carried = sorted({(r[0], r[1]) for r in removed if r[4]})
        if carried:
            await conn.execute(
                self._sql(
                    "SELECT {collect}(g.eid, g.ns) FROM unnest(%s::text[], %s::text[]) "
                    "AS g (eid, ns)"
                ),
                [[e for e, _ in carried], [n for _, n in carried]],
            )

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
        """Store the batch with one call of ``{save_batch}``: one round trip, one commit.

        The function decides every item as a single save would, in order, and answers
        what the decision rests on; the checks themselves are made here, with the rules
        every backend shares: an id already stored comes back (``r_outcome`` ``d``: a row
        from before the batch; ``b``: an earlier item of the batch) for
        ``saved_or_conflict``; a channel without a stored value (``m``) or with another
        value than the stored one (``x``) names the channel; a compare-and-set it did not
        store (``c``) comes with the latest version it saw, for ``check_cas``; a stored
        item (``s``) got that version plus one.
        """
        schema, prefix = self.settings.schema, self.settings.table_prefix
        lineages: dict[tuple[str, str], int] = {}  # numbered from 1 as they first appear
        last_of_id: dict[tuple[str, str, str], int] = {}
        numbers: builtins.list[int] = []
        previous: builtins.list[int | None] = []  # the earlier item with the same id
        ch_items: builtins.list[int] = []
        ch_names: builtins.list[str] = []
        ch_versions: builtins.list[str] = []
        ch_types: builtins.list[str] = []
        ch_values: builtins.list[bytes | None] = []
        for i, (cp, _) in enumerate(items, start=1):
            lineage = (cp.execution_id, cp.namespace)
            numbers.append(lineages.setdefault(lineage, len(lineages) + 1))
            previous.append(last_of_id.get((*lineage, cp.checkpoint_id)))
            last_of_id[(*lineage, cp.checkpoint_id)] = i
            for name, channel in cp.channels.items():
                ch_items.append(i)
                ch_names.append(name)
                ch_versions.append(channel.version)
                ch_types.append(channel.content_type if channel.has_value else "")
                ch_values.append(channel.value_bytes)
        created = [self.now() for _ in items]
        params = {
            # The keys a single save of each lineage takes (so that saves of older
            # replicas serialize with batches too), distinct and ascending: the function
            # takes them in this order, which keeps concurrent batches from deadlocking.
            "locks": sorted({lock_key(schema, prefix, e, n) for e, n in lineages}),
            "cutoff": self.expired_before(),
            "ttl": self._ttl(),
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
            "ch_items": ch_items,
            "ch_names": ch_names,
            "ch_versions": ch_versions,
            "ch_types": ch_types,
            "ch_values": ch_values,
        }
        # Binary parameters: no escaping of every state into text.
        query = self._sql(
            "SELECT * FROM {save_batch}(%(locks)b::int8[], %(cutoff)b::timestamptz, "
            "%(ttl)s::interval, %(keep)b::int8, %(leids)b::text[], %(lnss)b::text[], "
            "%(lineage)b::int4[], %(prev)b::int4[], %(cids)b::text[], %(expected)b::int8[], "
            "%(parent_ids)b::text[], %(nodes)b::text[], %(next_nodes)b::text[], "
            "%(next_counts)b::int4[], %(content_types)b::text[], %(states)b::bytea[], "
            "%(metadata_texts)b::text[], %(metadatas)b::jsonb[], "
            "%(created_ats)b::timestamptz[], %(ch_items)b::int4[], %(ch_names)b::text[], "
            "%(ch_versions)b::text[], %(ch_types)b::text[], %(ch_values)b::bytea[]) "
            "ORDER BY r_item"
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
                    out.append(saved_or_conflict(checkpoint, _stored(checkpoint, row)))
                elif outcome == "m":
                    out.append(missing_channel(checkpoint, row[13]))
                elif outcome == "x":
                    out.append(channel_conflict(checkpoint, row[13]))
                else:
                    check_cas(checkpoint, expected, latest)
                    raise RuntimeError(
                        f"save_batch lost a compare-and-set it should not have ({outcome!r})"
                    )
            except Conflict as exc:
                out.append(exc)
        return out

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        cutoff = self.expired_before()
        query = self._sql(
            "SELECT {full} FROM {checkpoints} AS c{joins} "
            "WHERE c.execution_id = %(eid)s AND c.namespace = %(ns)s "
            "AND c.checkpoint_id = %(cid)s{live}",
            full=q.FULL,
            joins=q.CHANNELS + q.WRITES,
            live=q.live(cutoff),
        )
        params = {"eid": execution_id, "ns": namespace, "cid": checkpoint_id, "cutoff": cutoff}
        async with self._connection() as conn:
            row = await (await conn.execute(query, params, binary=True)).fetchone()
        return None if row is None else q.checkpoint_from(row, writes=True)

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        cutoff = self.expired_before()
        query = self._sql(
            "SELECT {full} FROM (SELECT * FROM {checkpoints} AS c "
            "WHERE c.execution_id = %(eid)s AND c.namespace = %(ns)s{live} "
            "ORDER BY c.version DESC LIMIT 1) AS c{joins}",
            full=q.FULL,
            joins=q.CHANNELS + q.WRITES,
            live=q.live(cutoff),
        )
        params = {"eid": execution_id, "ns": namespace, "cutoff": cutoff}
        async with self._connection() as conn:
            row = await (await conn.execute(query, params, binary=True)).fetchone()
        return None if row is None else q.checkpoint_from(row, writes=True)

    async def _locate(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> tuple[int, int] | None:
        cutoff = self.expired_before()
        query = self._sql(
            "SELECT c.version, c.created_at FROM {checkpoints} AS c "
            "WHERE c.execution_id = %(eid)s AND c.namespace = %(ns)s "
            "AND c.checkpoint_id = %(cid)s{live}",
            live=q.live(cutoff),
        )
        params = {"eid": execution_id, "ns": namespace, "cid": checkpoint_id, "cutoff": cutoff}
        async with self._connection() as conn:
            row = await (await conn.execute(query, params)).fetchone()
        return None if row is None else (int(row[0]), to_us(row[1]))

    def page_query(
        self,
        kind: str,
        params: dict[str, Any],
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
    ) -> tuple[sql.Composed, dict[str, Any]]:
        """The statement a page of ``kind`` (``lineage``, ``execution``, ``search``)
        runs, for ``params`` of ``queries.page_query`` (exposed so tests can EXPLAIN it)."""
        cutoff = self.expired_before()
        after = params.get("below" if kind == "lineage" else "at") is not None
        fragments = q.page_fragments(
            kind,
            after=after,
            filtered=bool(metadata_filter),
            cutoff=cutoff is not None,
            prefix=bool(params.get("like")),
            with_writes=with_writes,
        )
        full = {
            "filter": Jsonb({k: _jsonb_safe(x) for k, x in metadata_filter.items()}),
            "cutoff": cutoff,
            "first": True,
            **params,
        }
        return self._sql(q.PAGE, **fragments), full

    async def _page(
        self,
        kind: str,
        scope: dict[str, Any],
        after: dict[str, Any],
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        """A page of a listing: up to ``limit`` matching checkpoints below ``after`` (the
        keyset parameters), no heavier than ``max_bytes`` (``weight``), and whether it
        was cut short by the budget. Reads no state, channel value or write of a
        checkpoint it does not return.

        One statement, unless metadata matches must be dropped: JSONB cannot hold
        U+0000, so SQL matches a replacement and ``validation.matches`` checks again;
        then the page goes on below what was read, with the budget that is left.
        """
        out: builtins.list[Checkpoint] = []
        used = 0
        async with self._connection() as conn:
            while True:
                wanted = limit - len(out)
                query, params = self.page_query(
                    kind,
                    {**scope, **after, "limit": wanted, "budget": max_bytes - used},
                    metadata_filter,
                    with_writes=with_writes,
                )
                params["first"] = not out
                rows = await (await conn.execute(query, params, binary=True)).fetchall()
                cut = False
                read = 0
                for row in rows:
                    if not row[1]:
                        cut = True
                        break
                    read += 1
                    cp = q.checkpoint_from(row[3:], writes=with_writes)
                    if kind == "lineage":
                        after = {"below": cp.version}
                    else:
                        after = {
                            "at": cp.created_at,
                            "aeid": cp.execution_id,
                            "ans": cp.namespace,
                            "aver": cp.version,
                        }
                    # Containment already matched; this only drops what the U+0000
                    # replacement let through, so the loop almost never runs twice.
                    if v.matches(cp.metadata, metadata_filter):
                        out.append(cp)
                        used += int(row[2])
                if cut and out:
                    return out, True
                if not cut and (read < wanted or len(out) >= limit):
                    return out, False

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
        return await self._page(
            "lineage",
            {"eid": execution_id, "ns": namespace},
            {"below": below_version},
            limit,
            metadata_filter,
            with_writes=with_writes,
            max_bytes=max_bytes,
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
        return await self._page(
            "execution",
            {"eid": execution_id},
            _after(after),
            limit,
            metadata_filter,
            with_writes=with_writes,
            max_bytes=max_bytes,
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
        return await self._page(
            "search",
            {"like": q.like_prefix(prefix) if prefix else None},
            _after(after),
            limit,
            metadata_filter,
            with_writes=with_writes,
            max_bytes=max_bytes,
        )

    async def _namespaces(
        self, execution_id: str, after: str | None, limit: int
    ) -> builtins.list[str]:
        # A loose index scan: one primary-key probe per namespace, however many
        # checkpoints each holds.
        cutoff = self.expired_before()
        alive = q.live(cutoff)
        first: LiteralString = " AND c.namespace > %(after)s" if after is not None else ""
        query = self._sql(
            "WITH RECURSIVE ns (namespace) AS ("
            "(SELECT c.namespace FROM {checkpoints} AS c WHERE c.execution_id = %(eid)s"
            "{first}{live} ORDER BY c.namespace LIMIT 1) UNION ALL "
            "SELECT (SELECT c.namespace FROM {checkpoints} AS c "
            "WHERE c.execution_id = %(eid)s AND c.namespace > ns.namespace{live} "
            "ORDER BY c.namespace LIMIT 1) FROM ns WHERE ns.namespace IS NOT NULL) "
            "SELECT ns.namespace FROM ns WHERE ns.namespace IS NOT NULL LIMIT %(limit)s",
            first=first,
            live=alive,
        )
        params = {"eid": execution_id, "after": after, "cutoff": cutoff, "limit": limit}
        async with self._connection() as conn:
            rows = await (await conn.execute(query, params)).fetchall()
        return [row[0] for row in rows]

    def executions_query(
        self, prefix: str, after: tuple[int, str] | None, limit: int
    ) -> tuple[sql.Composed, dict[str, Any]]:
        """The statement ``_executions`` runs (exposed so tests can EXPLAIN it): a walk
        of the executions index from ``after`` down, each row checked for a live
        checkpoint with one probe of ``(execution_id, created_at)``."""
        cutoff = self.expired_before()
        where: LiteralString = "true"
        if prefix:
            where += " AND e.execution_id LIKE %(like)s"
        if after is not None:
            where += " AND (e.updated_at, e.execution_id) < (%(at)s, %(aeid)s)"
        if cutoff is not None:
            # Checkpoints are never newer than their execution's row: the scan ends here.
            where += " AND e.updated_at >= %(cutoff)s"
        query = self._sql(
            "SELECT e.execution_id, e.updated_at FROM {executions} AS e WHERE {where} "
            "AND EXISTS (SELECT FROM {checkpoints} AS c "
            "WHERE c.execution_id = e.execution_id{live}) "
            "ORDER BY e.updated_at DESC, e.execution_id DESC LIMIT %(limit)s",
            where=where,
            live=q.live(cutoff),
        )
        params = {
            "like": q.like_prefix(prefix),
            "at": None if after is None else from_us(after[0]),
            "aeid": None if after is None else after[1],
            "cutoff": cutoff,
            "limit": limit,
        }
        return query, params

    async def _executions(
        self, prefix: str, after: tuple[int, str] | None, limit: int
    ) -> builtins.list[ExecutionInfo]:
        query, params = self.executions_query(prefix, after, limit)
        async with self._connection() as conn:
            rows = await (await conn.execute(query, params)).fetchall()
        return [ExecutionInfo(eid, from_us(to_us(at))) for eid, at in rows]

    async def _delete_where(
        self, prefix: str, execution_id: str | None, metadata_filter: Mapping[str, v.Scalar]
    ) -> int:
        """One transaction: find the matches (GIN index), lock their lineages as saves
        do, remove what still matches with its writes, collect channel values."""
        cutoff = self.expired_before()
        scope: LiteralString = ""
        if execution_id is not None:
            scope = " AND c.execution_id = %(eid)s"
        elif prefix:
            scope = " AND c.execution_id LIKE %(like)s"
        params: dict[str, Any] = {
            "filter": Jsonb({k: _jsonb_safe(x) for k, x in metadata_filter.items()}),
            "eid": execution_id,
            "like": q.like_prefix(prefix),
            "cutoff": cutoff,
        }
        async with self._connection() as conn, conn.transaction():
            cur = await conn.execute(
                self._sql(
                    "SELECT c.execution_id, c.namespace, c.checkpoint_id, c.metadata_text "
                    "FROM {checkpoints} AS c WHERE c.metadata @> %(filter)s{scope}{live}",
                    scope=scope,
                    live=q.live(cutoff),
                ),
                params,
            )
            found = [
                (eid, ns, cid)
                for eid, ns, cid, meta in await cur.fetchall()
                if v.matches(json.loads(meta), metadata_filter)
            ]
            if not found:
                return 0
            await self._lock(conn, [(eid, ns) for eid, ns, _ in found])
            cur = await conn.execute(
                self._sql(
                    "DELETE FROM {checkpoints} AS c "
                    "USING unnest(%(eids)s::text[], %(nss)s::text[], %(cids)s::text[]) "
                    "AS g (eid, ns, cid) WHERE c.execution_id = g.eid AND c.namespace = g.ns "
                    "AND c.checkpoint_id = g.cid AND c.metadata @> %(filter)s{live} "
                    "RETURNING c.execution_id, c.namespace, c.checkpoint_id, c.created_at, "
                    "cardinality(c.channel_names) > 0",
                    live=q.live(cutoff),
                ),
                {
                    **params,
                    "eids": [f[0] for f in found],
                    "nss": [f[1] for f in found],
                    "cids": [f[2] for f in found],
                },
            )
            removed = await cur.fetchall()
            await self._removed(conn, removed)
            await self._forget_empty(conn, [r[0] for r in removed])
        return len(removed)

    async def _copy_execution(self, source: str, target: str) -> int:
        """One transaction under the locks of both executions' lineages: nothing of a
        copy shows before all of it does."""
        cutoff = self.expired_before()
        alive = q.live(cutoff)
        ids = {
            "src": source,
            "dst": target,
            "cutoff": cutoff,
            "ttl": self._ttl(),
            "now": self.now(),
        }
        async with self._connection() as conn, conn.transaction():
            cur = await conn.execute(
                self._sql(
                    "SELECT DISTINCT c.execution_id, c.namespace FROM {checkpoints} AS c "
                    "WHERE c.execution_id IN (%(src)s, %(dst)s) UNION "
                    "SELECT DISTINCT b.execution_id, b.namespace FROM {blobs} AS b "
                    "WHERE b.execution_id = %(dst)s"
                ),
                ids,
            )
            lineages = [(e, n) for e, n in await cur.fetchall()]
            await self._lock(conn, lineages + [(target, n) for e, n in lineages if e == source])
            cur = await conn.execute(
                self._sql(
                    "SELECT count(*) FILTER (WHERE c.execution_id = %(src)s), "
                    "count(*) FILTER (WHERE c.execution_id = %(dst)s) "
                    "FROM {checkpoints} AS c "
                    "WHERE c.execution_id IN (%(src)s, %(dst)s){live}",
                    live=alive,
                ),
                ids,
            )
            row = await cur.fetchone()
            assert row is not None
            if not row[0]:
                raise NotFound(f"execution {source!r} has no checkpoints to copy")
            if row[1]:
                raise Conflict(f"execution {target!r} already has checkpoints; copy to a new id")
            # What the target still holds is expired or orphaned: the copy replaces it.
            await conn.execute(
                self._sql(
                    "WITH a AS (DELETE FROM {checkpoints} WHERE execution_id = %(dst)s), "
                    "b AS (DELETE FROM {blobs} WHERE execution_id = %(dst)s) "
                    "DELETE FROM {writes} WHERE execution_id = %(dst)s"
                ),
                ids,
            )
            cur = await conn.execute(
                self._sql(
                    "INSERT INTO {checkpoints} (execution_id, namespace, checkpoint_id, "
                    "version, parent_id, node, next_nodes, content_type, state, metadata, "
                    "metadata_text, created_at, channel_names, channel_versions) "
                    "SELECT %(dst)s, c.namespace, c.checkpoint_id, c.version, c.parent_id, "
                    "c.node, c.next_nodes, c.content_type, c.state, c.metadata, "
                    "c.metadata_text, c.created_at, c.channel_names, c.channel_versions "
                    "FROM {checkpoints} AS c WHERE c.execution_id = %(src)s{live}",
                    live=alive,
                ),
                ids,
            )
            copied = cur.rowcount
            await conn.execute(
                self._sql(
                    "INSERT INTO {blobs} (execution_id, namespace, channel, version, "
                    "content_type, value) SELECT %(dst)s, b.namespace, b.channel, b.version, "
                    "b.content_type, b.value FROM {blobs} AS b "
                    "WHERE b.execution_id = %(src)s AND (b.namespace, b.channel, b.version) IN "
                    "(SELECT c.namespace, u.name, u.ver FROM {checkpoints} AS c, "
                    "unnest(c.channel_names, c.channel_versions) AS u (name, ver) "
                    "WHERE c.execution_id = %(src)s{live})",
                    live=alive,
                ),
                ids,
            )
            # Writes of live checkpoints, and orphans the TTL has not taken (an expired
            # checkpoint's writes stored after it expired are orphans: they wait for a
            # checkpoint of that id still to come).
            writes_alive: LiteralString = ""
            if cutoff is not None:
                writes_alive = (
                    " AND NOT EXISTS (SELECT FROM {checkpoints} AS c "
                    "WHERE c.execution_id = %(src)s AND c.namespace = w.namespace "
                    "AND c.checkpoint_id = w.checkpoint_id AND c.created_at < %(cutoff)s "
                    "AND w.created_at < c.created_at + %(ttl)s) "
                    "AND (w.created_at >= %(cutoff)s OR EXISTS (SELECT FROM {checkpoints} AS c "
                    "WHERE c.execution_id = %(src)s AND c.namespace = w.namespace "
                    "AND c.checkpoint_id = w.checkpoint_id AND c.created_at >= %(cutoff)s))"
                )
            await conn.execute(
                self._sql(
                    "INSERT INTO {writes} (execution_id, namespace, checkpoint_id, task_id, "
                    "idx, channel, value, content_type, task_path, created_at) "
                    "SELECT %(dst)s, w.namespace, w.checkpoint_id, w.task_id, w.idx, "
                    "w.channel, w.value, w.content_type, w.task_path, w.created_at "
                    "FROM {writes} AS w WHERE w.execution_id = %(src)s{live}",
                    live=writes_alive,
                ),
                ids,
            )
            await conn.execute(
                self._sql(
                    "INSERT INTO {executions} (execution_id, updated_at) "
                    "VALUES (%(dst)s, %(now)s) ON CONFLICT (execution_id) "
                    "DO UPDATE SET updated_at = excluded.updated_at"
                ),
                ids,
            )
        return copied

    async def _prune(self, execution_id: str) -> int:
        """One transaction: keep the newest live checkpoint of each namespace; the rest
        go with their writes, the orphans stored before the newest of them, and the
        channel values only they carried."""
        cutoff = self.expired_before()
        params = {"eid": execution_id, "cutoff": cutoff}
        async with self._connection() as conn, conn.transaction():
            cur = await conn.execute(
                self._sql(
                    "SELECT DISTINCT c.namespace FROM {checkpoints} AS c "
                    "WHERE c.execution_id = %(eid)s"
                ),
                params,
            )
            namespaces = [row[0] for row in await cur.fetchall()]
            if not namespaces:
                return 0
            await self._lock(conn, [(execution_id, n) for n in namespaces])
            # Every live row but the newest of its namespace. Expired rows are left to
            # the sweep of the next save, which knows which of their writes to take.
            cur = await conn.execute(
                self._sql(
                    "DELETE FROM {checkpoints} AS c WHERE c.execution_id = %(eid)s{live} "
                    "AND c.version < (SELECT d.version FROM {checkpoints} AS d "
                    "WHERE d.execution_id = %(eid)s AND d.namespace = c.namespace "
                    "ORDER BY d.version DESC LIMIT 1) "
                    "RETURNING c.execution_id, c.namespace, c.checkpoint_id, c.created_at, "
                    "cardinality(c.channel_names) > 0",
                    live=q.live(cutoff),
                ),
                params,
            )
            removed = await cur.fetchall()
            await self._removed(conn, removed)
            newest: dict[str, datetime] = {}
            for _, ns, _, at, _ in removed:
                newest[ns] = max(at, newest.get(ns, at))
            if cutoff is not None:
                for ns in namespaces:
                    newest[ns] = max(cutoff, newest.get(ns, cutoff))
            if newest:
                await conn.execute(
                    self._sql(
                        "DELETE FROM {writes} AS w "
                        "USING unnest(%(nss)s::text[], %(ats)s::timestamptz[]) AS g (ns, at) "
                        "WHERE w.execution_id = %(eid)s AND w.namespace = g.ns "
                        "AND w.created_at < g.at AND NOT EXISTS (SELECT FROM {checkpoints} AS c "
                        "WHERE c.execution_id = %(eid)s AND c.namespace = w.namespace "
                        "AND c.checkpoint_id = w.checkpoint_id)"
                    ),
                    {**params, "nss": list(newest), "ats": list(newest.values())},
                )
            await self._forget_empty(conn, [execution_id])
        return len(removed)

    async def _ancestors(
        self, execution_id: str, namespace: str, start: str, include_start: bool, walk: AncestorWalk
    ) -> str | None:
        """Two statements: the chain (a recursive query over ``parent_id``) with the
        sizes of what each checkpoint would carry, then exactly the states, channel
        values and writes of the checkpoints the page takes."""
        cutoff = self.expired_before()
        skip = 0 if include_start else 1
        wanted = walk.wanted()
        params: dict[str, Any] = {
            "eid": execution_id,
            "ns": namespace,
            "start": start,
            "cutoff": cutoff,
            "depth": walk.limit - 1 + skip,
            "wanted": sorted(wanted) if wanted is not None else None,
        }
        query = self._sql(
            q.ANCESTORS,
            **q.ancestors_fragments(cutoff=cutoff is not None, channels=wanted is not None),
        )
        async with self._connection() as conn:
            chain = await (await conn.execute(query, params, binary=True)).fetchall()
            if not chain:
                return None
            plan = q.plan_walk(chain[skip:], walk)
            taken = [chain[skip + i] for i in range(len(plan.taken))]
            values: builtins.list[Any] = []
            if plan.states or plan.channels or plan.writes:
                values = await (
                    await conn.execute(
                        self._sql(q.ANCESTOR_VALUES),
                        {
                            "eid": execution_id,
                            "ns": namespace,
                            "states": plan.states,
                            "names": [n for n, _ in plan.channels],
                            "versions": [ver for _, ver in plan.channels],
                            "wcids": [k[0] for k in plan.writes],
                            "wtasks": [k[1] for k in plan.writes],
                            "widxs": [k[2] for k in plan.writes],
                        },
                        binary=True,
                    )
                ).fetchall()
        states = {row[1]: bytes(row[7]) for row in values if row[0] == 0}
        blobs = {(row[2], row[3]): (row[5], bytes(row[7])) for row in values if row[0] == 1}
        writes = {
            (row[1], row[2], row[4]): PendingWrite(
                row[2], row[4], row[3], bytes(row[7]), content_type=row[5], task_path=row[6]
            )
            for row in values
            if row[0] == 2
        }
        for entry, (names, keys) in zip(taken, plan.taken, strict=True):
            cid: str = entry[1]
            if walk.include_state and cid not in states:
                return cid  # removed meanwhile: the next page starts (and ends) there
            channels: dict[str, Channel] = {}
            for name, version in zip(entry[10], entry[11], strict=True):
                if name in names:
                    found = blobs.get((name, version))
                    channels[name] = (
                        Channel(version)
                        if found is None
                        else Channel(version, found[1], content_type=found[0])
                    )
            cp = Checkpoint(
                execution_id,
                states.get(cid, b""),
                namespace=namespace,
                checkpoint_id=cid,
                parent_id=entry[3],
                node=entry[4],
                next_nodes=tuple(entry[5]),
                content_type=entry[6],
                metadata=json.loads(entry[8]),
                created_at=from_us(to_us(entry[9])),
                version=entry[2],
                channels=channels,
                pending_writes=[writes[(cid, t, i)] for t, i in keys if (cid, t, i) in writes],
            )
            if not walk.take(cp):
                return cid
            following = walk.next_after(cp)
            if following is not None:
                return following
        if plan.refused is not None:
            return plan.refused  # the next page starts there
        return ""  # the chain was cut (a parent deleted, pruned or expired)

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        cutoff = self.expired_before()
        params = {"eid": execution_id, "ns": namespace, "cid": checkpoint_id}
        async with self._connection() as conn, conn.transaction():
            await self._lock(conn, [(execution_id, namespace)])
            cur = await conn.execute(
                self._sql(
                    "WITH gone AS (DELETE FROM {checkpoints} WHERE execution_id = %(eid)s "
                    "AND namespace = %(ns)s AND checkpoint_id = %(cid)s "
                    "RETURNING created_at, cardinality(channel_names) > 0 AS carried), "
                    "writes AS (DELETE FROM {writes} WHERE execution_id = %(eid)s "
                    "AND namespace = %(ns)s AND checkpoint_id = %(cid)s) "
                    "SELECT created_at, carried FROM gone"
                ),
                params,
            )
            row = await cur.fetchone()
            if row is not None:
                if row[1]:
                    await conn.execute(self._sql("SELECT {collect}(%(eid)s, %(ns)s)"), params)
                await self._forget_empty(conn, [execution_id])
        # An expired checkpoint goes too (it would be swept anyway) but did not exist.
        return row is not None and (cutoff is None or row[0] >= cutoff)

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        cutoff = self.expired_before()
        scope: LiteralString = "" if namespace is None else " AND namespace = %(ns)s"
        params = {"eid": execution_id, "ns": namespace, "cutoff": cutoff}
        async with self._connection() as conn, conn.transaction():
            if namespace is None:
                cur = await conn.execute(
                    self._sql(
                        "SELECT DISTINCT namespace FROM {checkpoints} "
                        "WHERE execution_id = %(eid)s UNION "
                        "SELECT DISTINCT namespace FROM {blobs} WHERE execution_id = %(eid)s"
                    ),
                    params,
                )
                namespaces = [row[0] for row in await cur.fetchall()]
            else:
                namespaces = [namespace]
            await self._lock(conn, [(execution_id, n) for n in namespaces])
            cur = await conn.execute(
                self._sql(
                    "WITH gone AS (DELETE FROM {checkpoints} WHERE execution_id = %(eid)s"
                    "{scope} RETURNING created_at), "
                    "writes AS (DELETE FROM {writes} WHERE execution_id = %(eid)s{scope}), "
                    "blobs AS (DELETE FROM {blobs} WHERE execution_id = %(eid)s{scope}) "
                    "SELECT count(*){live}, count(*) FROM gone",
                    scope=scope,
                    live="" if cutoff is None else " FILTER (WHERE created_at >= %(cutoff)s)",
                ),
                params,
            )
            row = await cur.fetchone()
            assert row is not None
            if row[1]:
                await self._forget_empty(conn, [execution_id])
        return int(row[0])

    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> None:
        # One statement, whether or not the checkpoint is saved. A key with idx >= 0 is
        # kept as first written (the conflict updates nothing); one with idx < 0 is
        # replaced. In key order, as the primary key index (and deletes) walk them.
        # With a TTL, a write already gone in all but storage is replaced too: an orphan
        # older than the TTL, or one its expired checkpoint took (the sweep has not yet).
        cutoff = self.expired_before()
        dead: LiteralString = ""
        if cutoff is not None:
            dead = (
                " OR NOT EXISTS (SELECT FROM {checkpoints} AS c "
                "WHERE c.execution_id = %(eid)s AND c.namespace = %(ns)s "
                "AND c.checkpoint_id = %(cid)s AND c.created_at >= %(cutoff)s) "
                "AND (t.created_at < %(cutoff)s OR EXISTS (SELECT FROM {checkpoints} AS c "
                "WHERE c.execution_id = %(eid)s AND c.namespace = %(ns)s "
                "AND c.checkpoint_id = %(cid)s AND t.created_at < c.created_at + %(ttl)s))"
            )
        ordered = sorted(writes, key=lambda w: (w.task_id, w.idx))
        query = self._sql(
            "INSERT INTO {writes} AS t (execution_id, namespace, checkpoint_id, task_id, idx, "
            "channel, value, content_type, task_path, created_at) "
            "SELECT %(eid)s, %(ns)s, %(cid)s, w.task_id, w.idx, w.channel, w.value, "
            "w.content_type, w.task_path, %(at)s FROM unnest(%(task_ids)s::text[], "
            "%(idxs)s::int4[], %(channels)s::text[], %(values)s::bytea[], "
            "%(content_types)s::text[], %(task_paths)s::text[]) "
            "AS w (task_id, idx, channel, value, content_type, task_path) "
            "ON CONFLICT (execution_id, namespace, checkpoint_id, task_id, idx) "
            "DO UPDATE SET channel = excluded.channel, value = excluded.value, "
            "content_type = excluded.content_type, task_path = excluded.task_path, "
            "created_at = excluded.created_at WHERE excluded.idx < 0{dead}",
            dead=dead,
        )
        params = {
            "eid": execution_id,
            "ns": namespace,
            "cid": checkpoint_id,
            "at": self.now(),
            "cutoff": cutoff,
            "ttl": self._ttl(),
            "task_ids": [w.task_id for w in ordered],
            "idxs": [w.idx for w in ordered],
            "channels": [w.channel for w in ordered],
            "values": [w.value_bytes for w in ordered],
            "content_types": [w.content_type for w in ordered],
            "task_paths": [w.task_path for w in ordered],
        }
        async with self._connection() as conn:
            if conn.autocommit:
                await conn.execute(query, params)
            else:
                async with conn.transaction():
                    await conn.execute(query, params)

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


def _size(checkpoint: Checkpoint) -> int:
    """The bytes a save sends: its state and channel values."""
    return len(checkpoint.state_bytes) + sum(
        len(ch.value_bytes or b"") for ch in checkpoint.channels.values()
    )


def _stored(checkpoint: Checkpoint, row: Any) -> Checkpoint:
    """The row a save found under its id (``save_batch``'s ``d`` answer)."""
    (cid, version, parent_id, node, next_nodes, ctype, state, meta, at) = row[4:13]
    return Checkpoint(
        checkpoint.execution_id,
        bytes(state),
        namespace=checkpoint.namespace,
        checkpoint_id=cid,
        parent_id=parent_id,
        node=node,
        next_nodes=tuple(next_nodes),
        content_type=ctype,
        metadata=json.loads(meta),
        created_at=from_us(to_us(at)),
        version=version,
        channels={n: Channel(ver) for n, ver in zip(row[14], row[15], strict=True)},
    )


def _after(after: Position | None) -> dict[str, Any]:
    """The keyset parameters of a position (``queries.page_query``)."""
    if after is None:
        return {"at": None}
    return {"at": from_us(after[0]), "aeid": after[1], "ans": after[2], "aver": after[3]}
