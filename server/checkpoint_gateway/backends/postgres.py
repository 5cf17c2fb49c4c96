"""``postgresql://``: checkpoints in PostgreSQL, through a psycopg connection pool.

Concurrency. There is no lock in this process: every call takes its own connection from
the pool, so calls run in parallel up to ``max_size`` and queue for ``timeout`` seconds
beyond that (then ``ResourceExhausted``). A save serializes with the other saves of its
lineage (in any replica) on a transaction-scoped advisory lock keyed by a hash of the
store's tables and the lineage, then reads the latest version and inserts the next one.
So versions are unique and gap-free without retry loops, and a unique violation cannot
happen; different lineages never wait for each other (except on a 64-bit hash collision,
which only costs a wait).

Schema. Two tables per store (``<prefix>checkpoints``, ``<prefix>writes``) in the
configured schema. ``UNIQUE (execution_id, namespace, version)`` is the index ``List``
walks backwards (keyset pagination with ``version < n``, never OFFSET), and ``latest`` and
``max(version)`` read one entry of it. Text keys use ``COLLATE "C"`` so the database sorts
pending writes by code point, exactly as the other backends do.

Metadata. ``metadata_text`` holds the exact JSON the caller's metadata encodes to, so a
checkpoint reads back byte for byte (JSONB would rewrite ``1e+20`` as an integer, and a
retried save must compare equal). ``metadata`` (JSONB, GIN ``jsonb_path_ops``) holds only
the top-level scalar entries, the only ones an equality filter can match, which keeps the
index small. A filter becomes ``metadata @> {...}``: JSONB compares numbers by value
(``1`` matches ``1.0``), never equates ``true`` with ``1`` or ``"1"`` with ``1``, and a
``null`` matches only a present null. JSONB cannot hold U+0000, so it is replaced in that
column; every row SQL returns is checked again with ``validation.matches``, so results
equal the other backends' even for such strings.

Migrations. ``MIGRATIONS`` lists the schema changes (position ``i`` is version ``i + 1``);
``<prefix>migrations`` records each version applied. ``setup()`` applies the missing ones
in one transaction under an advisory lock derived from schema and prefix, so replicas
starting together serialize and the later ones find nothing to do. Inside a caller's
transaction it runs in a savepoint.

Errors. Pool exhaustion (every connection busy) becomes ``ResourceExhausted``; a lost
connection, a server that cannot be reached (including a pool wait that timed out while
the pool failed to connect), a serialization failure or a deadlock becomes
``Unavailable`` (safe to retry). Messages name the server without its password. Any other
database error is a defect and propagates (the gateway reports INTERNAL).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
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
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)

from .. import validation as v
from ._base import Backend, PoolStats, check_cas, saved_or_conflict

__all__ = ["MIGRATIONS", "PostgresSettings", "PostgresStore", "migrate"]

Connection: TypeAlias = AsyncConnection[TupleRow]
Pool: TypeAlias = AsyncConnectionPool[Any]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,40}")


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    """Connection pool and table placement of a PostgreSQL store.

    Attributes:
        min_size: connections kept open while idle; one keeps the first call after a
            quiet spell from paying for a connection, without holding server slots.
        max_size: connections at most; bounds the load one gateway replica puts on the
            server (PostgreSQL allows 100 in all by default, shared by every replica).
        timeout: seconds a call waits for a free connection before ``ResourceExhausted``;
            rides out bursts, yet answers well before typical client deadlines.
        max_waiting: calls allowed to queue for a connection (0: no limit); set it to shed
            load immediately instead of letting a backlog build.
        max_idle: seconds an idle connection above ``min_size`` is kept; releases server
            slots after a burst.
        max_lifetime: seconds before a connection is replaced; bounds server-side memory
            growth and moves connections to a new primary or address after failover.
        reconnect_timeout: seconds the pool keeps trying to reconnect after losing the
            server before giving up on a connection; outlasts a restart or failover.
        check: test each connection (one round trip) when it is taken from the pool, so a
            connection the server or a firewall dropped while idle fails no call.
        prepare_threshold: executions of a query before psycopg prepares it on the
            server (saves parsing and planning); None turns prepared statements off, which
            PgBouncer in transaction mode (before 1.21) requires.
        connect_timeout: seconds to establish one connection, and to open the pool; a
            server that does not answer fails startup instead of hanging it.
        schema: schema holding the tables; created when missing. Lowercase identifier.
        table_prefix: prefix of the table names, so several stores or applications can
            share a schema. Lowercase identifier.
    """

    min_size: int = 1
    max_size: int = 10
    timeout: float = 10.0
    max_waiting: int = 0
    max_idle: float = 300.0
    max_lifetime: float = 1800.0
    reconnect_timeout: float = 300.0
    check: bool = True
    prepare_threshold: int | None = 5
    connect_timeout: float = 10.0
    schema: str = "public"
    table_prefix: str = "checkpoint_"

    def __post_init__(self) -> None:
        check_identifier(self.schema, "schema")
        check_identifier(self.table_prefix, "table_prefix")
        if self.min_size < 0:
            raise ValueError("min_size must not be negative")
        if self.max_size < max(1, self.min_size):
            raise ValueError("max_size must be at least 1 and at least min_size")
        if self.max_waiting < 0:
            raise ValueError("max_waiting must not be negative")
        if self.prepare_threshold is not None and self.prepare_threshold < 0:
            raise ValueError("prepare_threshold must be None (off) or at least 0")
        for name in ("timeout", "max_idle", "max_lifetime", "reconnect_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.connect_timeout < 1:
            raise ValueError("connect_timeout must be at least 1 second")


def check_identifier(value: object, field: str) -> str:
    """Accept a schema or table prefix that needs no quoting: ``[a-z_][a-z0-9_]{0,40}``."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"{field} {value!r} is not allowed: use 1 to 41 lowercase letters, digits and "
            "underscores, not starting with a digit (e.g. 'checkpoints')"
        )
    return value


