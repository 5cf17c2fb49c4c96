"""A SQLite file written by the gateway before channels, early writes and the listings
across executions (schema version 3) keeps loading after an upgrade, writes included.

The old file is built as the old gateway built it: the first three migrations (never
edited since), recorded in ``schema_migrations``, and rows stored with the old gateway's
own statements (copied here, as they were).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checkpoint_client import Channel, Checkpoint, PendingWrite
from checkpoint_gateway.backends.sqlite import MIGRATIONS, SqliteStore

OLD_VERSION = 3

# The old gateway's statements (backends/sqlite/schema.py at schema version 3).
OLD_CREATE_MIGRATIONS_TABLE = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        applied_at INTEGER NOT NULL
    )
"""
OLD_INSERT = """
    INSERT INTO checkpoints (execution_id, namespace, checkpoint_id, version, parent_id, node,
        next_nodes, content_type, state, metadata, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
OLD_UPSERT_WRITE = """
    INSERT INTO writes (execution_id, namespace, checkpoint_id, task_id, idx, channel,
        content_type, value, task_path)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (execution_id, namespace, checkpoint_id, task_id, idx) DO UPDATE SET
        channel = excluded.channel, content_type = excluded.content_type,
        value = excluded.value, task_path = excluded.task_path
"""

T0 = datetime(2026, 2, 1, tzinfo=UTC)
BIG = bytes(range(256)) * 1024  # 256 KiB: spills into overflow pages, copied whole


def us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def old_checkpoints() -> list[Checkpoint]:
    """What the old gateway stored (created_at and version as it assigned them)."""

    def cp(eid: str, cid: str, version: int, second: int, **kw: object) -> Checkpoint:
        state = kw.pop("state", {"cid": cid})
        return Checkpoint(
            eid,
            state,
            checkpoint_id=cid,
            version=version,
            created_at=T0 + timedelta(seconds=second),
            **kw,  # type: ignore[arg-type]
        )

    return [
        cp("run", "c1", 1, 1, node="start", next_nodes=["a"], metadata={"run_id": "r1"}),
        cp("run", "c2", 2, 2, parent_id="c1", node="a", metadata={"run_id": "r1", "step": 1}),
        cp("run", "c3", 3, 4, parent_id="c2", state=BIG, metadata={"run_id": "r2"}),
        cp("run", "s1", 1, 3, namespace="sub:1", metadata={"run_id": "r1"}),
        cp("other", "o1", 1, 5, metadata={}),
    ]


OLD_WRITES = {
    ("run", "", "c2"): [
        PendingWrite("t1", 0, "messages", ["hi"]),
        PendingWrite("t1", -3, "__interrupt__", b"\x00", content_type="application/msgpack"),
    ],
    ("run", "sub:1", "s1"): [PendingWrite("t2", 1, "x", {"y": 1}, task_path="p")],
}


def build_old_file(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(OLD_CREATE_MIGRATIONS_TABLE)
        for version, statement in enumerate(MIGRATIONS[:OLD_VERSION], start=1):
            conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
        for c in old_checkpoints():
            assert c.created_at is not None
            conn.execute(
                OLD_INSERT,
                (
                    c.execution_id,
                    c.namespace,
                    c.checkpoint_id,
                    c.version,
                    c.parent_id,
                    c.node,
                    json.dumps(list(c.next_nodes), ensure_ascii=False),
                    c.content_type,
                    c.state_bytes,
                    c.metadata_json().decode(),
                    us(c.created_at),
                ),
            )
        for (eid, ns, cid), writes in OLD_WRITES.items():
            for w in writes:
                conn.execute(
                    OLD_UPSERT_WRITE,
                    (
                        eid,
                        ns,
                        cid,
                        w.task_id,
                        w.idx,
                        w.channel,
                        w.content_type,
                        w.value_bytes,
                        w.task_path,
                    ),
                )
        conn.execute("COMMIT")
    finally:
        conn.close()


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    build_old_file(path)
    return path


@pytest.fixture
async def upgraded(old_file: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(str(old_file))
    try:
        yield store
    finally:
        await store.close()


def expected(c: Checkpoint) -> Checkpoint:
    writes = OLD_WRITES.get((c.execution_id, c.namespace, c.checkpoint_id), [])
    return c.replace(pending_writes=sorted(writes, key=lambda w: (w.task_id, w.idx)))


async def test_old_checkpoints_and_writes_load_after_the_upgrade(
    upgraded: SqliteStore, old_file: Path
) -> None:
    versions = [v for (v,) in query(old_file, "SELECT version FROM schema_migrations")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    for c in old_checkpoints():
        loaded = await upgraded.load(c.execution_id, c.checkpoint_id, namespace=c.namespace)
        assert loaded == expected(c)
        assert loaded.channels == {}
    assert (await upgraded.latest("run")) == expected(old_checkpoints()[2])
    listed = await upgraded.list("run", all_namespaces=True, with_writes=True)
    assert [c.checkpoint_id for c in listed.checkpoints] == ["c3", "s1", "c2", "c1"]
    assert listed.checkpoints[2].pending_writes == expected(old_checkpoints()[1]).pending_writes


async def test_old_data_joins_the_new_listings(upgraded: SqliteStore) -> None:
    # The executions index is built from the old rows: each at its newest checkpoint.
    executions = (await upgraded.executions()).executions
    assert [(x.execution_id, x.updated_at) for x in executions] == [
        ("other", T0 + timedelta(seconds=5)),
        ("run", T0 + timedelta(seconds=4)),
    ]
    assert (await upgraded.namespaces("run")).namespaces == ["", "sub:1"]
    # Old metadata is in the run_id index.
    found = await upgraded.search({"run_id": "r1"})
    assert [c.checkpoint_id for c in found.checkpoints] == ["s1", "c2", "c1"]
    chain = await upgraded.ancestors("run", "c3", include_state=True)
    assert [c.checkpoint_id for c in chain.checkpoints] == ["c2", "c1"]
    assert [len(c.pending_writes) for c in chain.checkpoints] == [2, 0]


async def test_old_lineages_take_new_saves_writes_and_removals(
    upgraded: SqliteStore, old_file: Path
) -> None:
    # Migrated writes were stored with (after) their checkpoint.
    stored = query(
        old_file,
        "SELECT w.created_at = c.created_at FROM writes AS w JOIN checkpoints AS c"
        " USING (execution_id, namespace, checkpoint_id)",
    )
    assert stored == [(1,)] * 3
    assert query(old_file, "PRAGMA foreign_key_list(writes)") == []
    assert query(old_file, "PRAGMA integrity_check") == [("ok",)]
    # Writes before their checkpoint, and a save with channels, in an old lineage.
    await upgraded.put_writes("run", "c4", [PendingWrite("t", 0, "ch", b"early")])
    saved = await upgraded.save(
        Checkpoint("run", {}, checkpoint_id="c4", parent_id="c3", channels={"m": Channel("1", 1)})
    )
    assert saved.version == 4
    loaded = await upgraded.load("run", "c4")
    assert [w.value for w in loaded.pending_writes] == [b"early"]
    assert loaded.channels["m"].value == 1
    # Old checkpoints go with their writes.
    assert await upgraded.delete("run", "c2")
    assert query(old_file, "SELECT count(*) FROM writes WHERE checkpoint_id = 'c2'") == [(0,)]
    assert await upgraded.prune(["run"]) == 2  # c1 and c3; c4 and s1 stay
    assert [c.checkpoint_id for c in (await upgraded.search()).checkpoints] == ["c4", "o1", "s1"]


async def test_an_upgrade_that_fails_changes_nothing(old_file: Path) -> None:
    # Something in the way of a late migration: every migration before it (the rebuilds
    # of writes and checkpoints) is rolled back with it.
    conn = sqlite3.connect(old_file)
    with conn:
        conn.execute("CREATE TABLE blobs (x)")
    conn.close()
    with pytest.raises(sqlite3.OperationalError, match="blobs"):
        await SqliteStore.open(str(old_file))
    assert query(old_file, "SELECT max(version) FROM schema_migrations") == [(OLD_VERSION,)]
    assert len(query(old_file, "PRAGMA foreign_key_list(writes)")) == 3  # the old table
    assert query(old_file, "SELECT count(*) FROM writes") == [(3,)]
    assert query(old_file, "SELECT count(*) FROM checkpoints") == [(5,)]
    # Out of the way, the upgrade goes through.
    conn = sqlite3.connect(old_file)
    with conn:
        conn.execute("DROP TABLE blobs")
    conn.close()
    store = await SqliteStore.open(str(old_file))
    try:
        c2 = old_checkpoints()[1]
        assert await store.load("run", "c2") == expected(c2)
    finally:
        await store.close()
