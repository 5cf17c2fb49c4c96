"""The tables of a SQLite store, their migrations, and the SQL that reads and writes them.

Every statement is built from constant fragments; values always travel as ``?``
parameters.

Tables (as of the last migration):

- ``checkpoints``: one row per checkpoint; ``channels`` holds its channel references as
  a JSON object ``{name: version}`` (the values are in ``blobs``).
- ``blobs``: channel values, one row per ``(execution_id, namespace, channel, version)``,
  shared by every checkpoint of the lineage that refers to it.
- ``writes``: pending writes by ``(execution_id, namespace, checkpoint_id, task_id,
  idx)``, whether or not that checkpoint is saved (no foreign key), with ``created_at``.
- ``executions``: each execution's ``updated_at`` (when a checkpoint was last saved to
  it), indexed for the listing of executions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from ... import validation as v

__all__ = ["MIGRATIONS", "list_query", "search_query"]

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
    # 4-8: writes may now come before their checkpoint, so they lose the foreign key, and
    # remember when they were stored. SQLite cannot drop a constraint: the table is
    # rebuilt the documented way (new table, copy, drop, rename, indexes), inside the one
    # transaction that applies every missing migration, so no one sees it half done. Old
    # writes always had their checkpoint, and were stored after it: its created_at stands
    # in for theirs. Small columns first: a value may spill into overflow pages, and
    # reading a column stored after it walks them.
    """
    CREATE TABLE writes_v2 (
        execution_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL,
        task_id TEXT NOT NULL,
        idx INTEGER NOT NULL,
        channel TEXT NOT NULL,
        content_type TEXT NOT NULL,
        task_path TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (execution_id, namespace, checkpoint_id, task_id, idx)
    )
    """,
    """
    INSERT INTO writes_v2 (execution_id, namespace, checkpoint_id, task_id, idx, channel,
        content_type, task_path, created_at, value)
    SELECT w.execution_id, w.namespace, w.checkpoint_id, w.task_id, w.idx, w.channel,
        w.content_type, w.task_path, coalesce(c.created_at, 0), w.value
    FROM writes AS w LEFT JOIN checkpoints AS c
        ON c.execution_id = w.execution_id AND c.namespace = w.namespace
        AND c.checkpoint_id = w.checkpoint_id
    """,
    # The child goes first: dropping checkpoints while a foreign key still pointed at it
    # would cascade to the writes.
    "DROP TABLE writes",
    "ALTER TABLE writes_v2 RENAME TO writes",
    # The orphan rules remove a lineage's writes stored before a moment.
    "CREATE INDEX writes_by_time ON writes (execution_id, namespace, created_at)",
    # 9-13: the checkpoints gain their channel references, {name: version} (rows saved
    # before channels existed carry none), and the table is rebuilt with the state last:
    # listings, expiry and the collection of channel values read the other columns of
    # rows they may not return, and must not walk a large state's overflow pages to
    # reach them.
    """
    CREATE TABLE checkpoints_v2 (
        execution_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        parent_id TEXT NOT NULL,
        node TEXT NOT NULL,
        next_nodes TEXT NOT NULL,
        content_type TEXT NOT NULL,
        metadata TEXT NOT NULL,
        channels TEXT NOT NULL DEFAULT '{}',
        state BLOB NOT NULL,
        PRIMARY KEY (execution_id, namespace, checkpoint_id)
    )
    """,
    """
    INSERT INTO checkpoints_v2 (execution_id, namespace, checkpoint_id, version, created_at,
        parent_id, node, next_nodes, content_type, metadata, state)
    SELECT execution_id, namespace, checkpoint_id, version, created_at, parent_id, node,
        next_nodes, content_type, metadata, state
    FROM checkpoints
    """,
    "DROP TABLE checkpoints",
    "ALTER TABLE checkpoints_v2 RENAME TO checkpoints",
    """
    CREATE UNIQUE INDEX checkpoints_by_version
        ON checkpoints (execution_id, namespace, version)
    """,
    # 14: channel values, stored once per version of a lineage.
    """
    CREATE TABLE blobs (
        execution_id TEXT NOT NULL,
        namespace TEXT NOT NULL,
        channel TEXT NOT NULL,
        version TEXT NOT NULL,
        content_type TEXT NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (execution_id, namespace, channel, version)
    )
    """,
    # 15-17: executions by when a checkpoint was last saved to them.
    """
    CREATE TABLE executions (
        execution_id TEXT PRIMARY KEY,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    """
    INSERT INTO executions (execution_id, updated_at)
    SELECT execution_id, max(created_at) FROM checkpoints GROUP BY execution_id
    """,
    "CREATE INDEX executions_by_update ON executions (updated_at, execution_id)",
    # 18: listings across an execution's namespaces are by created_at; expiry too.
    """
    CREATE INDEX checkpoints_by_time
        ON checkpoints (execution_id, created_at, namespace, version)
    """,
    # 19: LangGraph finds (and deletes) a run's checkpoints by metadata run_id; only rows
    # that have one are indexed. The filter SQL spells the same expression (``INDEXED``).
    """
    CREATE INDEX checkpoints_by_run_id ON checkpoints (json_extract(metadata, '$.run_id'))
        WHERE json_type(metadata, '$.run_id') IS NOT NULL
    """,
]

