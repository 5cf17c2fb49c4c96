"""Batched saves on PostgreSQL: ``save_many`` in one statement, and coalesced single saves.

A batch must be one round trip and one transaction, yet answer every item exactly as a
single save would have, in order. The memory backend runs the generic item-by-item
``_save_many``, so it is the reference the answers are compared with.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from checkpoint_client import (
    Channel,
    Checkpoint,
    CheckpointError,
    Conflict,
    InvalidArgument,
    PendingWrite,
    Unavailable,
)
from checkpoint_gateway.backends import Backend, Retention, open_backend
from checkpoint_gateway.backends.postgres import PostgresSettings, PostgresStore, migrate
from checkpoint_gateway.backends.postgres import schema as pg
from tests.clock import FakeClock
from tests.harness.postgres import drop_schema, new_schema
from tests.postgres_stores import OpenStore, table


def transactions(conn: psycopg.Connection[Any], store: PostgresStore) -> int:
    """How many transactions inserted the rows now in the store (distinct ``xmin``)."""
    query = sql.SQL("SELECT count(DISTINCT xmin::text) FROM {}").format(table(store, "checkpoints"))
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def outcome(result: Checkpoint | CheckpointError) -> tuple[Any, ...]:
    """What a save answered (or a load returned), comparable across backends."""
    if isinstance(result, CheckpointError):
        return (type(result).__name__, str(result))
    return (
        result.checkpoint_id,
        result.version,
        result.state_bytes,
        result.metadata_json(),
        # A reference's content type is whatever the save sent with it: not compared.
        sorted(
            (n, c.version, c.value_bytes, c.content_type if c.has_value else "")
            for n, c in result.channels.items()
        ),
        [(w.task_id, w.idx, w.value_bytes) for w in result.pending_writes],
    )


async def same_as_item_by_item(
    store: PostgresStore,
    reference: Backend,
    checkpoints: Sequence[Checkpoint],
    expected: Sequence[int | None] | None = None,
) -> list[Checkpoint | CheckpointError]:
    """Run the batch on both stores; the answers must be the same, item by item."""
    got = await store.save_many(checkpoints, expected_versions=expected)
    want = await reference.save_many(checkpoints, expected_versions=expected)
    assert [outcome(r) for r in got] == [outcome(r) for r in want]
    return got


# -- one round trip, one transaction --------------------------------------------------------


async def test_a_batch_is_one_statement_and_one_transaction(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any], statements: list[object]
) -> None:
    # No connection check, so the batch's own statements are all there is to count.
    store = await open_store(config={"check": False, "coalesce_saves": False})
    statements.clear()
    batch = [Checkpoint(f"run-{i % 7}", {"i": i}, namespace=str(i % 2)) for i in range(60)]
    results = await store.save_many(batch)
    assert all(isinstance(r, Checkpoint) for r in results)
    assert len(statements) == 1
    assert transactions(sync_conn, store) == 1
    # A single save with coalescing off is a batch of one: one statement too.
    statements.clear()
    await store.save(Checkpoint("run-0", {"i": 60}))
    assert len(statements) == 1


async def test_a_batch_with_channels_ttl_and_retention_is_still_one_statement(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any], statements: list[object]
) -> None:
    # Everything a save does now (expiry, channel checks and values, retention with the
    # orphan rule and value collection, the executions index) happens inside the one
    # statement: every row the batch wrote carries the batch's transaction id.
    clock = FakeClock()
    retention = Retention(max_checkpoints=3, ttl_seconds=60)
    config = {"check": False, "coalesce_saves": False}
    store = await open_store(config=config, retention=retention, clock=clock)
    await store.save_many(
        [Checkpoint(f"run-{i}", {}, channels={"m": Channel("0", 0)}) for i in range(4)]
    )
    await store.put_writes("run-0", "orphan", [PendingWrite("t", 0, "c", b"")])
    clock.advance(61)
    statements.clear()
    batch = [
        Checkpoint(
            f"run-{i % 4}",
            {"i": i},
            channels={"m": Channel(str(i), i), "n": Channel("1", "same")},
        )
        for i in range(1, 25)
    ]
    results = await store.save_many(batch)
    assert all(isinstance(r, Checkpoint) for r in results), results
    assert len(statements) == 1
    xids = set()
    for name in ("checkpoints", "blobs", "executions"):
        rows = sync_conn.execute(
            sql.SQL("SELECT DISTINCT xmin::text FROM {}").format(table(store, name))
        ).fetchall()
        xids |= {r[0] for r in rows}
    assert len(xids) == 1
    # Retention kept three per lineage, and their values only; the TTL took the rest.
    for k in range(4):
        newest = 24 if k == 0 else 20 + k
        listed = (await store.list(f"run-{k}")).checkpoints
        assert [c.channels["m"].value for c in listed] == [newest, newest - 4, newest - 8]
    blobs = sync_conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(table(store, "blobs"))
    ).fetchone()
    assert blobs == (4 * 3 + 4,)  # m of each remaining checkpoint, n once per lineage
    writes = sync_conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(table(store, "writes"))
    ).fetchone()
    assert writes == (0,)


async def test_concurrent_single_saves_are_coalesced_into_one_batch(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any], statements: list[object]
) -> None:
    store = await open_store(config={"check": False})
    coalescer = store._coalescer
    assert coalescer is not None
    statements.clear()
    saved = await asyncio.gather(*(store.save(Checkpoint("run", {"i": i})) for i in range(50)))
    assert (coalescer.batches, coalescer.items) == (1, 50)
    assert len(statements) == 1
    assert transactions(sync_conn, store) == 1
    # Arrival order is version order, and each caller got its own checkpoint.
    assert [cp.version for cp in saved] == list(range(1, 51))
    assert [cp.state for cp in saved] == [{"i": i} for i in range(50)]
    latest = await store.latest("run")
    assert (latest.version, latest.state) == (50, {"i": 49})


async def test_full_batches_flush_at_once_and_the_rest_at_the_end_of_the_iteration(
    open_store: OpenStore,
) -> None:
    store = await open_store(config={"max_batch": 10})
    coalescer = store._coalescer
    assert coalescer is not None
    saved = await asyncio.gather(
        *(store.save(Checkpoint(f"run-{i % 3}", {"i": i})) for i in range(35))
    )
    assert (coalescer.batches, coalescer.items) == (4, 35)
    for lineage in range(3):
        mine = [cp for cp in saved if cp.execution_id == f"run-{lineage}"]
        assert sorted(cp.version for cp in mine) == list(range(1, len(mine) + 1))


async def test_coalescing_can_be_turned_off(open_store: OpenStore) -> None:
    store = await open_store(config={"coalesce_saves": False})
    assert store._coalescer is None
    saved = await asyncio.gather(*(store.save(Checkpoint("run", {"i": i})) for i in range(10)))
    assert sorted(cp.version for cp in saved) == list(range(1, 11))


async def test_close_finishes_the_saves_already_submitted(open_store: OpenStore) -> None:
    store = await open_store()
    # gather starts the saves before close, so they are queued when close runs.
    *saved, _ = await asyncio.gather(
        *(store.save(Checkpoint("run", {"i": i})) for i in range(5)), store.close()
    )
    assert [cp.version for cp in saved] == [1, 2, 3, 4, 5]
    with pytest.raises(Unavailable, match="closed"):
        await store.save(Checkpoint("run", {"i": 5}))


# -- the answers equal single saves, item by item ----------------------------------------------


async def test_items_of_one_lineage_get_consecutive_versions_in_order(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    reference = await open_backend("memory://")
    nexts: list[tuple[str, ...]] = [(), ("a",), ("b", "c", "d"), (), ("e",), ("f", "g")]
    batch = [
        Checkpoint(
            "run" if i % 3 else "other",
            {"i": i},
            namespace="" if i % 2 else "sub",
            checkpoint_id=f"c{i}",
            parent_id=f"c{i - 1}" if i else "",
            node=f"n{i}",
            next_nodes=nexts[i % len(nexts)],
            metadata={"step": i, "big": 1e20, "nested": {"x": [i]}, "nul": "a\x00b"},
        )
        for i in range(18)
    ]
    results = await same_as_item_by_item(store, reference, batch)
    for lineage in {(cp.execution_id, cp.namespace) for cp in batch}:
        mine = [r for r in results if isinstance(r, Checkpoint) and r.execution_id == lineage[0]]
        mine = [r for r in mine if r.namespace == lineage[1]]
        # The order of the batch, with consecutive versions.
        assert [r.version for r in mine] == list(range(1, len(mine) + 1))
        assert [r.checkpoint_id for r in mine] == sorted(
            (r.checkpoint_id for r in mine), key=lambda c: int(c[1:])
        )
    for sent, result in zip(batch, results, strict=True):
        assert isinstance(result, Checkpoint)
        loaded = await store.load(sent.execution_id, sent.checkpoint_id, namespace=sent.namespace)
        assert loaded.same_content(sent)
        assert loaded.next_nodes == sent.next_nodes
        assert loaded.metadata_json() == sent.metadata_json()
        assert (loaded.version, loaded.created_at) == (result.version, result.created_at)
    # The JSONB column filters as it does for single saves.
    page = await store.list("run", namespace="sub", metadata_filter={"step": 4, "nul": "a\x00b"})
    assert [c.checkpoint_id for c in page.checkpoints] == ["c4"]


async def test_a_mixed_batch_answers_each_item_on_its_own(open_store: OpenStore) -> None:
    store = await open_store()
    reference = await open_backend("memory://")
    for target in (store, reference):
        await target.save(Checkpoint("run", {"i": 0}, checkpoint_id="dup"))
    batch = [
        Checkpoint("run", {"i": 0}, checkpoint_id="dup"),  # a retry: the stored one
        Checkpoint("run", {"i": 9}, checkpoint_id="dup"),  # other content: Conflict
        Checkpoint("run", {"i": 1}, checkpoint_id="c1"),  # CAS on 1: version 2
        Checkpoint("run", {"i": 2}, checkpoint_id="c2"),  # CAS on 1 again: lost
        Checkpoint("run", {"i": 3}, checkpoint_id="c3"),  # CAS on 2 (the batch's own)
        Checkpoint("run", {"i": 3}, checkpoint_id="c3"),  # a retry of the item before
        Checkpoint("run", {"i": 4}, checkpoint_id="c3"),  # ... with other content
        Checkpoint("other", {}, checkpoint_id="o"),  # CAS on an empty lineage
        Checkpoint("", {}, checkpoint_id="bad"),  # invalid: never reaches SQL
        Checkpoint("run", {"i": 5}, checkpoint_id="c2"),  # the lost id, without CAS
    ]
    expected = [None, None, 1, 1, 2, None, None, 0, None, None]
    results = await same_as_item_by_item(store, reference, batch, expected)
    kinds = [type(r).__name__ if isinstance(r, CheckpointError) else r.version for r in results]
    assert kinds == [1, "Conflict", 2, "Conflict", 3, 3, "Conflict", 1, "InvalidArgument", 4]
    assert "already exists with different content" in str(results[1])
    assert "expected version 1" in str(results[3])
    assert "the latest is 2" in str(results[3])
    assert isinstance(results[8], InvalidArgument)
    page = await store.list("run")
    assert [(c.checkpoint_id, c.version) for c in page.checkpoints] == [
        ("c2", 4),
        ("c3", 3),
        ("c1", 2),
        ("dup", 1),
    ]
    assert (await store.load("run", "c2")).state == {"i": 5}


async def test_coalesced_callers_get_their_own_errors(open_store: OpenStore) -> None:
    store = await open_store()
    await store.save(Checkpoint("run", {"i": 0}, checkpoint_id="a"))
    coalescer = store._coalescer
    assert coalescer is not None
    batches = coalescer.batches
    results = await asyncio.gather(
        store.save(Checkpoint("run", {"i": 1}, checkpoint_id="b"), expected_version=1),
        store.save(Checkpoint("run", {"i": 9}, checkpoint_id="a")),
        store.save(Checkpoint("run", {"i": 2}, checkpoint_id="c"), expected_version=1),
        store.save(Checkpoint("run", {"i": 3}, checkpoint_id="d"), expected_version=2),
        return_exceptions=True,
    )
    assert coalescer.batches == batches + 1
    b, a, c, d = results
    assert isinstance(b, Checkpoint)
    assert b.version == 2
    assert isinstance(a, Conflict)
    assert "different content" in str(a)
    assert isinstance(c, Conflict)
    assert "the latest is 2" in str(c)
    assert isinstance(d, Checkpoint)
    assert d.version == 3


async def test_ttl_and_max_checkpoints_within_a_batch(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    clock = FakeClock()
    retention = Retention(max_checkpoints=3, ttl_seconds=60)
    store = await open_store(retention=retention, clock=clock)
    reference = await open_backend("memory://", retention=retention, clock=clock)
    for target in (store, reference):
        await target.save(Checkpoint("run", {"i": 0}, checkpoint_id="old"))
        await target.save(Checkpoint("keep", {"i": 0}, checkpoint_id="k0"))
    clock.advance(30)
    for target in (store, reference):
        await target.save(Checkpoint("keep", {"i": 1}, checkpoint_id="k1"))
    await store.put_writes("keep", "k0", [PendingWrite("t", 0, "c", b"x")])
    clock.advance(31)  # "old" and "k0" are expired, "k1" is not
    batch = [
        Checkpoint("run", {"i": 1}, checkpoint_id="old"),  # an expired id: saved anew
        *(Checkpoint("run", {"i": i}, checkpoint_id=f"r{i}") for i in range(2, 7)),
        Checkpoint("keep", {"i": 2}, checkpoint_id="k2"),
        Checkpoint("keep", {"i": 3}, checkpoint_id="k3"),
        Checkpoint("keep", {"i": 4}, checkpoint_id="k4"),
    ]
    expected: list[int | None] = [0, None, None, None, None, None, 2, None, None]
    results = await same_as_item_by_item(store, reference, batch, expected)
    # The expired lineage started again at 1, and only the newest three of each remain.
    assert [r.version for r in results if isinstance(r, Checkpoint)] == [1, 2, 3, 4, 5, 6, 3, 4, 5]
    assert [c.checkpoint_id for c in (await store.list("run")).checkpoints] == ["r6", "r5", "r4"]
    assert [c.checkpoint_id for c in (await store.list("keep")).checkpoints] == ["k4", "k3", "k2"]
    # Gone from the table (expired and pruned rows, and their writes), not only hidden.
    rows = sync_conn.execute(
        sql.SQL("SELECT checkpoint_id FROM {} ORDER BY 1").format(table(store, "checkpoints"))
    ).fetchall()
    assert [r[0] for r in rows] == ["k2", "k3", "k4", "r4", "r5", "r6"]
    writes = sync_conn.execute(
        sql.SQL("SELECT count(*) FROM {}").format(table(store, "writes"))
    ).fetchone()
    assert writes == (0,)


# -- locks, concurrency, failures -----------------------------------------------------------------


async def test_concurrent_batches_over_overlapping_lineages_do_not_deadlock(
    open_store: OpenStore,
) -> None:
    # Eight connections open from the start, so the batches really run at once.
    store = await open_store(config={"min_size": 8, "max_size": 8, "coalesce_saves": False})
    lineages = [(f"run-{i}", "" if i % 2 else "ns") for i in range(10)]

    def batch(k: int) -> list[Checkpoint]:
        order = lineages if k % 2 else lineages[::-1]
        return [
            Checkpoint(eid, {"k": k, "j": j}, namespace=ns) for j in range(3) for eid, ns in order
        ]

    results = await asyncio.gather(*(store.save_many(batch(k)) for k in range(8)))
    for got in results:
        assert all(isinstance(r, Checkpoint) for r in got), got
    for eid, ns in lineages:
        page = await store.list(eid, namespace=ns, limit=100)
        assert [c.version for c in page.checkpoints] == list(range(24, 0, -1))
        # Each batch's three items of the lineage got consecutive versions, in order.
        by_batch: dict[int, list[tuple[int, int]]] = {}
        for c in reversed(page.checkpoints):
            by_batch.setdefault(c.state["k"], []).append((c.version, c.state["j"]))
        for items in by_batch.values():
            first = items[0][0]
            assert items == [(first, 0), (first + 1, 1), (first + 2, 2)]


def advisory_key(classid: int, objid: int) -> int:
    """The bigint key of an advisory lock, from its pg_locks row."""
    key = (classid << 32) | objid
    return key - (1 << 64) if key >= 1 << 63 else key


async def test_a_batch_takes_the_lineage_locks_of_single_saves(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    # The same keys as a single save (and as older replicas, whose saves take one of
    # them), so every writer of a lineage serializes with batches. A trigger records the
    # advisory locks the saving transaction holds.
    store = await open_store(config={"coalesce_saves": False})
    schema = sql.Identifier(store.settings.schema)
    sync_conn.execute(sql.SQL("CREATE TABLE {}.seen (classid oid, objid oid)").format(schema))
    sync_conn.execute(
        sql.SQL(
            "CREATE FUNCTION {schema}.record_locks() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN INSERT INTO {schema}.seen SELECT classid, objid FROM pg_locks "
            "WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted; "
            "RETURN NEW; END $$"
        ).format(schema=schema)
    )
    sync_conn.execute(
        sql.SQL(
            "CREATE TRIGGER record_locks BEFORE INSERT ON {} "
            "FOR EACH ROW EXECUTE FUNCTION {}.record_locks()"
        ).format(table(store, "checkpoints"), schema)
    )
    lineages = [("run", ""), ("run", "child"), ("other", ""), ("run", "")]
    await store.save_many([Checkpoint(eid, {}, namespace=ns) for eid, ns in lineages])
    rows = sync_conn.execute(
        sql.SQL("SELECT DISTINCT classid, objid FROM {}.seen").format(schema)
    ).fetchall()
    wanted = {pg.lock_key(store.settings.schema, "checkpoint_", e, n) for e, n in lineages}
    assert {advisory_key(int(c), int(o)) for c, o in rows} == wanted


async def test_a_failed_batch_is_raised_to_every_caller_and_stores_nothing(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store()
    schema = sql.Identifier(store.settings.schema)
    # A serialization failure on one row fails the statement, so the whole batch.
    sync_conn.execute(
        sql.SQL(
            "CREATE FUNCTION {}.poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.checkpoint_id = 'poison' THEN "
            "RAISE EXCEPTION 'poisoned' USING ERRCODE = 'serialization_failure'; END IF; "
            "RETURN NEW; END $$"
        ).format(schema)
    )
    sync_conn.execute(
        sql.SQL(
            "CREATE TRIGGER poison BEFORE INSERT ON {} FOR EACH ROW EXECUTE FUNCTION {}.poison()"
        ).format(table(store, "checkpoints"), schema)
    )
    batch = [
        Checkpoint("run", {"i": 0}, checkpoint_id="a"),
        Checkpoint("run", {"i": 1}, checkpoint_id="poison"),
        Checkpoint("run", {"i": 2}, checkpoint_id="b"),
    ]
    with pytest.raises(Unavailable, match="safe to retry"):
        await store.save_many(batch)
    results = await asyncio.gather(*(store.save(cp) for cp in batch), return_exceptions=True)
    assert all(isinstance(r, Unavailable) for r in results), results
    assert (await store.list("run")).checkpoints == []
    # The callers retry once the cause is gone.
    sync_conn.execute(sql.SQL("DROP TRIGGER poison ON {}").format(table(store, "checkpoints")))
    retried = await store.save_many(batch)
    assert [r.version for r in retried if isinstance(r, Checkpoint)] == [1, 2, 3]


async def test_batches_on_a_pool_not_in_autocommit_mode_commit(
    postgres_url: str, sync_conn: psycopg.Connection[Any]
) -> None:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        postgres_url, open=False, min_size=1, max_size=2
    )
    await pool.open(wait=True)
    store = PostgresStore(pool, settings=PostgresSettings(schema=new_schema()))
    try:
        await store.setup()
        await store.save_many([Checkpoint("run", {"i": i}) for i in range(3)])
        await asyncio.gather(*(store.save(Checkpoint("run", {"i": i})) for i in range(3, 6)))
        # Seen by another session: committed.
        count = sync_conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(table(store, "checkpoints"))
        ).fetchone()
        assert count == (6,)
    finally:
        await store.close()
        await asyncio.to_thread(drop_schema, postgres_url, store.settings.schema)


# -- the function's migration ---------------------------------------------------------------------


async def test_a_store_of_the_first_schema_version_is_upgraded(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = new_schema()
    try:
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            # A database an older gateway set up: only the first migration applied.
            with monkeypatch.context() as patch:
                patch.setattr(pg, "MIGRATIONS", pg.MIGRATIONS[:1])
                assert await migrate(conn, schema, "checkpoint_") == [1]
            assert await migrate(conn, schema, "checkpoint_") == list(
                range(2, len(pg.MIGRATIONS) + 1)
            )
            assert await migrate(conn, schema, "checkpoint_") == []
        store = await PostgresStore.open(postgres_url, settings=PostgresSettings(schema=schema))
        try:
            results = await store.save_many([Checkpoint("run", {"i": i}) for i in range(3)])
            assert [r.version for r in results if isinstance(r, Checkpoint)] == [1, 2, 3]
        finally:
            await store.close()
    finally:
        await asyncio.to_thread(drop_schema, postgres_url, schema)


async def test_stores_sharing_a_schema_have_functions_of_their_own(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    first = await open_store()
    second = await open_store(schema=first.settings.schema, config={"table_prefix": "b_"})
    await first.save_many([Checkpoint("run", {"store": 1})])
    await second.save_many([Checkpoint("run", {"store": 2}), Checkpoint("run", {"store": 2})])
    assert (await first.latest("run")).version == 1
    assert (await second.latest("run")).version == 2
    functions = sync_conn.execute(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s ORDER BY 1",
        [first.settings.schema],
    ).fetchall()
    assert [f[0] for f in functions] == [
        "b_collect_blobs",
        "b_save_batch",
        "b_save_many",
        "checkpoint_collect_blobs",
        "checkpoint_save_batch",
        "checkpoint_save_many",
    ]


@pytest.mark.parametrize(
    ("seed", "retention"),
    [
        (1, Retention()),
        (2, Retention(max_checkpoints=1)),
        (3, Retention(max_checkpoints=2)),
        (4, Retention(max_checkpoints=3, ttl_seconds=50)),
        (5, Retention(ttl_seconds=30)),
    ],
)
async def test_random_batches_answer_as_single_saves_do(
    open_store: OpenStore, seed: int, retention: Retention
) -> None:
    # Batches drawn from few lineages, ids and contents, so that retries, conflicts,
    # lost compare-and-sets, ids pruned or expired and saved again all occur, mixed
    # with deletes (gaps in the versions); the memory backend saves item by item.
    rng = random.Random(seed)
    clock = FakeClock()
    store = await open_store(retention=retention, clock=clock)
    reference = await open_backend("memory://", retention=retention, clock=clock)
    lineages = [("run", ""), ("run", "sub"), ("other", "")]
    for _ in range(40):
        batch: list[Checkpoint] = []
        expected: list[int | None] = []
        for _ in range(rng.randint(1, 12)):
            eid, ns = rng.choice(lineages)
            batch.append(
                Checkpoint(
                    eid,
                    {"v": rng.randint(0, 1)},
                    namespace=ns,
                    checkpoint_id=f"c{rng.randint(0, 5)}",
                    next_nodes=tuple("abc"[: rng.randint(0, 3)]),
                )
            )
            expected.append(rng.choice([None, None, None, *range(6)]))
        await same_as_item_by_item(store, reference, batch, expected)
        if rng.random() < 0.3:
            eid, ns = rng.choice(lineages)
            gone = f"c{rng.randint(0, 5)}"
            assert await store.delete(eid, gone, namespace=ns) == await reference.delete(
                eid, gone, namespace=ns
            )
        clock.advance(rng.choice([0, 5, 20]))
        for eid, ns in lineages:
            got = await store.list(eid, namespace=ns, limit=100)
            want = await reference.list(eid, namespace=ns, limit=100)
            assert [outcome(c) for c in got.checkpoints] == [outcome(c) for c in want.checkpoints]


@pytest.mark.parametrize(
    ("seed", "retention"),
    [
        (11, Retention()),
        (12, Retention(max_checkpoints=1)),
        (13, Retention(max_checkpoints=2)),
        (14, Retention(max_checkpoints=3)),
        (15, Retention(max_checkpoints=2, ttl_seconds=50)),
        (16, Retention(ttl_seconds=30)),
    ],
)
async def test_random_batches_with_channels_and_writes_answer_as_single_saves_do(
    open_store: OpenStore, seed: int, retention: Retention
) -> None:
    # As above, with channels (values and references to few versions, so that values
    # are missing, repeated, conflicting, collected by retention within a batch and
    # stored again) and pending writes made before, between and after saves (so that
    # the orphan rules apply within batches). Prunes, deletes and the executions index
    # are compared too.
    rng = random.Random(seed)
    clock = FakeClock()
    store = await open_store(retention=retention, clock=clock)
    reference = await open_backend("memory://", retention=retention, clock=clock)
    lineages = [("run", ""), ("run", "sub"), ("other", "")]

    def channels() -> dict[str, Channel]:
        out = {}
        for name in rng.sample(["a", "b", "c"], rng.randint(0, 3)):
            version = str(rng.randint(1, 3))
            if rng.random() < 0.5:
                out[name] = Channel(version, rng.choice(["x", "y"]))
            else:
                out[name] = Channel(version)
        return out

    for _ in range(60):
        for _ in range(rng.randint(0, 2)):
            eid, ns = rng.choice(lineages)
            writes = [PendingWrite("t", rng.choice([-1, 0, 1]), "ch", bytes([rng.randint(0, 9)]))]
            cid = f"c{rng.randint(0, 7)}"
            for target in (store, reference):
                await target.put_writes(eid, cid, writes, namespace=ns)
            clock.advance(rng.choice([0, 1]))
        batch: list[Checkpoint] = []
        expected: list[int | None] = []
        for _ in range(rng.randint(1, 8)):
            eid, ns = rng.choice(lineages)
            batch.append(
                Checkpoint(
                    eid,
                    {"v": rng.randint(0, 1)},
                    namespace=ns,
                    checkpoint_id=f"c{rng.randint(0, 7)}",
                    channels=channels(),
                )
            )
            expected.append(rng.choice([None, None, None, None, *range(6)]))
        await same_as_item_by_item(store, reference, batch, expected)
        roll = rng.random()
        if roll < 0.15:
            eid, ns = rng.choice(lineages)
            gone = f"c{rng.randint(0, 7)}"
            assert await store.delete(eid, gone, namespace=ns) == await reference.delete(
                eid, gone, namespace=ns
            )
        elif roll < 0.25:
            eid = rng.choice(["run", "other"])
            assert await store.prune([eid]) == await reference.prune([eid])
        clock.advance(rng.choice([0, 1, 5, 20]))
        for eid, ns in lineages:
            got = await store.list(eid, namespace=ns, limit=100, with_writes=True)
            want = await reference.list(eid, namespace=ns, limit=100, with_writes=True)
            assert [outcome(c) for c in got.checkpoints] == [outcome(c) for c in want.checkpoints]
        assert (await store.executions()).executions == (await reference.executions()).executions


async def test_a_batch_of_new_ids_does_not_walk_a_long_lineage_once_per_item(
    open_store: OpenStore,
) -> None:
    """A table that grew from empty faster than autovacuum analyzes it has statistics that
    say each lineage holds about one row; planned with them, a lookup by id walks the
    lineage in the version index. The batch looks its ids up once per lineage, not once
    per item: 100 new ids into a lineage of 3,000 rows read a few thousand index entries
    at most, where one lookup per item read about 300,000."""
    store = await open_store(config={"min_size": 1, "max_size": 1})
    for _ in range(30):
        await store.save_many([Checkpoint("long", {"n": i}) for i in range(100)])

    index = f"{store.settings.table_prefix}checkpoints_version"

    async def version_index_reads() -> int:
        async with store._pool.connection() as conn:  # the pool's only connection
            await conn.execute("SELECT pg_stat_force_next_flush()")
        async with store._pool.connection() as conn:
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            cur = await conn.execute(
                "SELECT idx_tup_read FROM pg_stat_user_indexes "
                "WHERE schemaname = %s AND indexrelname = %s",
                [store.settings.schema, index],
            )
            row = await cur.fetchone()
            assert row is not None
            return int(row[0])

    before = await version_index_reads()
    await store.save_many([Checkpoint("long", {"n": i}) for i in range(100)])
    read = await version_index_reads() - before
    assert read < 30_000, f"{read} version-index entries read for one batch"
    assert (await store.latest("long")).version == 3100


async def test_each_step_of_the_parent_chain_reads_the_version_index_down_from_the_child(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned with statistics that said a lineage holds one row, a recursive join on the
    parent's id alone scanned the lineage at every step: in bench.runtimes a 500-step
    Ancestors read ~125,000 index entries and took 222 ms. Each step now looks below the
    child's version, newest first (a parent is saved before its child), so whatever the
    statistics, a step reads about one entry: the plan must bound the version."""
    store = await open_store()
    parent = ""
    for i in range(20):
        parent = (await store.save(Checkpoint("chain", {"n": i}, parent_id=parent))).checkpoint_id
    plans: list[Any] = []
    original = psycopg.AsyncConnection.execute

    async def explaining(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        if isinstance(params, dict) and "start" in params:
            cur = await original(self, sql.SQL("EXPLAIN (FORMAT JSON) ") + query, params)
            plans.append((await cur.fetchone())[0])
        return await original(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "execute", explaining)
    page = await store.ancestors("chain", parent, limit=1000, channels=["messages"])
    assert len(page.checkpoints) == 19
    (plan,) = plans

    def conditions(node: dict[str, Any]) -> list[str]:
        found = [node["Index Cond"]] if "Index Cond" in node else []
        for child in node.get("Plans", []):
            found += conditions(child)
        return found

    steps = [c for c in conditions(plan[0]["Plan"]) if "version <" in c]
    assert steps, conditions(plan[0]["Plan"])
