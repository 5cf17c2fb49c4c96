"""Upgrading a PostgreSQL store: data stored by the previous version (schema version 2)
reads back through the new code, and a replica of the previous version keeps working
beside the new schema during a rolling upgrade.

``OldReplica`` stores the way version 2 of the gateway did, with its very SQL: saves
through ``{save_many}`` (eighteen arguments), writes only for saved checkpoints (checked
``FOR KEY SHARE``) and without a ``created_at``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from checkpoint_client import Channel, Checkpoint, PendingWrite
from checkpoint_gateway.backends.postgres import PostgresSettings, PostgresStore, migrate
from checkpoint_gateway.backends.postgres import schema as pg
from tests.harness.postgres import drop_schema, new_schema

PREFIX = "checkpoint_"


class OldReplica:
    """Saves and writes as schema version 2's code did (one connection, autocommit)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], schema: str) -> None:
        self.conn = conn
        self.schema = schema
        self.names = pg.table_names(schema, PREFIX)

    async def save(self, cp: Checkpoint) -> tuple[str, int]:
        """One save (a batch of one), as version 2 sent it; ``(outcome, latest)``."""
        created = datetime.now(UTC)
        params = {
            "locks": [pg.lock_key(self.schema, PREFIX, cp.execution_id, cp.namespace)],
            "cutoff": None,
            "keep": None,
            "leids": [cp.execution_id],
            "lnss": [cp.namespace],
            "lineage": [1],
            "prev": [None],
            "cids": [cp.checkpoint_id],
            "expected": [None],
            "parent_ids": [cp.parent_id],
            "nodes": [cp.node],
            "next_nodes": list(cp.next_nodes),
            "next_counts": [len(cp.next_nodes)],
            "content_types": [cp.content_type],
            "states": [cp.state_bytes],
            "metadata_texts": [cp.metadata_json().decode()],
            "metadatas": [Jsonb(cp.metadata)],
            "created_ats": [created],
        }
        query = sql.SQL(
            "SELECT * FROM {save_many}(%(locks)b::int8[], %(cutoff)b::timestamptz, "
            "%(keep)b::int8, %(leids)b::text[], %(lnss)b::text[], %(lineage)b::int4[], "
            "%(prev)b::int4[], %(cids)b::text[], %(expected)b::int8[], "
            "%(parent_ids)b::text[], %(nodes)b::text[], %(next_nodes)b::text[], "
            "%(next_counts)b::int4[], %(content_types)b::text[], %(states)b::bytea[], "
            "%(metadata_texts)b::text[], %(metadatas)b::jsonb[], "
            "%(created_ats)b::timestamptz[]) ORDER BY r_item"
        ).format(**self.names)
        rows = await (await self.conn.execute(query, params, binary=True)).fetchall()
        assert len(rows) == 1
        assert len(rows[0]) == 13  # the version 2 columns, whatever the function became
        return rows[0][1], rows[0][2]

    async def put_writes(self, eid: str, cid: str, writes: list[PendingWrite]) -> bool:
        ids = {"eid": eid, "ns": "", "cid": cid}
        async with self.conn.transaction():
            cur = await self.conn.execute(
                sql.SQL(
                    "SELECT 1 FROM {checkpoints} WHERE execution_id = %(eid)s "
                    "AND namespace = %(ns)s AND checkpoint_id = %(cid)s FOR KEY SHARE"
                ).format(**self.names),
                ids,
            )
            if await cur.fetchone() is None:
                return False
            await self.conn.execute(
                sql.SQL(
                    "INSERT INTO {writes} (execution_id, namespace, checkpoint_id, "
                    "task_id, idx, channel, value, content_type, task_path) "
                    "SELECT %(eid)s, %(ns)s, %(cid)s, w.* FROM unnest(%(task_ids)s::text[], "
                    "%(idxs)s::int4[], %(channels)s::text[], %(values)s::bytea[], "
                    "%(content_types)s::text[], %(task_paths)s::text[]) AS w "
                    "ON CONFLICT (execution_id, namespace, checkpoint_id, task_id, idx) "
                    "DO UPDATE SET channel = excluded.channel, value = excluded.value, "
                    "content_type = excluded.content_type, task_path = excluded.task_path"
                ).format(**self.names),
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


@pytest.fixture
async def old_schema(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, OldReplica]]:
    """A schema set up by the previous version (migrations 1 and 2 only), and a replica
    of that version on it."""
    schema = new_schema()
    async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
        with monkeypatch.context() as patch:
            patch.setattr(pg, "MIGRATIONS", pg.MIGRATIONS[:2])
            assert await migrate(conn, schema, PREFIX) == [1, 2]
        try:
            yield schema, OldReplica(conn, schema)
        finally:
            await asyncio.to_thread(drop_schema, postgres_url, schema)