# -- schema -----------------------------------------------------------------------------------

# Each migration is a description and the statements that make it. Placeholders name
# identifiers (composed with sql.Identifier), never values. Never edit an applied entry;
# append a new one.
MIGRATIONS: list[tuple[str, list[LiteralString]]] = [
    (
        "checkpoints and pending writes",
        [
            """
            CREATE TABLE {checkpoints} (
                execution_id text COLLATE "C" NOT NULL,
                namespace text COLLATE "C" NOT NULL,
                checkpoint_id text COLLATE "C" NOT NULL,
                version bigint NOT NULL,
                parent_id text NOT NULL,
                node text NOT NULL,
                next_nodes text[] NOT NULL,
                content_type text NOT NULL,
                state bytea NOT NULL,
                metadata jsonb NOT NULL,
                metadata_text text NOT NULL,
                created_at timestamptz NOT NULL,
                CONSTRAINT {cp_pkey} PRIMARY KEY (execution_id, namespace, checkpoint_id),
                CONSTRAINT {cp_version} UNIQUE (execution_id, namespace, version)
            )
            """,
            "CREATE INDEX {cp_metadata} ON {checkpoints} USING gin (metadata jsonb_path_ops)",
            """
            CREATE TABLE {writes} (
                execution_id text COLLATE "C" NOT NULL,
                namespace text COLLATE "C" NOT NULL,
                checkpoint_id text COLLATE "C" NOT NULL,
                task_id text COLLATE "C" NOT NULL,
                idx integer NOT NULL,
                channel text NOT NULL,
                value bytea NOT NULL,
                content_type text NOT NULL,
                task_path text NOT NULL,
                CONSTRAINT {w_pkey}
                    PRIMARY KEY (execution_id, namespace, checkpoint_id, task_id, idx),
                CONSTRAINT {w_checkpoint}
                    FOREIGN KEY (execution_id, namespace, checkpoint_id)
                    REFERENCES {checkpoints} ON DELETE CASCADE
            )
            """,
        ],
    ),
]


