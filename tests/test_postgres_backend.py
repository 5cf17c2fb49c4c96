"""What only the PostgreSQL backend has: a pool, migrations, SQL plans, server errors.

The contract suites (tests/contract) already run against ``postgresql``; these tests use
the same throwaway server (``postgres_url``) and give every store a schema of its own.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from checkpoint_client import (
    Checkpoint,
    NotFound,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)
from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends.postgres import (
    MIGRATIONS,
    PostgresSettings,
    PostgresStore,
    migrate,
)
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
    assert len((await store.list("run", metadata_filter={"nul": "a\ufffdb"})).checkpoints) == 5
    assert [
        c.checkpoint_id for c in (await store.list("run", metadata_filter={"one": 1})).checkpoints
    ] == ["a"]


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