CREATE_MIGRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        applied_at INTEGER NOT NULL
    )
"""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
# Bounds of a SQLite INTEGER: "no cutoff" and "no upper version bound".
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# The statements that read checkpoint rows select these columns, in this order (the
# store's ``_checkpoint`` reads them); those that delete checkpoints answer
# ``RETURNING execution_id, namespace, checkpoint_id, created_at, channels`` for the
# store to clean up after them (``_forget``).

SELECT_ONE = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at, channels
    FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ? AND created_at >= ?
"""
# The newest row by the version index, then that one row: left to itself, the planner
# may take the created_at index for the TTL bound and sort every row of the lineage,
# states included (250 ms for a 500-turn conversation of 1 MB states, against 0.6 ms).
SELECT_LATEST = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at, channels
    FROM checkpoints
    WHERE rowid = (
        SELECT rowid FROM checkpoints INDEXED BY checkpoints_by_version
        WHERE execution_id = ? AND namespace = ? AND created_at >= ?
        ORDER BY version DESC LIMIT 1)
"""
SELECT_ROW = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at, channels
    FROM checkpoints WHERE rowid = ?
"""
SELECT_LOCATION = """
    SELECT version, created_at FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ? AND created_at >= ?
"""
MAX_VERSION = """
    SELECT coalesce(max(version), 0) FROM checkpoints WHERE execution_id = ? AND namespace = ?
"""
INSERT = """
    INSERT INTO checkpoints (execution_id, namespace, checkpoint_id, version, parent_id, node,
        next_nodes, content_type, state, metadata, created_at, channels)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# The parent chain from a checkpoint, at most ?5 links up, in one statement: ancestors.
# A chain that loops (parent ids are the client's) stops at the bound too.
SELECT_CHAIN = """
    WITH RECURSIVE chain (rid, parent_id, depth) AS (
        SELECT rowid, parent_id, 0 FROM checkpoints
        WHERE execution_id = ?1 AND namespace = ?2 AND checkpoint_id = ?3 AND created_at >= ?4
        UNION ALL
        SELECT c.rowid, c.parent_id, chain.depth + 1 FROM chain JOIN checkpoints AS c
            ON c.execution_id = ?1 AND c.namespace = ?2 AND c.checkpoint_id = chain.parent_id
            AND c.created_at >= ?4
        WHERE chain.parent_id != '' AND chain.depth < ?5
    )
    SELECT c.rowid, c.execution_id, c.namespace, c.checkpoint_id, c.version, c.parent_id,
        c.node, c.next_nodes, c.content_type, X'', c.metadata, c.created_at, c.channels
    FROM chain JOIN checkpoints AS c ON c.rowid = chain.rid
    ORDER BY chain.depth
"""
SELECT_STATE = "SELECT state FROM checkpoints WHERE rowid = ?"

# -- channels ---------------------------------------------------------------------------------

# json_each first (CROSS JOIN fixes the order): each reference is one primary-key lookup,
# where the planner, left to itself, may scan the lineage's values instead.
#
# The stored values of a checkpoint's references (?1: its channels column, or part of it).
SELECT_CHANNELS = """
    SELECT j.key, b.content_type, b.value
    FROM json_each(?1) AS j CROSS JOIN blobs AS b
        ON b.execution_id = ?2 AND b.namespace = ?3 AND b.channel = j.key AND b.version = j.value
