"""The tables of a SQLite store, their migrations, and the SQL that reads and writes them.

Every statement is a literal; values always travel as ``?`` parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from ... import validation as v

__all__ = ["MIGRATIONS", "list_query"]

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

# Every statement is a literal; values always travel as '?' parameters.
SELECT_ONE = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at
    FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ? AND created_at >= ?
"""
SELECT_LATEST = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at
    FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND created_at >= ?
    ORDER BY version DESC LIMIT 1
"""
# The listing: list_query appends the metadata filter conditions and the ordering.
SELECT_PAGE = """
    SELECT execution_id, namespace, checkpoint_id, version, parent_id, node, next_nodes,
        content_type, state, metadata, created_at
    FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND version < ? AND created_at >= ?"""
PAGE_ORDER = "\n    ORDER BY version DESC LIMIT ?"
SELECT_VERSION = """
    SELECT version FROM checkpoints
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ? AND created_at >= ?
"""
MAX_VERSION = """
    SELECT coalesce(max(version), 0) FROM checkpoints WHERE execution_id = ? AND namespace = ?
"""
INSERT = """
    INSERT INTO checkpoints (execution_id, namespace, checkpoint_id, version, parent_id, node,
        next_nodes, content_type, state, metadata, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# Keep the newest N rows by count (deletions leave version gaps, so not by number).
PRUNE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND version <= (
        SELECT version FROM checkpoints WHERE execution_id = ? AND namespace = ?
        ORDER BY version DESC LIMIT 1 OFFSET ?)
"""
EXPIRE_LINEAGE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND created_at < ?
"""
EXPIRE_EXECUTION = "DELETE FROM checkpoints WHERE execution_id = ? AND created_at < ?"
DELETE_ONE = """
    DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
"""
DELETE_LINEAGE = "DELETE FROM checkpoints WHERE execution_id = ? AND namespace = ?"
DELETE_EXECUTION = "DELETE FROM checkpoints WHERE execution_id = ?"
EXISTS = """
    SELECT 1 FROM checkpoints WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
"""
SELECT_WRITES = """
    SELECT task_id, idx, channel, content_type, value, task_path FROM writes
    WHERE execution_id = ? AND namespace = ? AND checkpoint_id = ?
    ORDER BY task_id, idx
"""
UPSERT_WRITE = """
    INSERT INTO writes (execution_id, namespace, checkpoint_id, task_id, idx, channel,
        content_type, value, task_path)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (execution_id, namespace, checkpoint_id, task_id, idx) DO UPDATE SET
        channel = excluded.channel, content_type = excluded.content_type,
        value = excluded.value, task_path = excluded.task_path
"""

# One SQL condition per kind of filter value; '?' placeholders only, see filter_clause.
FILTER_TEXT = "(json_type(metadata, ?) = 'text' AND json_extract(metadata, ?) = ?)"
FILTER_NUMBER = "(json_type(metadata, ?) IN ('integer', 'real') AND json_extract(metadata, ?) = ?)"
FILTER_TYPE = "json_type(metadata, ?) = ?"


def micros(when: datetime) -> int:
    return (when - EPOCH) // MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def filter_clause(key: str, wanted: v.Scalar) -> tuple[str, list[object]]:
    """The SQL condition and parameters matching ``validation.json_scalar_equal``.

    The key was validated to hold no quote or backslash, so ``$."key"`` names exactly that
    top-level member; it is passed as a parameter, never pasted into the SQL.
    """
    path = f'$."{key}"'
    # json_type is NULL for a missing member, so every branch also requires presence.
    if wanted is None:
        return FILTER_TYPE, [path, "null"]
    if isinstance(wanted, bool):
        return FILTER_TYPE, [path, "true" if wanted else "false"]
    if isinstance(wanted, str):
        return FILTER_TEXT, [path, path, wanted]
    number: int | float = wanted
    if isinstance(wanted, int) and not INT64_MIN <= wanted <= INT64_MAX:
        # SQLite reads such JSON integers as REAL, and cannot bind them as INTEGER.
        number = float(wanted)
    # SQLite compares INTEGER and REAL numerically, so 1 matches 1.0 as in JSON.
    return FILTER_NUMBER, [path, path, number]


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
        INT64_MAX if below_version is None else below_version,
        INT64_MIN if expired_before is None else micros(expired_before),
    ]
    for key, wanted in metadata_filter.items():
        clause, clause_params = filter_clause(key, wanted)
        conditions.append(clause)
        params += clause_params
    params.append(limit)
    # Only the constant fragments above are joined; every value is a '?' parameter.
    sql = SELECT_PAGE + "".join("\n    AND " + c for c in conditions) + PAGE_ORDER
    return sql, params
