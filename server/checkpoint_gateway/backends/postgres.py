"""``postgresql://``: checkpoints in PostgreSQL, through a psycopg connection pool.

Concurrency. There is no lock in this process: every call takes its own connection from
the pool, so calls run in parallel up to ``max_size`` and queue for ``timeout`` seconds
beyond that (then ``ResourceExhausted``). Saves are stored in batches by the function
``<prefix>save_many``, one statement, so one round trip and one commit per batch. A
``save_many`` call is one batch; with ``coalesce_saves`` (the default) the single saves
that arrive in one event-loop iteration, from any RPC, are one batch (at most
``max_batch``; see ``_batch.Coalescer``), and those that arrive while a batch runs form
the next one, so batches grow with the load; without it each single save is a batch of
one. One coalesced batch runs at a time (at 64 callers, 3,400 saves/s against 2,300
with two at a time and 1,700-1,800 with four: bigger batches, fewer commits);
``save_many`` calls run concurrently, each on a connection of its own.

A batch first takes a transaction-scoped advisory lock per lineage, keyed by a hash of
the store's tables and the lineage (the key a save of an older replica takes alone), all
of them in ascending key order, so that two batches never wait for each other in a
cycle. Under the locks no other save can move a lineage's latest version, so the
function decides every item in order exactly as a save alone would: expired rows of the
lineage deleted, an existing id answered with its row, compare-and-set checked against
the latest version, else version ``latest + 1`` (items of one lineage get consecutive
versions in batch order). It reads with primary-key and version-index probes, decides in
memory, then inserts the stored items in one statement and prunes each lineage once, to
the rows pruning after every save would have left. Versions are unique and gap-free
without retry loops; in the database different lineages never wait for each other
(except on a 64-bit hash collision, which only costs a wait), and batches sharing a
lineage run one after the other. In the gateway, coalesced saves do wait for each other:
one coalesced batch runs at a time, so a batch that stalls (on a lock taken outside the
gateway, a slow disk) holds up the saves queued behind it, whatever their lineage, until
it ends or their deadlines pass. ``coalesce_saves=False`` gives every save a connection
of its own again, at the throughput cost measured above.

What batching does not change: a caller is answered after its batch committed; an
item's own failure (``Conflict``) is its alone; a failure of the whole statement (a lost
connection) reaches every caller of the batch as a retryable error, and nothing of the
batch is stored. Concurrent saves of one lineage that are not in one batch are ordered
by the lock, as before.

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
transaction it runs in a savepoint. A replica of an older version keeps working beside a
newer schema: it applies only the versions it knows, and its saves take the same lineage
locks as batches do.

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
import time
import weakref
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
    CheckpointError,
    Conflict,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)

from .. import validation as v
from ._base import Backend, PoolStats, check_cas, saved_or_conflict
from ._batch import Coalescer

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
        check: test a connection (one round trip) when it is taken from the pool after
            idling ``check_after_idle`` seconds or more, so a connection the server or a
            firewall dropped while idle fails no call.
        check_after_idle: how long a connection must have idled in the pool before
            ``check`` tests it. 2: connections are dropped after idling (firewalls and
            NAT after minutes, a server restart at any time, which a retry covers), and
            one in use a moment ago is alive; not testing it saves a round trip per save
            (p50 of an unloaded save 1.48 -> 1.33 ms here). 0 tests every checkout.
        prepare_threshold: executions of a query before psycopg prepares it on the
            server (saves parsing and planning); None turns prepared statements off, which
            PgBouncer in transaction mode (before 1.21) requires.
        connect_timeout: seconds to establish one connection, and to open the pool; a
            server that does not answer fails startup instead of hanging it.
        schema: schema holding the tables; created when missing. Lowercase identifier.
        table_prefix: prefix of the table names, so several stores or applications can
            share a schema. Lowercase identifier.
        coalesce_saves: run the single saves that arrive in one event-loop iteration (from
            any RPC) as one batch: one statement and one commit for all of them. A save
            costs a round trip and a commit (a WAL flush) whether it stores one checkpoint
            or a hundred, so under load this multiplies throughput, while an unloaded save
            waits only for the current iteration to end. Each caller still gets its own
            answer after the commit, so durability, ordering and errors are unchanged; off,
            every save runs alone (still in one round trip).
        max_batch: the most saves in one coalesced batch. At 100 a batch of 1 KiB states
            is a ~100 KiB statement holding its lineage locks for a few milliseconds,
            while its commit already costs each save 1/100th; the saves beyond it wait
            for the next batch (batches are also cut at 8 MiB of state).
    """

    min_size: int = 1
    max_size: int = 10
    timeout: float = 10.0
    max_waiting: int = 0
    max_idle: float = 300.0
    max_lifetime: float = 1800.0
    reconnect_timeout: float = 300.0
    check: bool = True
    check_after_idle: float = 2.0
    prepare_threshold: int | None = 5
    connect_timeout: float = 10.0
    schema: str = "public"
    table_prefix: str = "checkpoint_"
    coalesce_saves: bool = True
    max_batch: int = 100

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
        if self.check_after_idle < 0:
            raise ValueError("check_after_idle must not be negative")
        if self.connect_timeout < 1:
            raise ValueError("connect_timeout must be at least 1 second")
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")


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
    (
        "save_many: a batch of saves in one statement",
        [
            # One call stores a batch in one round trip and one transaction, deciding
            # every item as a single save would, in order (see _save_many). Lookups are
            # primary-key and version-index probes (plain statements, so cached plans
            # stay index scans); the decisions are made in memory; then the stored items
            # are inserted in one statement and each lineage is pruned once, to what
            # pruning after each save would leave. OUT columns are prefixed (r_) so that
            # they never shadow the table's columns.
            """
            CREATE FUNCTION {save_many}(
                p_locks bigint[],
                p_cutoff timestamptz,
                p_keep bigint,
                p_leids text[],
                p_lnss text[],
                p_lineage integer[],
                p_prev integer[],
                p_cids text[],
                p_expected bigint[],
                p_parent_ids text[],
                p_nodes text[],
                p_next_nodes text[],
                p_next_counts integer[],
                p_content_types text[],
                p_states bytea[],
                p_metadata_texts text[],
                p_metadatas jsonb[],
                p_created_ats timestamptz[]
            ) RETURNS TABLE (
                r_item integer,
                r_outcome text,
                r_latest bigint,
                r_source integer,
                r_checkpoint_id text,
                r_version bigint,
                r_parent_id text,
                r_node text,
                r_next_nodes text[],
                r_content_type text,
                r_state bytea,
                r_metadata_text text,
                r_created_at timestamptz
            )
            LANGUAGE plpgsql
            AS $save_many$
            DECLARE
                -- Per lineage (p_leids order):
                v_latest bigint[];      -- its latest version so far (NULL: not read yet)
                v_count integer[];      -- items of the batch stored in it so far
                -- Per item:
                v_found {checkpoints}[];  -- the row of its id from before the batch
                v_newer bigint[];       -- rows newer than that one (at most p_keep)
                v_outcome text[];       -- s(tored), b(atch row), d(b row), c(as lost)
                v_source integer[];     -- the item holding the row of its id after it
                v_pos integer[];        -- stored: v_count of its lineage right after it
                v_version bigint[];     -- stored: its version
                v_off integer[];        -- where its next nodes start in p_next_nodes
                v_stored integer[] := '{{}}';
                v_known text[] := '{{}}';  -- ids of the batch already stored (any lineage)
                v_row {checkpoints};
                v_key bigint;
                v_next integer := 0;
                v_l integer;
                v_src integer;
                v_kind text;            -- the row of the item's id: n(one), d(b), b(atch)
            BEGIN
                -- Every lock of the batch first, in ascending order (the caller sorts
                -- them), so batches never wait for each other in a cycle; a single save
                -- of an older replica takes one of them.
                FOREACH v_key IN ARRAY p_locks LOOP
                    PERFORM pg_advisory_xact_lock(v_key);
                END LOOP;
                FOR l IN 1 .. cardinality(p_leids) LOOP
                    IF p_cutoff IS NOT NULL THEN
                        DELETE FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                        AND c.created_at < p_cutoff;
                    END IF;
                    -- ORDER BY ... LIMIT 1, not max(): a backward scan of the version
                    -- index reads one entry whatever the planner's statistics say (with
                    -- stale ones it aggregated over the whole lineage).
                    v_latest[l] := coalesce((
                        SELECT c.version FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                        ORDER BY c.version DESC LIMIT 1), 0);
                    v_count[l] := 0;
                    -- Which of the batch's ids already exist: one query per lineage, so
                    -- that items with new ids (nearly all) need no lookup of their own.
                    -- (With stale statistics the planner may walk the lineage to answer
                    -- a lookup by id; once per lineage, not once per item.)
                    v_known := v_known || ARRAY(
                        SELECT c.checkpoint_id FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                        AND c.checkpoint_id = ANY (p_cids));
                END LOOP;
                FOR i IN 1 .. cardinality(p_cids) LOOP
                    v_l := p_lineage[i];
                    v_off[i] := v_next;
                    v_next := v_next + p_next_counts[i];
                    r_item := i;
                    r_latest := v_latest[v_l];
                    r_source := NULL;
                    -- The row of this id: as the previous item with the id left it, or
                    -- as it was before the batch.
                    IF p_prev[i] IS NOT NULL THEN
                        v_src := v_source[p_prev[i]];
                        v_kind := CASE WHEN v_src IS NULL THEN 'n'
                            WHEN v_outcome[v_src] = 's' THEN 'b' ELSE 'd' END;
                    ELSIF NOT (p_cids[i] = ANY (v_known)) THEN
                        v_src := NULL;
                        v_kind := 'n';
                    ELSE
                        SELECT * INTO v_row FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[v_l] AND c.namespace = p_lnss[v_l]
                        AND c.checkpoint_id = p_cids[i];
                        IF FOUND THEN
                            v_src := i;
                            v_kind := 'd';
                            v_found[i] := v_row;
                            IF p_keep IS NOT NULL THEN
                                v_newer[i] := (SELECT count(*) FROM (
                                    SELECT FROM {checkpoints} AS c
                                    WHERE c.execution_id = p_leids[v_l]
                                    AND c.namespace = p_lnss[v_l]
                                    AND c.version > v_row.version LIMIT p_keep) AS newer);
                            END IF;
                        ELSE
                            v_src := NULL;
                            v_kind := 'n';
                        END IF;
                    END IF;
                    -- Still there? A row goes once p_keep newer rows exist: at the save
                    -- that makes it surplus.
                    IF v_kind <> 'n' AND (p_keep IS NULL OR CASE v_kind
                        WHEN 'd' THEN v_count[v_l] = 0
                            OR v_newer[v_src] + v_count[v_l] < p_keep
                        ELSE v_count[v_l] - v_pos[v_src] < p_keep END)
                    THEN
                        v_outcome[i] := v_kind;
                        v_source[i] := v_src;
                        IF v_kind = 'b' THEN
                            r_source := v_src;
                        END IF;
                    ELSIF p_expected[i] IS NULL OR p_expected[i] = v_latest[v_l] THEN
                        v_latest[v_l] := v_latest[v_l] + 1;
                        v_count[v_l] := v_count[v_l] + 1;
                        v_outcome[i] := 's';
                        v_source[i] := i;
                        v_pos[i] := v_count[v_l];
                        v_version[i] := v_latest[v_l];
                        v_stored := v_stored || i;
                    ELSE
                        v_outcome[i] := 'c';
                    END IF;
                    r_outcome := v_outcome[i];
                    IF r_outcome = 'd' THEN
                        v_row := v_found[v_src];
                        r_checkpoint_id := v_row.checkpoint_id;
                        r_version := v_row.version;
                        r_parent_id := v_row.parent_id;
                        r_node := v_row.node;
                        r_next_nodes := v_row.next_nodes;
                        r_content_type := v_row.content_type;
                        r_state := v_row.state;
                        r_metadata_text := v_row.metadata_text;
                        r_created_at := v_row.created_at;
                        RETURN NEXT;
                        r_checkpoint_id := NULL;
                        r_version := NULL;
                        r_parent_id := NULL;
                        r_node := NULL;
                        r_next_nodes := NULL;
                        r_content_type := NULL;
                        r_state := NULL;
                        r_metadata_text := NULL;
                        r_created_at := NULL;
                    ELSE
                        RETURN NEXT;
                    END IF;
                END LOOP;
                -- The answers are out (rows found before the batch included); now
                -- what pruning after each save would leave: the newest p_keep rows of
                -- each lineage the batch saved to, its own items counted. The rows from
                -- before the batch go first (an id saved again after its row was pruned
                -- must not collide with it); items pruned within the batch are never
                -- inserted.
                IF p_keep IS NOT NULL THEN
                    FOR l IN 1 .. cardinality(p_leids) LOOP
                        CONTINUE WHEN v_count[l] = 0;
                        DELETE FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                        AND c.version <= (
                            SELECT d.version FROM {checkpoints} AS d
                            WHERE d.execution_id = p_leids[l] AND d.namespace = p_lnss[l]
                            ORDER BY d.version DESC
                            LIMIT 1 OFFSET greatest(p_keep - v_count[l], 0));
                    END LOOP;
                END IF;
                INSERT INTO {checkpoints} (execution_id, namespace, checkpoint_id, version,
                    parent_id, node, next_nodes, content_type, state, metadata,
                    metadata_text, created_at)
                SELECT p_leids[p_lineage[s.i]], p_lnss[p_lineage[s.i]], p_cids[s.i],
                    v_version[s.i], p_parent_ids[s.i], p_nodes[s.i],
                    p_next_nodes[v_off[s.i] + 1 : v_off[s.i] + p_next_counts[s.i]],
                    p_content_types[s.i], p_states[s.i], p_metadatas[s.i],
                    p_metadata_texts[s.i], p_created_ats[s.i]
                FROM unnest(v_stored) AS s (i)
                WHERE p_keep IS NULL OR v_count[p_lineage[s.i]] - v_pos[s.i] < p_keep;
            END
            $save_many$
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
        "save_many": sql.Identifier(schema, prefix + "save_many"),
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
            raise ValueError("the PostgreSQL URL is malformed") from None
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
            "locks": sorted({_lock_key(schema, prefix, e, n) for e, n in lineages}),
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