"""
# The same without the values (a save's answer carries references).
SELECT_CHANNEL_TYPES = """
    SELECT j.key, b.content_type
    FROM json_each(?1) AS j CROSS JOIN blobs AS b
        ON b.execution_id = ?2 AND b.namespace = ?3 AND b.channel = j.key AND b.version = j.value
"""
# What a save finds stored of its channels, ?1 = [[name, version, has value], ...]: the
# value only where one was sent (to compare); references need only exist.
SELECT_SENT_CHANNELS = """
    SELECT json_extract(j.value, '$[0]'), b.content_type,
        CASE WHEN json_extract(j.value, '$[2]') THEN b.value END
    FROM json_each(?1) AS j CROSS JOIN blobs AS b
        ON b.execution_id = ?2 AND b.namespace = ?3
        AND b.channel = json_extract(j.value, '$[0]') AND b.version = json_extract(j.value, '$[1]')
"""
INSERT_BLOB = """
    INSERT INTO blobs (execution_id, namespace, channel, version, content_type, value)
    VALUES (?, ?, ?, ?, ?, ?)
"""
# The values, among those removed checkpoints referred to (?3 = [[name, version], ...]),
# that no remaining checkpoint of the lineage refers to.
COLLECT_BLOBS = """
    DELETE FROM blobs WHERE execution_id = ?1 AND namespace = ?2
    AND (channel, version) IN (
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?3))
    AND (channel, version) NOT IN (
        SELECT j.key, j.value FROM checkpoints AS c, json_each(c.channels) AS j
        WHERE c.execution_id = ?1 AND c.namespace = ?2)
"""
DELETE_LINEAGE_BLOBS = "DELETE FROM blobs WHERE execution_id = ? AND namespace = ?"
DELETE_EXECUTION_BLOBS = "DELETE FROM blobs WHERE execution_id = ?"

# -- writes -----------------------------------------------------------------------------------

SELECT_WRITES = """
    SELECT task_id, idx, channel, content_type, value, task_path FROM writes
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
    ORDER BY task_id, idx
"""
# idx >= 0: the first write of a key wins; idx < 0 (special writes): the last one does.
INSERT_WRITE = """
    INSERT INTO writes (execution_id, namespace, checkpoint_id, task_id, idx, channel,
        content_type, task_path, created_at, value)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (execution_id, namespace, checkpoint_id, task_id, idx) DO NOTHING
"""
UPSERT_WRITE = """
    INSERT INTO writes (execution_id, namespace, checkpoint_id, task_id, idx, channel,
        content_type, task_path, created_at, value)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (execution_id, namespace, checkpoint_id, task_id, idx) DO UPDATE SET
        channel = excluded.channel, content_type = excluded.content_type,
        task_path = excluded.task_path, created_at = excluded.created_at,
        value = excluded.value
"""
DELETE_WRITES_OF = """
    DELETE FROM writes WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
"""
# Writes of a lineage whose checkpoint is not saved ("orphans"), stored before ?3.
DELETE_ORPHANS = """
    DELETE FROM writes WHERE execution_id = ?1 AND namespace = ?2 AND created_at < ?3
    AND NOT EXISTS (
        SELECT 1 FROM checkpoints AS c WHERE c.execution_id = ?1 AND c.namespace = ?2
        AND c.checkpoint_id = writes.checkpoint_id)
"""
DELETE_EXECUTION_ORPHANS = """
    DELETE FROM writes WHERE execution_id = ?1 AND created_at < ?2
    AND NOT EXISTS (
        SELECT 1 FROM checkpoints AS c WHERE c.execution_id = ?1
        AND c.namespace = writes.namespace AND c.checkpoint_id = writes.checkpoint_id)
"""
DELETE_LINEAGE_WRITES = "DELETE FROM writes WHERE execution_id = ? AND namespace = ?"
DELETE_EXECUTION_WRITES = "DELETE FROM writes WHERE execution_id = ?"

# -- removing checkpoints ---------------------------------------------------------------------

# Keep the newest N rows by count (deletions leave version gaps, so not by number).
PRUNE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND version <= (
        SELECT version FROM checkpoints WHERE execution_id = ? AND namespace = ?
        ORDER BY version DESC LIMIT 1 OFFSET ?)
    RETURNING execution_id, namespace, checkpoint_id, created_at, channels
"""
# Every checkpoint of an execution but the newest of each namespace.
PRUNE_EXECUTION = """
    DELETE FROM checkpoints WHERE execution_id = ?1 AND version < (
        SELECT max(k.version) FROM checkpoints AS k
        WHERE k.execution_id = ?1 AND k.namespace = checkpoints.namespace)
    RETURNING execution_id, namespace, checkpoint_id, created_at, channels
"""
EXPIRE_LINEAGE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND created_at < ?
    RETURNING execution_id, namespace, checkpoint_id, created_at, channels
