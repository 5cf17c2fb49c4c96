"""What only the PostgreSQL backend has: a pool, migrations, SQL plans, server errors.

The contract suites (tests/contract) already run against ``postgresql``; these tests use
the same throwaway server (``postgres_url``) and give every store a schema of its own.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from checkpoint_client import (
    Channel,
    Checkpoint,
    CheckpointPage,
    NotFound,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)
from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends._base import to_us
from checkpoint_gateway.backends.postgres import (
    MIGRATIONS,
    PostgresSettings,
    PostgresStore,
    migrate,
)
from checkpoint_gateway.backends.postgres import schema as pg
from checkpoint_gateway.validation import Limits, MiB
from tests.harness.postgres import drop_schema, free_port, new_schema
from tests.postgres_stores import OpenStore, table


def migration_rows(conn: psycopg.Connection[Any], schema: str) -> list[int]:
    query = sql.SQL("SELECT version FROM {} ORDER BY version").format(
        sql.Identifier(schema, "checkpoint_migrations")
    )
    return [row[0] for row in conn.execute(query).fetchall()]


# -- the SQL the metadata filter relies on ------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "wanted", "expected"),
    [
        ('{"a": 1.0}', '{"a": 1}', True),
        ('{"a": 1}', '{"a": 1.0}', True),
        ('{"a": 2.50}', '{"a": 2.5}', True),
        ('{"a": true}', '{"a": 1}', False),
        ('{"a": 1}', '{"a": true}', False),
        ('{"a": 1}', '{"a": "1"}', False),
        ('{"a": null}', '{"a": null}', True),
        ("{}", '{"a": null}', False),
        ('{"a": "x"}', '{"a": null}', False),
    ],
)
def test_jsonb_containment_compares_like_json(
    sync_conn: psycopg.Connection[Any], stored: str, wanted: str, expected: bool
) -> None:
    row = sync_conn.execute("SELECT %s::jsonb @> %s::jsonb", [stored, wanted]).fetchone()
    assert row == (expected,)


async def test_metadata_reads_back_exactly_and_filters_by_json_equality(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    meta = {"big": 1e20, "one": 1.0, "nul": "a\x00b", "nested": {"x": [1, None]}}
    saved = await store.save(Checkpoint("run", {"i": 0}, checkpoint_id="a", metadata=meta))
    loaded = await store.load("run", "a")
    assert loaded.metadata_json() == saved.metadata_json()
    assert isinstance(loaded.metadata["big"], float)
    # A retry with the same content is a no-op, not a conflict (JSONB would turn 1e20
    # into an integer and break this).
    again = await store.save(Checkpoint("run", {"i": 0}, checkpoint_id="a", metadata=meta))
    assert again.version == saved.version
    # U+0000 is replaced in the JSONB column; results are re-checked, so only the real
    # match comes back, even when the collisions fill whole SQL pages.
    for i in range(5):
        await store.save(Checkpoint("run", {"i": i + 1}, metadata={"nul": "a\ufffdb"}))
    page = await store.list("run", limit=2, metadata_filter={"nul": "a\x00b"})
    assert [c.checkpoint_id for c in page.checkpoints] == ["a"]
    assert page.next_page_token is None
    # The same across namespaces and executions, and for delete_where.
    page = await store.list("run", limit=2, all_namespaces=True, metadata_filter={"nul": "a\x00b"})
    assert [c.checkpoint_id for c in page.checkpoints] == ["a"]
    assert page.next_page_token is None
    page = await store.search({"nul": "a\x00b"}, limit=2)
    assert [c.checkpoint_id for c in page.checkpoints] == ["a"]
    assert page.next_page_token is None
    assert len((await store.list("run", metadata_filter={"nul": "a\ufffdb"})).checkpoints) == 5
    assert [
        c.checkpoint_id for c in (await store.list("run", metadata_filter={"one": 1})).checkpoints
    ] == ["a"]
    assert await store.delete_where({"nul": "a\x00b"}) == 1
    assert len((await store.list("run", metadata_filter={"nul": "a\ufffdb"})).checkpoints) == 5


# -- the pool ---------------------------------------------------------------------------------


async def test_pool_exhaustion_fails_fast_and_recovers(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store(config={"min_size": 2, "max_size": 2, "timeout": 0.5})
    await store.save(Checkpoint("run", {"i": 0}))
    # Another session locks the table, so the two calls that get a connection block
    # inside PostgreSQL, holding both connections of the pool.
    locker = psycopg.connect(sync_conn.info.dsn, autocommit=False)
    try:
        locker.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table(store, "checkpoints"))
        )
        started = time.monotonic()
        calls = [asyncio.create_task(store.latest("run")) for _ in range(20)]
        deadline = time.monotonic() + 20
        while sum(c.done() for c in calls) < 18:
            assert time.monotonic() < deadline, "callers never gave up waiting"
            await asyncio.sleep(0.05)
        waited = time.monotonic() - started
        await asyncio.sleep(0.3)
        assert sum(not c.done() for c in calls) == 2  # the two holding the connections
        failed = [c.exception() for c in calls if c.done()]
        assert all(isinstance(e, ResourceExhausted) for e in failed), failed
        message = str(failed[0])
        assert "0.5 s" in message
        assert "2 connections" in message
        assert waited >= 0.5  # they queued for the timeout before giving up
    finally:
        locker.rollback()
        locker.close()
    held = await asyncio.wait_for(asyncio.gather(*(c for c in calls if not c.done())), 20)
    assert [cp.version for cp in held] == [1, 1]
    # The pool is whole again.
    results = await asyncio.gather(*(store.save(Checkpoint("run", {"i": i})) for i in range(10)))
    assert sorted(r.version for r in results) == list(range(2, 12))


async def test_pool_timeout_while_the_server_refuses_connections_is_unavailable(
    postgres_url: str, sync_conn: psycopg.Connection[Any]
) -> None:
    # A pool that waits because it cannot connect is an outage (retryable UNAVAILABLE),
    # not a full pool (RESOURCE_EXHAUSTED): callers must see the former while the server
    # is down. A role that loses its LOGIN right stands in for a server that refuses us.
    role = new_schema()
    db = sync_conn.info.dbname
    sync_conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    sync_conn.execute(
        sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(db), sql.Identifier(role)
        )
    )
    url = psycopg.conninfo.make_conninfo(sync_conn.info.dsn, user=role)
    # check_after_idle 0: the connection just used is tested, found dead and replaced.
    settings = PostgresSettings(
        schema=role, min_size=0, max_size=2, timeout=0.5, check_after_idle=0
    )
    store = await PostgresStore.open(url, settings=settings)
    try:
        await store.save(Checkpoint("run", {}))
        sync_conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))
        sync_conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]
        )
        with pytest.raises(Unavailable, match="no connection could be made"):
            await store.latest("run")
    finally:
        sync_conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(role)))
        await store.close()
        await asyncio.to_thread(drop_schema, postgres_url, role)
        sync_conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        sync_conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


async def test_max_waiting_sheds_load_immediately(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store(config={"min_size": 1, "max_size": 1, "timeout": 5, "max_waiting": 1})
    locker = psycopg.connect(sync_conn.info.dsn, autocommit=False)
    try:
        locker.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(table(store, "checkpoints"))
        )
        holder = asyncio.create_task(store.latest("run"))
        await asyncio.sleep(0.3)
        waiter = asyncio.create_task(store.latest("run"))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(ResourceExhausted, match="max_waiting=1"):
            await store.latest("run")
        assert time.monotonic() - started < 2
    finally:
        locker.rollback()
        locker.close()
    for call in (holder, waiter):
        with pytest.raises(NotFound):
            await asyncio.wait_for(call, 20)


@pytest.mark.parametrize("check", [True, False])
async def test_dropped_connection_is_replaced_or_reported(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any], check: bool
) -> None:
    # check_after_idle 0: the connection was used a moment ago, and is tested anyway.
    config = {"min_size": 1, "max_size": 1, "check": check, "check_after_idle": 0}
    store = await open_store(config=config)
    await store.save(Checkpoint("run", {"i": 0}))
    async with store._pool.connection() as conn:
        pid = conn.info.backend_pid
    sync_conn.execute("SELECT pg_terminate_backend(%s)", [pid])
    for _ in range(500):
        if not sync_conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail(f"backend {pid} did not exit")
    if check:
        # Checked at checkout: the dead connection is swapped before the call uses it.
        assert (await store.latest("run")).version == 1
    else:
        with pytest.raises(Unavailable) as info:
            await store.latest("run")
        assert "PostgreSQL at postgresql://postgres@127.0.0.1" in str(info.value)
        # The pool discarded the broken connection; the retry gets a new one.
        assert (await store.latest("run")).version == 1


@pytest.mark.parametrize(("after", "checks"), [(0.0, 6), (3600.0, 0)])
async def test_only_connections_idle_long_enough_are_checked(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch, after: float, checks: int
) -> None:
    from psycopg_pool import AsyncConnectionPool

    made: list[int] = []
    real = AsyncConnectionPool.check_connection

    async def counted(conn: Any) -> None:  # a spy: the real check runs
        made.append(conn.info.backend_pid)
        await real(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", counted)
    config = {"min_size": 1, "max_size": 1, "check_after_idle": after}
    store = await open_store(config=config)
    made.clear()  # whatever opening the store took
    for i in range(6):
        await store.save(Checkpoint("run", {"i": i}))
    # One connection, six checkouts: checked every time at 0 s; at an hour never, for it
    # came back to the pool a moment before each (opening the store used it first).
    assert len(made) == checks
    assert len(set(made)) == min(checks, 1)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (psycopg.errors.SerializationFailure("could not serialize access"), Unavailable),
        (psycopg.errors.DeadlockDetected("deadlock detected"), Unavailable),
        (psycopg.errors.AdminShutdown("terminating connection"), Unavailable),
        (PoolTimeout("couldn't get a connection"), ResourceExhausted),
    ],
)
async def test_driver_errors_become_retryable_client_errors(
    open_store: OpenStore, error: Exception, expected: type[Exception]
) -> None:
    store = await open_store()
    with pytest.raises(expected) as info:
        async with store._connection():
            raise error
    assert info.value.__cause__ is error


async def test_close_is_idempotent_and_later_calls_are_unavailable(
    open_store: OpenStore,
) -> None:
    store = await open_store()
    await store.close()
    await store.close()
    with pytest.raises(Unavailable, match="closed"):
        await store.latest("run")


async def test_prepared_statements_can_be_turned_off(open_store: OpenStore) -> None:
    async def prepared_after_work(threshold: int | None) -> int:
        store = await open_store(
            config={"min_size": 1, "max_size": 1, "prepare_threshold": threshold}
        )
        for i in range(8):
            cp = await store.save(Checkpoint("run", {"i": i}, metadata={"i": i}))
            await store.put_writes("run", cp.checkpoint_id, [PendingWrite("t", 0, "c", b"x")])
            await store.load("run", cp.checkpoint_id)
            await store.list("run", metadata_filter={"i": i})
        async with store._pool.connection() as conn:
            row = await (
                await conn.execute("SELECT count(*) FROM pg_prepared_statements")
            ).fetchone()
        assert row is not None
        return int(row[0])

    # PgBouncer in transaction mode needs this: no server-side prepared statements at all.
    assert await prepared_after_work(None) == 0
    # The same work with preparation on does prepare, so the check above can fail.
    assert await prepared_after_work(0) > 0


async def test_store_on_a_pool_the_caller_built(postgres_url: str) -> None:
    # Connections not in autocommit mode: every write must still commit.
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        postgres_url, open=False, min_size=1, max_size=2
    )
    await pool.open(wait=True)
    settings = PostgresSettings(schema=new_schema(), table_prefix="cp_")
    store = PostgresStore(pool, settings=settings)
    try:
        assert await store.setup() == list(range(1, len(MIGRATIONS) + 1))
        assert await store.setup() == []
        saved = await store.save(Checkpoint("run", {"i": 1}, checkpoint_id="a"))
        await store.put_writes("run", "a", [PendingWrite("t", 0, "c", b"x")])
        assert (await store.load("run", "a")).pending_writes[0].value == b"x"
        assert await store.delete("run", "a") is True
        assert saved.version == 1
    finally:
        await store.close()
        await store.close()
        await asyncio.to_thread(drop_schema, postgres_url, settings.schema)


async def test_two_stores_on_one_lineage_never_share_a_version(open_store: OpenStore) -> None:
    first = await open_store(config={"max_size": 4})
    second = await open_store(schema=first.settings.schema, config={"max_size": 4})
    saves = [
        store.save(Checkpoint("run", {"i": i})) for i in range(30) for store in (first, second)
    ]
    versions = sorted(cp.version for cp in await asyncio.gather(*saves))
    assert versions == list(range(1, 61))


# -- migrations -------------------------------------------------------------------------------


async def test_migrations_run_once(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store()
    every = list(range(1, len(MIGRATIONS) + 1))
    assert migration_rows(sync_conn, store.settings.schema) == every
    assert await store.setup() == []
    again = await open_store(schema=store.settings.schema)
    assert await again.setup() == []
    assert migration_rows(sync_conn, store.settings.schema) == every


async def test_migrations_inside_a_caller_transaction(postgres_url: str) -> None:
    schema = new_schema()
    try:
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            # A transaction is open (not autocommit): migrate runs in a savepoint.
            await conn.execute("SELECT 1")
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
            every = list(range(1, len(MIGRATIONS) + 1))
            assert await migrate(conn, schema, "checkpoint_") == every
            await conn.rollback()
            exists = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
            assert await exists.fetchone() is None  # rolled back with the caller's transaction
            async with conn.transaction():
                assert await migrate(conn, schema, "checkpoint_") == every
                assert await migrate(conn, schema, "checkpoint_") == []
            await conn.commit()
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            assert await migrate(conn, schema, "checkpoint_") == []
    finally:
        await asyncio.to_thread(drop_schema, postgres_url, schema)


MIGRATE_SCRIPT = """
import asyncio, sys, time
from checkpoint_gateway.backends.postgres import PostgresSettings, PostgresStore