def _names(schema: str, prefix: str) -> dict[str, sql.Composable]:
    # Constraint and index names stay within PostgreSQL's 63 bytes for a 41-char prefix.
    return {
        "schema": sql.Identifier(schema),
        "checkpoints": sql.Identifier(schema, prefix + "checkpoints"),
        "writes": sql.Identifier(schema, prefix + "writes"),
        "migrations": sql.Identifier(schema, prefix + "migrations"),
        "cp_pkey": sql.Identifier(prefix + "checkpoints_pkey"),
        "cp_version": sql.Identifier(prefix + "checkpoints_version"),
        "cp_metadata": sql.Identifier(prefix + "checkpoints_metadata"),
        "w_pkey": sql.Identifier(prefix + "writes_pkey"),
        "w_checkpoint": sql.Identifier(prefix + "writes_checkpoint_fkey"),
    }


def _lock_key(*parts: str) -> int:
    """A signed 64-bit advisory lock key for ``parts`` (which hold no NUL characters)."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def migrate(conn: AsyncConnection[Any], schema: str, table_prefix: str) -> list[int]:
    """Apply the pending ``MIGRATIONS`` on ``conn``; return the versions applied.

    Runs in a transaction of its own, or in a savepoint when ``conn`` is already in one
    (the advisory lock is then held until the caller's transaction ends).
    """
    check_identifier(schema, "schema")
    check_identifier(table_prefix, "table_prefix")
    names = _names(schema, table_prefix)
    applied: list[int] = []
    async with conn.transaction():
        # Taken before anything is read, so a second replica waits here and then finds
        # every migration recorded; this also serializes CREATE SCHEMA, which is not safe
        # to run concurrently even with IF NOT EXISTS.
        lock = _lock_key("checkpoint-gateway migrations", schema, table_prefix)
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
        found = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if await found.fetchone() is None:
            # Only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on
            # the database even when the schema exists.
            await conn.execute(sql.SQL("CREATE SCHEMA {schema}").format(**names))
        await conn.execute(
            sql.SQL(
                """
                CREATE TABLE IF NOT EXISTS {migrations} (
                    version integer PRIMARY KEY,
                    description text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            ).format(**names)
        )
        cur = await conn.execute(sql.SQL("SELECT version FROM {migrations}").format(**names))
        done = {row[0] for row in await cur.fetchall()}
        for version, (description, statements) in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            for statement in statements:
                await conn.execute(sql.SQL(statement).format(**names))
            await conn.execute(
                sql.SQL("INSERT INTO {migrations} (version, description) VALUES (%s, %s)").format(
                    **names
                ),
                [version, description],
            )
            applied.append(version)
    return applied