"""
EXPIRE_EXECUTION = """
    DELETE FROM checkpoints WHERE execution_id = ? AND created_at < ?
    RETURNING execution_id, namespace, checkpoint_id, created_at, channels
"""
DELETE_ONE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
    RETURNING execution_id, namespace, checkpoint_id, created_at, channels
"""
# Clear: the live checkpoints first (they are counted), then whatever expired is left.
DELETE_LINEAGE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND created_at >= ?
"""
DELETE_EXECUTION = "DELETE FROM checkpoints WHERE execution_id = ? AND created_at >= ?"
DELETE_LINEAGE_ALL = "DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ?"
DELETE_EXECUTION_ALL = "DELETE FROM checkpoints WHERE execution_id = ?"

# -- executions -------------------------------------------------------------------------------

TOUCH_EXECUTION = """
    INSERT INTO executions (execution_id, updated_at) VALUES (?, ?)
    ON CONFLICT (execution_id) DO UPDATE SET updated_at = max(updated_at, excluded.updated_at)
"""
SET_EXECUTION = """
    INSERT INTO executions (execution_id, updated_at) VALUES (?, ?)
    ON CONFLICT (execution_id) DO UPDATE SET updated_at = excluded.updated_at
"""
# An execution left without checkpoints leaves the index (an expired one is skipped by the
# listing's EXISTS until a later write removes it).
TIDY_EXECUTION = """
    DELETE FROM executions WHERE execution_id = ?1
    AND NOT EXISTS (SELECT 1 FROM checkpoints WHERE execution_id = ?1)
"""
COUNT_LIVE = "SELECT count(*) FROM checkpoints WHERE execution_id = ? AND created_at >= ?"
COPY_CHECKPOINTS = """
    INSERT INTO checkpoints (execution_id, namespace, checkpoint_id, version, parent_id, node,
        next_nodes, content_type, state, metadata, created_at, channels)
    SELECT ?2, namespace, checkpoint_id, version, parent_id, node, next_nodes, content_type,
        state, metadata, created_at, channels
    FROM checkpoints WHERE execution_id = ?1
"""
COPY_BLOBS = """
    INSERT INTO blobs (execution_id, namespace, channel, version, content_type, value)
    SELECT ?2, namespace, channel, version, content_type, value
    FROM blobs WHERE execution_id = ?1
"""
COPY_WRITES = """
    INSERT INTO writes (execution_id, namespace, checkpoint_id, task_id, idx, channel,
        content_type, task_path, created_at, value)
    SELECT ?2, namespace, checkpoint_id, task_id, idx, channel, content_type, task_path,
        created_at, value
    FROM writes WHERE execution_id = ?1