async def main() -> None:
    url, schema, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    while time.time() < start:  # both processes open the store at the same moment
        await asyncio.sleep(0.001)
    store = await PostgresStore.open(url, settings=PostgresSettings(schema=schema))
    await store.close()

asyncio.run(main())
"""


async def test_migrations_by_two_processes_at_once(
    postgres_url: str, sync_conn: psycopg.Connection[Any]
) -> None:
    schema = new_schema()
    start = time.time() + 4  # after both interpreters have imported psycopg
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["client", "server"])}
    try:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                MIGRATE_SCRIPT,
                postgres_url,
                schema,
                str(start),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
            for _ in range(2)
        ]
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 60)
        for proc, (_, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err.decode()
        assert migration_rows(sync_conn, schema) == list(range(1, len(MIGRATIONS) + 1))
        tables = sync_conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema]
        ).fetchall()
        assert [t[0] for t in tables] == [
            "checkpoint_blobs",
            "checkpoint_checkpoints",
            "checkpoint_executions",
            "checkpoint_migrations",
            "checkpoint_writes",
        ]
    finally:
        await asyncio.to_thread(drop_schema, postgres_url, schema)


# -- settings and connecting --------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["", "Public", "1abc", "a-b", "a;drop table x", 'a"b', "a b", "é", "a" * 42, "a.b"]
)
@pytest.mark.parametrize("field", ["schema", "table_prefix"])
def test_bad_identifiers_are_rejected(field: str, bad: str) -> None:
    with pytest.raises(ValueError, match=f"{field} .* is not allowed: use 1 to 41 lowercase"):
        PostgresSettings(**{field: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("good", ["a", "_", "public", "cp_2", "a" * 41])
def test_good_identifiers_are_accepted(good: str) -> None:
    assert PostgresSettings(schema=good, table_prefix=good).schema == good


async def test_migrate_rejects_bad_identifiers_too(postgres_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
        with pytest.raises(ValueError, match="table_prefix"):
            await migrate(conn, "ok", "x; DROP SCHEMA public")


async def test_longest_prefix_names_fit(open_store: OpenStore) -> None:
    store = await open_store(config={"table_prefix": "p" * 41})
    await store.save(Checkpoint("run", {"i": 1}))
    assert (await store.latest("run")).version == 1


async def test_connect_failure_masks_the_password() -> None:
    secret = "s3cret-Pa55word"
    port = free_port()  # nothing listens there
    url = f"postgresql://agent:{secret}@127.0.0.1:{port}/checkpoints"
    started = time.monotonic()
    with pytest.raises(Unavailable) as info:
        await open_backend(url, settings=PostgresSettings(connect_timeout=2))
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert f"postgresql://agent@127.0.0.1:{port}/checkpoints" in message
    assert secret not in message
    assert secret not in repr(info.value)
    assert secret not in str(info.value.__cause__)


async def test_malformed_url_does_not_echo_the_password() -> None:
    with pytest.raises(ValueError, match="malformed") as info:
        await PostgresStore.open("postgresql://agent:s3cret-Pa55word@[::1/db")
    assert "s3cret" not in str(info.value)
    assert info.value.__cause__ is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_size", 0),
        ("min_size", -1),
        ("timeout", 0),
        ("connect_timeout", 0.5),
        ("max_batch", 0),
    ],
)
def test_bad_pool_settings_are_rejected(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        PostgresSettings(**{field: value})  # type: ignore[arg-type]


# -- big states ---------------------------------------------------------------------------------


async def test_8_mib_state_round_trips_byte_for_byte(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store(limits=Limits(max_state_bytes=16 * MiB))
    blob = os.urandom(8 * MiB)
    saved = await store.save(
        Checkpoint("run", blob, checkpoint_id="big", content_type="application/msgpack")
    )
    loaded = await store.load("run", "big")
    assert loaded.state_bytes == blob
    assert loaded.content_type == "application/msgpack"
    assert (await store.latest("run")).state_bytes == blob
    assert (await store.list("run")).checkpoints[0].state_bytes == blob
    assert (await store.save(loaded.replace(version=0, created_at=None))).version == saved.version
    size = sync_conn.execute(
        sql.SQL("SELECT octet_length(state) FROM {}").format(table(store, "checkpoints"))
    ).fetchone()
    assert size == (8 * MiB,)


# -- plans --------------------------------------------------------------------------------------


def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


async def explain(store: PostgresStore, query: sql.Composable, params: Any) -> dict[str, Any]:
    async with store._pool.connection() as conn:
        row = await (
            await conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + query, params)
        ).fetchone()
    assert row is not None
    plan: dict[str, Any] = row[0][0]["Plan"]
    return plan


async def page_scan(
    store: PostgresStore, kind: str, params: dict[str, Any], metadata_filter: dict[str, Any]
) -> dict[str, Any]:
    """The node under the LIMIT of a page's keyset scan (what reads the checkpoints
    table to choose the page), after checking that nothing scans a table sequentially."""
    query, full = store.page_query(kind, params, metadata_filter, with_writes=True)
    plan = await explain(store, query, full)
    nodes = list(plan_nodes(plan))
    assert "Seq Scan" not in [n["Node Type"] for n in nodes], nodes
    limits = [n for n in nodes if n["Node Type"] == "Limit" and n["Plans"][0].get("Node Type")]
    table = store.settings.table_prefix + "checkpoints"
    for limit in limits:
        below = list(plan_nodes(limit["Plans"][0]))
        if any(n.get("Relation Name") == table for n in below):
            return limit["Plans"][0]
    raise AssertionError(f"no LIMIT over a scan of {table}: {plan}")


async def test_list_walks_the_version_index(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store()
    checkpoints = table(store, "checkpoints")
    # A few thousand rows: one long lineage and many short ones, inserted in bulk.
    sync_conn.execute(
        sql.SQL(
            "INSERT INTO {} (execution_id, namespace, checkpoint_id, version, parent_id, node, "
            "next_nodes, content_type, state, metadata, metadata_text, created_at) "
            "SELECT %s || (g %% %s), '', 'c' || g, g, '', 'n', ARRAY[]::text[], "
            "'application/json', convert_to(repeat('x', 200), 'UTF8'), "
            "jsonb_build_object('step', g), jsonb_build_object('step', g)::text, now() "
            "FROM generate_series(1, %s) AS g"
        ).format(checkpoints),
        ["other-", 20, 2000],
    )
    sync_conn.execute(
        sql.SQL(
            "INSERT INTO {} (execution_id, namespace, checkpoint_id, version, parent_id, node, "
            "next_nodes, content_type, state, metadata, metadata_text, created_at) "
            "SELECT 'big', '', 'c' || g, g, '', 'n', ARRAY[]::text[], 'application/json', "
            "convert_to(repeat('x', 200), 'UTF8'), jsonb_build_object('step', g), "
            "jsonb_build_object('step', g)::text, now() FROM generate_series(1, %s) AS g"
        ).format(checkpoints),
        [3000],
    )
    sync_conn.execute(sql.SQL("ANALYZE {}").format(checkpoints))
    index = store.settings.table_prefix + "checkpoints_version"
    for below in (None, 1500):
        params = {"eid": "big", "ns": "", "below": below, "limit": 51, "budget": MiB}
        page = await page_scan(store, "lineage", params, {})
        # The page's keyset scan reads the version index backwards, LIMIT on top of it:
        # no sort of the lineage, no sequential scan.
        assert page["Node Type"] == "Index Scan", page
        assert page["Index Name"] == index
        assert page["Scan Direction"] == "Backward"
    # And the listing itself pages through the bulk rows newest first.
    first = await store.list("big", limit=3)
    assert [c.version for c in first.checkpoints] == [3000, 2999, 2998]
    nxt = await store.list("big", limit=3, page_token=first.next_page_token)
    assert [c.version for c in nxt.checkpoints] == [2997, 2996, 2995]


# -- the listings' plans --------------------------------------------------------------------------


def bulk_insert(
    conn: psycopg.Connection[Any], store: PostgresStore, rows: int, executions: int
) -> None:
    """``rows`` checkpoints over ``executions`` executions and three namespaces, a second
    apart, each with its own ``run_id`` in five (so a run matches a handful), and the
    executions index to match; then ANALYZE, as autovacuum would."""
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (execution_id, namespace, checkpoint_id, version, parent_id, node, "
            "next_nodes, content_type, state, metadata, metadata_text, created_at) "
            "SELECT 'e' || (g %% %s), 'ns' || (g %% 3), 'c' || g, g, '', 'n', ARRAY[]::text[], "
            "'application/json', convert_to(repeat('x', 200), 'UTF8'), "
            "jsonb_build_object('run_id', 'r' || (g / 5), 'step', g), "
            "jsonb_build_object('run_id', 'r' || (g / 5), 'step', g)::text, "
            "timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, %s) AS g"
        ).format(table(store, "checkpoints")),
        [executions, rows],
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {} (execution_id, updated_at) "
            "SELECT execution_id, max(created_at) FROM {} GROUP BY execution_id"
        ).format(table(store, "executions"), table(store, "checkpoints"))
    )
    for name in ("checkpoints", "executions"):
        conn.execute(sql.SQL("ANALYZE {}").format(table(store, name)))


async def test_search_by_run_id_walks_the_metadata_index(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store()
    bulk_insert(sync_conn, store, 20_000, 2_000)
    index = store.settings.table_prefix + "checkpoints_metadata"
    token = {"at": datetime(2026, 1, 2, tzinfo=UTC), "aeid": "e9", "ans": "ns0", "aver": 99}
    for after in ({"at": None}, token):
        params = {"like": None, "limit": 51, "budget": MiB, **after}
        scan = await page_scan(store, "search", params, {"run_id": "r7"})
        indexes = [n.get("Index Name") for n in plan_nodes(scan)]
        assert index in indexes, scan
    found = await store.search({"run_id": "r7"})
    assert [c.metadata["step"] for c in found.checkpoints] == [39, 38, 37, 36, 35]


async def test_listings_across_namespaces_walk_the_created_at_index(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store()
    bulk_insert(sync_conn, store, 6_000, 2)  # two executions of 3,000 checkpoints
    index = store.settings.table_prefix + "checkpoints_created"
    token = {"at": datetime(2026, 1, 1, 1, tzinfo=UTC), "aeid": "e1", "ans": "ns0", "aver": 3000}
    for after in ({"at": None}, token):
        params = {"eid": "e1", "limit": 51, "budget": MiB, **after}
        scan = await page_scan(store, "execution", params, {})
        nodes = list(plan_nodes(scan))
        # Newest first along the index; ties on created_at, if any, sorted incrementally.
        assert [n["Node Type"] for n in nodes if "Sort" in n["Node Type"]] in (
            [],
            ["Incremental Sort"],
        ), scan
        scans = [n for n in nodes if n.get("Index Name") == index]
        assert scans, scan
        assert scans[0]["Scan Direction"] == "Backward"
    page = await store.list("e1", all_namespaces=True, limit=3)
    assert [c.version for c in page.checkpoints] == [5999, 5997, 5995]


async def test_executions_are_listed_from_their_index(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store()
    bulk_insert(sync_conn, store, 20_000, 5_000)
    index = store.settings.table_prefix + "executions_updated"
    for after in (None, (to_us(datetime(2026, 1, 1, 3, tzinfo=UTC)), "e7")):
        query, params = store.executions_query("", after, 51)
        plan = await explain(store, query, params)
        nodes = list(plan_nodes(plan))
        kinds = [n["Node Type"] for n in nodes]
        assert "Seq Scan" not in kinds, plan
        assert "Sort" not in kinds, plan
        assert index in [n.get("Index Name") for n in nodes], plan
    page = await store.executions(limit=2)
    assert [x.execution_id for x in page.executions] == ["e0", "e4999"]


async def test_namespaces_are_found_with_a_probe_each(open_store: OpenStore) -> None:
    # A loose index scan: listing the namespaces of an execution does not read its
    # checkpoints, however many there are.
    store = await open_store(config={"min_size": 1, "max_size": 1})
    for ns in ("a", "b", "c"):
        await store.save_many([Checkpoint("run", {}, namespace=ns) for _ in range(20)] * 1)
        for _ in range(9):
            await store.save_many([Checkpoint("run", {}, namespace=ns) for _ in range(20)])
    before = await index_reads(store, "checkpoints_pkey")
    assert (await store.namespaces("run")).namespaces == ["a", "b", "c"]
    read = await index_reads(store, "checkpoints_pkey") - before
    assert read < 20, f"{read} primary key entries read to list 3 namespaces of 600 rows"


async def index_reads(store: PostgresStore, index: str) -> int:
    """Entries read from one of the store's indexes so far (statistics flushed first)."""
    async with store._pool.connection() as conn:  # the pool's only connection
        await conn.execute("SELECT pg_stat_force_next_flush()")
    async with store._pool.connection() as conn:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        cur = await conn.execute(
            "SELECT idx_tup_read FROM pg_stat_user_indexes "
            "WHERE schemaname = %s AND indexrelname = %s",
            [store.settings.schema, store.settings.table_prefix + index],
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def toast_blocks(store: PostgresStore) -> int:
    """Blocks of the checkpoints table's TOAST (where large states live) read so far."""
    async with store._pool.connection() as conn:
        await conn.execute("SELECT pg_stat_force_next_flush()")
    async with store._pool.connection() as conn:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        cur = await conn.execute(
            "SELECT coalesce(toast_blks_read, 0) + coalesce(toast_blks_hit, 0) "
            "FROM pg_statio_user_tables WHERE schemaname = %s AND relname = %s",
            [store.settings.schema, store.settings.table_prefix + "checkpoints"],
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("kind", ["lineage", "execution", "search", "ancestors"])
async def test_a_page_of_large_states_reads_only_the_states_it_returns(
    open_store: OpenStore, kind: str
) -> None:
    # 20 states of 200 KiB (random, so stored uncompressed out of line) under an empty
    # one, pages of at most 1 MiB: the page holds 5 of them and is cut short. Reading
    # every state to weigh it would touch all 20 in TOAST (about 25 blocks each); the
    # page reads the 5 it returns.
    limits = Limits(max_state_bytes=MiB, max_page_bytes=MiB)
    store = await open_store(limits=limits, config={"min_size": 1, "max_size": 1})
    for i in range(20):
        parent = f"c{i - 1:02d}" if i else ""
        state = os.urandom(200 * 1024)
        await store.save(Checkpoint("run", state, checkpoint_id=f"c{i:02d}", parent_id=parent))
    await store.save(Checkpoint("run", b"", checkpoint_id="leaf", parent_id="c19"))

    async def fetch(token: str | None) -> CheckpointPage:
        if kind == "ancestors":
            return await store.ancestors(
                "run", "leaf", include_state=True, limit=20, page_token=token
            )
        if kind == "lineage":
            return await store.list("run", limit=20, page_token=token)
        if kind == "execution":
            return await store.list("run", limit=20, all_namespaces=True, page_token=token)
        return await store.search(limit=20, page_token=token)

    before = await toast_blocks(store)
    page = await fetch(None)
    read = await toast_blocks(store) - before
    if kind != "ancestors":
        assert page.checkpoints[0].checkpoint_id == "leaf"
        page = CheckpointPage(page.checkpoints[1:], page.next_page_token)
    assert [c.checkpoint_id for c in page.checkpoints] == [f"c{i:02d}" for i in range(19, 14, -1)]
    assert page.next_page_token is not None
    assert all(len(c.state_bytes) == 200 * 1024 for c in page.checkpoints)
    assert 5 * 20 < read < 8 * 25, f"{read} TOAST blocks read for a page of 5 large states"
    # The next pages go on where this one was cut.
    seen = [c.checkpoint_id for c in page.checkpoints]
    token = page.next_page_token
    while token is not None:
        page = await fetch(token)
        seen += [c.checkpoint_id for c in page.checkpoints]
        token = page.next_page_token
    assert seen == [f"c{i:02d}" for i in range(19, -1, -1)]


# -- statements and transactions ----------------------------------------------------------------


async def test_reads_and_writes_are_one_statement_each(
    open_store: OpenStore, statements: list[object]
) -> None:
    store = await open_store(config={"check": False, "coalesce_saves": False})
    parent = ""
    for i in range(4):
        await store.put_writes("run", f"c{i}", [PendingWrite("t", 0, "m", b"%d" % i)])
        channels = {"m": Channel(str(i // 2), [i // 2])} if i % 2 == 0 else {"m": Channel("0")}
        cp = Checkpoint("run", {"i": i}, checkpoint_id=f"c{i}", parent_id=parent, channels=channels)
        await store.save(cp)
        parent = f"c{i}"
    await store.save(Checkpoint("run", {}, namespace="sub", checkpoint_id="s"))
    calls = {
        "save": lambda: store.save(Checkpoint("run", {}, channels={"m": Channel("0")})),
        "save_many": lambda: store.save_many([Checkpoint("run", {}) for _ in range(5)]),
        "put_writes": lambda: store.put_writes("run", "x", [PendingWrite("t", 0, "m", b"")]),
        "load": lambda: store.load("run", "c1"),
        "latest": lambda: store.latest("run"),
        "list": lambda: store.list("run", with_writes=True),
        "list across namespaces": lambda: store.list("run", all_namespaces=True),
        "search": lambda: store.search({"missing": 1}),
        "namespaces": lambda: store.namespaces("run"),
        "executions": lambda: store.executions(),
    }
    for name, call in calls.items():
        statements.clear()
        await call()
        assert len(statements) == 1, name
    # The parent chain: the chain with sizes, then the values the page keeps.
    statements.clear()
    page = await store.ancestors("run", "c3", channels=["m"], include_state=True)
    assert len(statements) == 2
    assert [c.checkpoint_id for c in page.checkpoints] == ["c2"]
    assert page.checkpoints[0].channels["m"].value == [1]
    assert [w.value for w in page.checkpoints[0].pending_writes] == [b"2"]
    assert page.checkpoints[0].state == {"i": 2}


@pytest.fixture
def transactions_seen(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The statements of every transaction block opened from now on (and, as a block
    of their own, those run outside one)."""
    blocks: list[list[str]] = []
    depth = [0]
    original_transaction = psycopg.AsyncConnection.transaction
    original_execute = psycopg.AsyncCursor.execute

    @asynccontextmanager
    async def transaction(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        if depth[0] == 0:
            blocks.append([])
        depth[0] += 1
        try:
            async with original_transaction(self, *args, **kwargs) as tx:
                yield tx
        finally:
            depth[0] -= 1

    async def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if depth[0] == 0:
            blocks.append(["<outside a transaction>"])
        blocks[-1].append(repr(query)[:60])
        return await original_execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "transaction", transaction)
    monkeypatch.setattr(psycopg.AsyncCursor, "execute", execute)
    return blocks


async def test_copy_prune_and_delete_where_run_in_one_transaction_each(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any], transactions_seen: list[list[str]]
) -> None:
    store = await open_store(config={"check": False})
    for i in range(4):
        channels = {"m": Channel(str(i), i)}
        await store.save(Checkpoint("src", {"i": i}, metadata={"k": i % 2}, channels=channels))
        await store.save(Checkpoint("src", {"i": i}, namespace="sub", metadata={"k": 1}))
    await store.put_writes("src", "orphan", [PendingWrite("t", 0, "m", b"o")])
    for name, call, result in [
        ("copy", lambda: store.copy_execution("src", "dst"), 8),
        ("delete_where", lambda: store.delete_where({"k": 0}), 4),
        # One transaction per execution: Backend.prune calls _prune for each.
        ("prune", lambda: store.prune(["dst"]), 4),
    ]:
        transactions_seen.clear()
        assert await call() == result, name
        assert len(transactions_seen) == 1, (name, transactions_seen)
        assert "<outside a transaction>" not in transactions_seen[0], name
    # Everything the copy wrote, it wrote in one transaction.
    xids = set()
    for name in ("checkpoints", "blobs", "writes", "executions"):
        rows = sync_conn.execute(
            sql.SQL("SELECT DISTINCT xmin::text FROM {} WHERE execution_id = 'dst'").format(
                table(store, name)
            )
        ).fetchall()
        xids |= {r[0] for r in rows}
    assert len(xids) == 1


async def test_a_copy_that_fails_at_its_last_step_leaves_nothing(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any]
) -> None:
    store = await open_store()
    await store.save(Checkpoint("src", {}, channels={"m": Channel("1", 1)}))
    await store.put_writes("src", "x", [PendingWrite("t", 0, "m", b"")])
    schema = sql.Identifier(store.settings.schema)
    sync_conn.execute(
        sql.SQL(
            "CREATE FUNCTION {}.fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'the disk filled up' USING ERRCODE = 'disk_full'; END $$"
        ).format(schema)
    )
    sync_conn.execute(
        sql.SQL(
            "CREATE TRIGGER fail BEFORE INSERT OR UPDATE ON {} FOR EACH ROW "
            "EXECUTE FUNCTION {}.fail()"
        ).format(table(store, "executions"), schema)
    )
    with pytest.raises(Unavailable, match="disk filled up"):
        await store.copy_execution("src", "dst")
    for name in ("checkpoints", "blobs", "writes", "executions"):
        count = sync_conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE execution_id = 'dst'").format(table(store, name))
        ).fetchone()
        assert count == (0,), name
    sync_conn.execute(sql.SQL("DROP TRIGGER fail ON {}").format(table(store, "executions")))
    assert await store.copy_execution("src", "dst") == 1
    assert (await store.latest("dst")).channels["m"].value == 1


# -- locks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["delete", "clear", "prune", "delete_where", "copy"])
async def test_removals_and_copies_take_the_lineage_locks_of_saves(
    open_store: OpenStore, sync_conn: psycopg.Connection[Any], operation: str
) -> None:
    # A save checks that a channel value exists, then refers to it; whatever removes
    # values (or copies them) must hold the same lineage locks, or a value could go
    # between a save's check and its commit. A trigger records the advisory locks the
    # removing (or copying) transaction holds.
    store = await open_store()
    for ns in ("", "sub"):
        for i in range(2):
            cp = Checkpoint("run", {}, namespace=ns, checkpoint_id=f"c{i}", metadata={"k": 1})
            await store.save(cp.replace(channels={"m": Channel(str(i), i)}))
    schema = sql.Identifier(store.settings.schema)
    sync_conn.execute(sql.SQL("CREATE TABLE {}.seen (classid oid, objid oid)").format(schema))
    sync_conn.execute(
        sql.SQL(
            "CREATE FUNCTION {schema}.record_locks() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN INSERT INTO {schema}.seen SELECT classid, objid FROM pg_locks "
            "WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted; "
            "RETURN NULL; END $$"
        ).format(schema=schema)
    )
    sync_conn.execute(
        sql.SQL(
            "CREATE TRIGGER record_locks AFTER INSERT OR DELETE ON {} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {}.record_locks()"
        ).format(table(store, "blobs"), schema)
    )
    lineages = [("run", ""), ("run", "sub")]
    if operation == "delete":
        await store.delete("run", "c0", namespace="sub")
        lineages = [("run", "sub")]
    elif operation == "clear":
        await store.clear("run")
    elif operation == "prune":
        await store.prune(["run"])
    elif operation == "delete_where":
        await store.delete_where({"k": 1})
    else:
        await store.copy_execution("run", "copy")
        lineages += [("copy", ""), ("copy", "sub")]
    rows = sync_conn.execute(
        sql.SQL("SELECT DISTINCT classid, objid FROM {}.seen").format(schema)
    ).fetchall()
    assert rows, "the trigger saw no statement"
    wanted = {pg.lock_key(store.settings.schema, "checkpoint_", e, n) for e, n in lineages}
    assert {advisory_key(int(c), int(o)) for c, o in rows} >= wanted


def advisory_key(classid: int, objid: int) -> int:
    """The bigint key of an advisory lock, from its pg_locks row."""
    key = (classid << 32) | objid
    return key - (1 << 64) if key >= 1 << 63 else key


async def test_saves_racing_prunes_never_leave_a_reference_without_its_value(
    open_store: OpenStore,
) -> None:
    # Each save refers to the value a checkpoint some steps back stored; prunes keep
    # only the newest checkpoint, and collect the values it does not carry. A save
    # either finds the value (and the value stays) or is told to send it: never a
    # checkpoint whose channel has no value.
    store = await open_store(config={"max_size": 8, "coalesce_saves": False})
    await store.save(Checkpoint("run", {}, channels={"m": Channel("0", 0)}))
    outcomes: list[object] = []

    async def saver(k: int) -> None:
        for i in range(15):
            version = str((k * 100 + i) % 3)
            cp = Checkpoint("run", {"k": k, "i": i}, channels={"m": Channel(version)})
            try:
                outcomes.append(await store.save(cp))
            except NotFound:
                await store.save(cp.replace(channels={"m": Channel(version, int(version))}))
                outcomes.append("sent")

    async def pruner() -> None:
        for _ in range(15):
            await store.prune(["run"])
            await asyncio.sleep(0)

    await asyncio.gather(*(saver(k) for k in range(4)), pruner(), pruner())
    assert "sent" in outcomes
    assert any(isinstance(o, Checkpoint) for o in outcomes)
    for cp in (await store.list("run", limit=100)).checkpoints:
        assert cp.channels["m"].value == int(cp.channels["m"].version), cp


async def test_execution_prefixes_match_literally(open_store: OpenStore) -> None:
    # Tenants will scope listings by an execution id prefix; LIKE's wildcards in one
    # must match only themselves.
    store = await open_store()
    for eid in ("t_1/a", "t_1/b", "tx1/a", "t%1/a", "t_10"):
        await store.save(Checkpoint(eid, {}, metadata={"k": 1}))
    found, _ = await store._search("t_1/", None, 10, {}, with_writes=False, max_bytes=MiB)
    assert sorted(c.execution_id for c in found) == ["t_1/a", "t_1/b"]
    listed = await store._executions("t%1", None, 10)
    assert [x.execution_id for x in listed] == ["t%1/a"]
    assert await store._delete_where("t_1", None, {"k": 1}) == 3  # t_1/a, t_1/b, t_10
    assert sorted(x.execution_id for x in (await store.executions()).executions) == [
        "t%1/a",
        "tx1/a",
    ]