async def test_data_stored_by_the_previous_version_reads_back_after_the_upgrade(
    postgres_url: str, old_schema: tuple[str, OldReplica]
) -> None:
    schema, old = old_schema
    parent = ""
    for i in range(3):
        meta = {"run_id": "r1", "step": i}
        cp = Checkpoint("run", {"i": i}, checkpoint_id=f"c{i}", parent_id=parent, metadata=meta)
        assert await old.save(cp) == ("s", i)
        parent = f"c{i}"
    assert await old.save(Checkpoint("run", {"sub": 1}, namespace="sub", checkpoint_id="s0"))
    assert await old.save(Checkpoint("other", {"o": 1}, checkpoint_id="o0"))
    writes = [PendingWrite("t", 0, "ch", b"w0"), PendingWrite("t", -1, "__error__", b"boom")]
    assert await old.put_writes("run", "c1", writes)
    assert not await old.put_writes("run", "missing", writes)  # version 2 refused these

    store = await PostgresStore.open(postgres_url, settings=PostgresSettings(schema=schema))
    try:
        assert await store.setup() == []  # open applied 3 and 4
        loaded = await store.load("run", "c1")
        assert loaded.state == {"i": 1}
        assert loaded.metadata == {"run_id": "r1", "step": 1}
        assert (loaded.version, loaded.parent_id, loaded.channels) == (2, "c0", {})
        assert [(w.idx, w.value) for w in loaded.pending_writes] == [(-1, b"boom"), (0, b"w0")]
        assert (await store.latest("run")).checkpoint_id == "c2"
        listed = await store.list("run", with_writes=True)
        assert [(c.checkpoint_id, len(c.pending_writes)) for c in listed.checkpoints] == [
            ("c2", 0),
            ("c1", 2),
            ("c0", 0),
        ]
        across = await store.list("run", all_namespaces=True)
        assert [c.checkpoint_id for c in across.checkpoints] == ["s0", "c2", "c1", "c0"]
        found = await store.search({"run_id": "r1", "step": 2})
        assert [c.checkpoint_id for c in found.checkpoints] == ["c2"]
        assert (await store.namespaces("run")).namespaces == ["", "sub"]
        # The executions index was built from the rows: each at its newest checkpoint.
        executions = (await store.executions()).executions
        assert [x.execution_id for x in executions] == ["other", "run"]
        sub = await store.load("run", "s0", namespace="sub")
        assert executions[1].updated_at == sub.created_at
        chain = await store.ancestors("run", "c2")
        assert [(c.checkpoint_id, len(c.pending_writes)) for c in chain.checkpoints] == [
            ("c1", 2),
            ("c0", 0),
        ]
        # Writes from before the upgrade remember the upgrade as when they were stored.
        async with store._pool.connection() as conn:
            cur = await conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE created_at IS NULL").format(
                    sql.Identifier(schema, PREFIX + "writes")
                )
            )
            assert await cur.fetchone() == (0,)

        # The lineage goes on where it was, with the new features.
        saved = await store.save(
            Checkpoint("run", {"i": 3}, checkpoint_id="c3", channels={"m": Channel("1", [1])})
        )
        assert saved.version == 4
        await store.put_writes("run", "c4", [PendingWrite("t", 0, "ch", b"early")])
        await store.save(
            Checkpoint("run", {"i": 4}, checkpoint_id="c4", channels={"m": Channel("1")})
        )
        c4 = await store.load("run", "c4")
        assert (c4.channels["m"].value, len(c4.pending_writes)) == ([1], 1)
        assert await store.delete_where({"run_id": "r1", "step": 0}) == 1
        assert await store.prune(["run"]) == 3  # c1, c2, c3; "sub" has one already
        listed = await store.list("run", all_namespaces=True, with_writes=True)
        assert [(c.checkpoint_id, len(c.pending_writes)) for c in listed.checkpoints] == [
            ("c4", 1),
            ("s0", 0),
        ]
    finally:
        await store.close()


async def test_a_replica_of_the_previous_version_keeps_working_beside_the_new_schema(
    postgres_url: str, old_schema: tuple[str, OldReplica]
) -> None:
    schema, old = old_schema
    store = await PostgresStore.open(postgres_url, settings=PostgresSettings(schema=schema))
    try:
        await store.save(Checkpoint("run", {"new": 1}, checkpoint_id="n1"))
        # Its saves go through the wrapper that replaced its function: versions follow
        # the new replica's, and the executions index learns of them.
        assert await old.save(Checkpoint("run", {"old": 1}, checkpoint_id="o1")) == ("s", 1)
        assert await old.save(Checkpoint("quiet", {"old": 1}, checkpoint_id="q1")) == ("s", 0)
        assert await old.save(Checkpoint("run", {"old": 1}, checkpoint_id="o1")) == ("d", 2)
        assert [c.checkpoint_id for c in (await store.list("run")).checkpoints] == ["o1", "n1"]
        assert {x.execution_id for x in (await store.executions()).executions} == {"run", "quiet"}
        # Its writes (without created_at) take the column's default.
        assert await old.put_writes("run", "o1", [PendingWrite("t", 0, "ch", b"x")])
        assert [w.value for w in (await store.load("run", "o1")).pending_writes] == [b"x"]
        # And the new replica's writes before a checkpoint do not trouble it.
        await store.put_writes("run", "later", [PendingWrite("t", 0, "ch", b"y")])
        assert await old.save(Checkpoint("run", {"old": 2}, checkpoint_id="later")) == ("s", 2)
        assert [w.value for w in (await store.load("run", "later")).pending_writes] == [b"y"]
        loaded = await store.load("run", "later")
        assert json.loads(loaded.state_bytes) == {"old": 2}
    finally:
        await store.close()