"""

# One SQL condition per kind of filter value; see filter_clause.
FILTER_TEXT = "(json_type(metadata, {path}) = 'text' AND json_extract(metadata, {path}) = ?)"
FILTER_NUMBER = (
    "(json_type(metadata, {path}) IN ('integer', 'real') AND json_extract(metadata, {path}) = ?)"
)
FILTER_TYPE = "json_type(metadata, {path}) = ?"
#: Metadata keys with an expression index, and the literal path the index was built with:
#: the planner uses an index on an expression only when the query spells the same
#: expression, so their filters carry the path in the SQL (a constant from this table,
#: never the caller's text) instead of as a parameter.
INDEXED: dict[str, str] = {"run_id": "'$.run_id'"}


def micros(when: datetime) -> int:
    return (when - EPOCH) // MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def filter_clause(key: str, wanted: v.Scalar) -> tuple[str, list[object]]:
    """The SQL condition and parameters matching ``validation.json_scalar_equal``.

    The key was validated to hold no quote or backslash, so ``$."key"`` names exactly that
    top-level member; it is passed as a parameter, never pasted into the SQL, except for
    the keys of ``INDEXED`` whose constant path is.
    """
    literal = INDEXED.get(key)
    path_params: list[object] = [] if literal else [f'$."{key}"']
    sql_path = literal or "?"
    # json_type is NULL for a missing member, so every branch also requires presence.
    if wanted is None or isinstance(wanted, bool):
        kind = "null" if wanted is None else "true" if wanted else "false"
        return FILTER_TYPE.format(path=sql_path), [*path_params, kind]
    if isinstance(wanted, str):
        return FILTER_TEXT.format(path=sql_path), [*path_params, *path_params, wanted]
    number: int | float = wanted
    if isinstance(wanted, int) and not INT64_MIN <= wanted <= INT64_MAX:
        # SQLite reads such JSON integers as REAL, and cannot bind them as INTEGER.
        number = float(wanted)
    # SQLite compares INTEGER and REAL numerically, so 1 matches 1.0 as in JSON.
    return FILTER_NUMBER.format(path=sql_path), [*path_params, *path_params, number]


def where_metadata(metadata_filter: Mapping[str, v.Scalar]) -> tuple[list[str], list[object]]:
    conditions: list[str] = []
    params: list[object] = []
    for key, wanted in metadata_filter.items():
        clause, clause_params = filter_clause(key, wanted)
        conditions.append(clause)
        params += clause_params
    return conditions, params


# -- pages ------------------------------------------------------------------------------------

# A page is read in two steps, so that no state is read that the page does not return:
# this query picks the candidates (in order, filtered, at most LIMIT) and says what each
# weighs in a response (``_base.weight``: the state, the channel values, and the writes
# when asked for, from length(), which reads no value); the store then reads the rows
# that fit the byte budget, one by one.
PAGE = """
    SELECT p.rid, p.created_at, p.execution_id, p.namespace, p.version,
        p.state_len + 512 + (
            SELECT coalesce(sum(length(b.value) + 64), 0)
            FROM json_each(p.channels) AS j CROSS JOIN blobs AS b
                ON b.execution_id = p.execution_id AND b.namespace = p.namespace
                AND b.channel = j.key AND b.version = j.value
        ) + {writes}
    FROM (
        SELECT rowid AS rid, execution_id, namespace, checkpoint_id, version, created_at,
            channels, length(state) AS state_len
        FROM checkpoints
        WHERE {where}
        ORDER BY {order} LIMIT ?
    ) AS p
"""
PAGE_WRITES = """(
            SELECT coalesce(sum(length(w.value) + 64), 0) FROM writes AS w
            WHERE w.execution_id = p.execution_id AND w.namespace = p.namespace
                AND w.checkpoint_id = p.checkpoint_id
        )"""
LINEAGE_ORDER = "version DESC"
POSITION_ORDER = "created_at DESC, execution_id DESC, namespace DESC, version DESC"


def _page(
    conditions: list[str],
    params: list[object],
    order: str,
    limit: int,
    metadata_filter: Mapping[str, v.Scalar],
    with_writes: bool,
) -> tuple[str, list[object]]:
    more, more_params = where_metadata(metadata_filter)
    # Only the constant fragments above are joined; every value is a '?' parameter.
    sql = PAGE.format(
        writes=PAGE_WRITES if with_writes else "0",
        where="\n            AND ".join(conditions + more),
        order=order,
    )
    return sql, [*params, *more_params, limit]


def list_query(
    execution_id: str,
    namespace: str,
    below_version: int | None,
    limit: int,
    metadata_filter: Mapping[str, v.Scalar],
    expired_before: datetime | None,
    *,
    with_writes: bool = False,
) -> tuple[str, list[object]]:
    """The statement (and its parameters) that picks one page of a lineage's listing.

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
        with_writes: weigh the pending writes too.

    Returns:
        The SQL text and its positional parameters; each row is ``(rowid, created_at,
        execution_id, namespace, version, weight)``, in no particular order.
    """
    return _page(
        ["execution_id = ?", "namespace = ?", "version < ?", "created_at >= ?"],
        [
            execution_id,
            namespace,
            INT64_MAX if below_version is None else below_version,
            INT64_MIN if expired_before is None else micros(expired_before),
        ],
        LINEAGE_ORDER,
        limit,
        metadata_filter,
        with_writes,
    )


def execution_query(
    execution_id: str,
    after: tuple[int, str, str, int] | None,
    limit: int,
    metadata_filter: Mapping[str, v.Scalar],
    cutoff_us: int,
    *,
    with_writes: bool,
) -> tuple[str, list[object]]:
    """As ``list_query``, over every namespace of one execution, by position (on the
    ``checkpoints_by_time`` index)."""
    conditions = ["execution_id = ?", "created_at >= ?"]
    params: list[object] = [execution_id, cutoff_us]
    if after is not None:
        # The execution is fixed, so the position compares on the rest of it.
        conditions.append("(created_at, namespace, version) < (?, ?, ?)")
        params += [after[0], after[2], after[3]]
    return _page(conditions, params, POSITION_ORDER, limit, metadata_filter, with_writes)


def search_query(
    prefix: str,
    after: tuple[int, str, str, int] | None,
    limit: int,
    metadata_filter: Mapping[str, v.Scalar],
    cutoff_us: int,
    *,
    with_writes: bool,
) -> tuple[str, list[object]]:
    """As ``execution_query``, over every execution whose id starts with ``prefix``."""
    conditions = ["created_at >= ?"]
    params: list[object] = [cutoff_us]
    if prefix:
        conditions.append("substr(execution_id, 1, ?) = ?")
        params += [len(prefix), prefix]
    if after is not None:
        conditions.append("(created_at, execution_id, namespace, version) < (?, ?, ?, ?)")
        params += list(after)
    return _page(conditions, params, POSITION_ORDER, limit, metadata_filter, with_writes)


DELETE_WHERE = """
    DELETE FROM checkpoints WHERE {where}
    RETURNING execution_id, namespace, checkpoint_id, created_at, channels