# -- the store --------------------------------------------------------------------------------

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
        self._names = _names(self.settings.schema, self.settings.table_prefix)
        self._where, self._password = _describe(
            pool.conninfo if isinstance(pool.conninfo, str) else ""
        )
        self._queries: dict[tuple[Any, ...], sql.Composed] = {}

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
            raise ValueError("the PostgreSQL URL is malformed") from None
        connect_kwargs: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": settings.prepare_threshold,
            # libpq counts whole seconds.
            "connect_timeout": max(2, round(settings.connect_timeout)),
        }
        if "application_name" not in params:
            connect_kwargs["application_name"] = "checkpoint-gateway"
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
            check=AsyncConnectionPool.check_connection if settings.check else None,
            name="checkpoint-gateway",
        )
        store = cls(pool, settings=settings, **kwargs)
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
        """Close the pool (waiting for connections in use). Idempotent."""
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
            for secret in (self._password, quote(self._password, safe="")):
                text = text.replace(secret, "***")
        return text

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; driver and pool failures become the client's errors."""
        # Failed connection attempts so far: if the pool fails to connect while we wait,
        # a timeout means the server is down (retryable), not that the pool is full.
        errors_before = self._pool.get_stats().get("connections_errors", 0)
        try:
            async with self._pool.connection() as conn:
                yield conn
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
        async with self._connection() as conn:
            try:
                return await self._save_on(conn, checkpoint, expected_version)
            except psycopg.errors.UniqueViolation as exc:
                # Only a writer that skips the lineage lock (a foreign tool) can cause
                # this; nothing was stored, and retrying the call is safe.
                raise Unavailable(
                    f"checkpoint {checkpoint.checkpoint_id!r} was saved concurrently by "
                    "another writer; safe to retry"
                ) from exc

    async def _save_on(
        self, conn: Connection, checkpoint: Checkpoint, expected_version: int | None
    ) -> Checkpoint:
        eid, ns, cid = checkpoint.execution_id, checkpoint.namespace, checkpoint.checkpoint_id
        lineage = {"eid": eid, "ns": ns}
        async with conn.transaction():
            key = _lock_key(self.settings.schema, self.settings.table_prefix, eid, ns)
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", [key])
            cutoff = self.expired_before()
            if cutoff is not None:
                await conn.execute(
                    self._sql(
                        "DELETE FROM {checkpoints} WHERE execution_id = %(eid)s "
                        "AND namespace = %(ns)s AND created_at < %(cutoff)s"
                    ),
                    {**lineage, "cutoff": cutoff},
                )
            # Under the lock, and each READ COMMITTED statement sees every save that
            # committed before it: the latest version cannot move until we commit.
            cur = await conn.execute(
                self._sql(
                    "SELECT m.latest, {c_cols} FROM "
                    "(SELECT coalesce(max(version), 0) AS latest FROM {checkpoints} "
                    " WHERE execution_id = %(eid)s AND namespace = %(ns)s) AS m "
                    "LEFT JOIN {checkpoints} AS c ON c.execution_id = %(eid)s "
                    "AND c.namespace = %(ns)s AND c.checkpoint_id = %(cid)s",
                    c_cols=_C_COLUMNS,
                ),
                {**lineage, "cid": cid},
                binary=True,
            )
            row = await cur.fetchone()
            assert row is not None  # the aggregate always yields a row
            latest: int = row[0]
            if row[1] is not None:
                return saved_or_conflict(checkpoint, _checkpoint(eid, ns, row[1:]))
            check_cas(checkpoint, expected_version, latest)
            saved = checkpoint.replace(version=latest + 1, created_at=self.now())
            await conn.execute(
                self._sql(
                    "INSERT INTO {checkpoints} (execution_id, namespace, {cols}, metadata) "
                    "VALUES (%(eid)s, %(ns)s, %(cid)s, %(version)s, %(parent_id)s, "
                    "%(node)s, %(next_nodes)s, %(content_type)s, %(state)s, %(metadata_text)s, "
                    "%(created_at)s, %(metadata)s)"
                ),
                {
                    **lineage,
                    "cid": cid,
                    "version": saved.version,
                    "parent_id": saved.parent_id,
                    "node": saved.node,
                    "next_nodes": list(saved.next_nodes),
                    "content_type": saved.content_type,
                    "state": saved.state_bytes,
                    "metadata_text": saved.metadata_json().decode(),
                    "created_at": saved.created_at,
                    "metadata": Jsonb(_filterable(saved.metadata)),
                },
            )
            keep = self.retention.max_checkpoints
            if keep is not None and saved.version > keep:
                await conn.execute(
                    self._sql(
                        "DELETE FROM {checkpoints} WHERE execution_id = %(eid)s "
                        "AND namespace = %(ns)s AND version <= ("
                        " SELECT version FROM {checkpoints} WHERE execution_id = %(eid)s "
                        " AND namespace = %(ns)s ORDER BY version DESC LIMIT 1 OFFSET %(keep)s)"
                    ),
                    {**lineage, "keep": keep},
                )
        return saved

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