"""


def delete_where_query(
    prefix: str,
    execution_id: str | None,
    metadata_filter: Mapping[str, v.Scalar],
    cutoff_us: int,
) -> tuple[str, list[object]]:
    """The statement removing the live checkpoints that match a filter (of one execution,
    or of every execution under ``prefix``), answering what it removed."""
    conditions = ["created_at >= ?"]
    params: list[object] = [cutoff_us]
    if execution_id is not None:
        conditions.append("execution_id = ?")
        params.append(execution_id)
    elif prefix:
        conditions.append("substr(execution_id, 1, ?) = ?")
        params += [len(prefix), prefix]
    more, more_params = where_metadata(metadata_filter)
    return DELETE_WHERE.format(where=" AND ".join(conditions + more)), params + more_params


NAMESPACES = """
    WITH RECURSIVE names (name) AS (
        SELECT (SELECT namespace FROM checkpoints
            WHERE execution_id = ?1 AND namespace {first} ?2 AND created_at >= ?3
            ORDER BY namespace LIMIT 1)
        UNION ALL
        SELECT (SELECT namespace FROM checkpoints
            WHERE execution_id = ?1 AND namespace > names.name AND created_at >= ?3
            ORDER BY namespace LIMIT 1)
        FROM names WHERE names.name IS NOT NULL
        LIMIT ?4
    )
    SELECT name FROM names WHERE name IS NOT NULL
"""


def namespaces_query(
    execution_id: str, after: str | None, limit: int, cutoff_us: int
) -> tuple[str, list[object]]:
    """A skip scan over the ``checkpoints_by_version`` index: each step seeks the first
    live checkpoint of the next namespace, so a call costs a seek per namespace served,
    however many checkpoints each holds."""
    first = ">=" if after is None else ">"
    sql = NAMESPACES.format(first=first)
    return sql, [execution_id, after or "", cutoff_us, limit + 1]


EXECUTIONS = """
    SELECT e.execution_id, e.updated_at FROM executions AS e
    WHERE {where}
    ORDER BY e.updated_at DESC, e.execution_id DESC LIMIT ?
"""


def executions_query(
    prefix: str, after: tuple[int, str] | None, limit: int, cutoff_us: int
) -> tuple[str, list[object]]:
    """Executions newest first off the ``executions_by_update`` index, skipping those
    without live checkpoints."""
    conditions = [
        "EXISTS (SELECT 1 FROM checkpoints AS c"
        " WHERE c.execution_id = e.execution_id AND c.created_at >= ?)"
    ]
    params: list[object] = [cutoff_us]
    if after is not None:
        conditions.append("(e.updated_at, e.execution_id) < (?, ?)")
        params += list(after)
    if prefix:
        conditions.append("substr(e.execution_id, 1, ?) = ?")
        params += [len(prefix), prefix]
    return EXECUTIONS.format(where=" AND ".join(conditions)), [*params, limit]
