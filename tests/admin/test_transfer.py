"""Export and import between every pair of stores, a crashed import resumed, and a whole
store copied from SQLite to PostgreSQL.

The round trips run the export and import code in this process (the CLI's subprocess
start would cost more than the work); the crash, the resume and the copy run the CLI.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from checkpoint_client import (
    AsyncCheckpointClient,
    Checkpoint,
    CheckpointStore,
    ResourceExhausted,
)
from checkpoint_gateway.admin.archive import Reader
from checkpoint_gateway.admin.progress import Tracker
from checkpoint_gateway.admin.transfer import Importer, Scope, export_lines
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import Backend, open_backend
from checkpoint_gateway.backends._states import chained
from tests.gateway_process import CLI, clean_env

from .harness import as_json, cli, many, ok, one_line_error, seed, store_url

#: Stores of each kind; "gateway" is a gateway (SQLite behind it) through the client.
KINDS = ("memory", "file", "sqlite", "postgresql", "redis", "gateway")

Opener = Callable[[str], Awaitable[CheckpointStore]]


@pytest.fixture
async def open_kind(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Open a new, empty store of a kind; everything is closed at the end."""
    opened: list[CheckpointStore] = []
    gateways: list[Gateway] = []

    async def open_(kind: str) -> CheckpointStore:
        store: CheckpointStore
        if kind == "gateway":
            backend = await store_url("sqlite", request, tmp_path).open()
            gateway = await Gateway.start(backend, listen="127.0.0.1:0")
            gateways.append(gateway)
            store = AsyncCheckpointClient(f"127.0.0.1:{gateway.port}", timeout=30)
        else:
            store = await store_url(kind, request, tmp_path).open()
        opened.append(store)
        return store

    try:
        yield open_
    finally:
        for store in opened:
            await store.close()
        for gateway in gateways:
            await gateway.stop(grace=1.0)


async def _export(store: CheckpointStore) -> bytes:
    return b"".join([line async for line in export_lines(store, Scope(), Tracker(None, None))])


async def _import(store: CheckpointStore, data: bytes, batch_items: int = 4) -> int:
    async def lines() -> AsyncIterator[bytes]:
        for line in data.splitlines(keepends=True):
            yield line

    importer = Importer(store, Tracker(None, None), batch_items=batch_items)
    report = await importer.run(Reader().records(lines()))
    return report.verified


@pytest.mark.parametrize(
    ("source", "target"),
    [
        *itertools.product(KINDS, KINDS),
        ("redis-cluster", "sqlite"),
        ("sqlite", "redis-cluster"),
    ],
)
async def test_export_import_round_trip(source: str, target: str, open_kind: Opener) -> None:
    """export -> import elsewhere -> export gives the same bytes, on every pair."""
    a = await open_kind(source)
    for eid in ("run-2", "run-1"):  # saved out of id order; exported in it
        await seed(a, eid)
    first = await _export(a)
    b = await open_kind(target)
    assert await _import(b, first) == 12
    assert await _export(b) == first
    # Again: idempotent, nothing stored twice.
    assert await _import(b, first) == 12
    assert await _export(b) == first
    assert [cp.version for cp in (await b.list("run-1")).checkpoints] == [5, 4, 3, 2, 1]


@pytest.mark.parametrize(
    ("source", "target"), [("sqlite", "postgresql"), ("redis", "file"), ("gateway", "redis")]
)
async def test_states_stored_as_chains_export_whole_and_import_as_chains(
    source: str, target: str, open_kind: Opener
) -> None:
    """A conversation saved whole after every turn is stored as deltas; its export holds
    every state whole, and an import stores it as deltas again (reading back the same)."""
    a = await open_kind(source)
    messages: list[str] = []
    states, parent = [], ""
    for turn in range(12):
        messages.append(f"turn {turn}: " + "the agent plans and calls a tool " * 40)
        state = json.dumps({"messages": messages}).encode()
        saved = await a.save(
            Checkpoint("talk", state, parent_id=parent, content_type="application/json")
        )
        states.append(state)
        parent = saved.checkpoint_id
    first = await _export(a)
    exported = [json.loads(line) for line in first.splitlines()]
    whole = [base64.b64decode(r["state"]) for r in exported if r.get("type") == "checkpoint"]
    assert sorted(whole) == sorted(states)
    b = await open_kind(target)
    assert await _import(b, first) == 12
    assert await _export(b) == first
    page = await b.list("talk", limit=20)
    assert [c.state_bytes for c in page.checkpoints] == states[::-1]
    for store in (a, b):
        if isinstance(store, Backend):
            raw = await store._latest("talk", "")
            assert raw is not None
            assert chained(raw)  # a delta


async def test_a_batch_over_the_message_limit_goes_in_halves(open_kind: Opener) -> None:
    """A gateway with a small message limit refuses a big SaveMany; the import splits it."""
    source = await open_kind("memory")
    for i in range(24):
        await source.save(Checkpoint("big", {"pad": "x" * 20_000, "i": i}))
    data = await _export(source)
    backend = await open_backend("memory://")
    gateway = await Gateway.start(backend, listen="127.0.0.1:0", max_message_bytes=128 * 1024)
    try:
        async with AsyncCheckpointClient(f"127.0.0.1:{gateway.port}") as client:
            with pytest.raises(ResourceExhausted):  # what a single batch would get
                await client.save_many([Checkpoint("x", {"pad": "x" * 20_000})] * 24)
            assert await _import(client, data, batch_items=500) == 24
            assert await _export(client) == data
    finally:
        await gateway.stop(grace=1.0)


async def test_a_crashed_import_resumes(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """kill -9 in the middle of an import into PostgreSQL, then run it again: every
    checkpoint is there once, versions in order, and the store exports the same bytes."""
    source = await store_url("sqlite", request, tmp_path).open()
    try:
        total = await many(source, executions=20, per_execution=100)
        data = await _export(source)
    finally:
        await source.close()
    export = tmp_path / "all.jsonl"
    export.write_bytes(data)
    where = store_url("postgresql", request, tmp_path)
    target = await where.open()
    try:
        proc = await asyncio.create_subprocess_exec(
            *CLI,
            "import",
            str(export),
            *where.args(),
            "--batch-size",
            "20",
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            # Poll until some but not all executions are in, then kill it mid-way.
            deadline = time.monotonic() + 60
            while len((await target.executions(limit=100)).executions) < 3:
                assert proc.returncode is None, await proc.communicate()
                assert time.monotonic() < deadline, "the import made no progress"
                await asyncio.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
        finally:
            await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == -signal.SIGKILL
        stored = len((await target.executions(limit=100)).executions)
        assert 3 <= stored < 20, "the import finished before the kill: make it longer"

        report = as_json(cli("import", str(export), *where.args(), "--output", "json"))
        assert report["checkpoints"] == report["verified"] == total
        assert await _export(target) == data
        for e in range(20):
            latest = await target.latest(f"bulk-{e:05d}")
            assert latest.version == 100  # nothing twice: versions 1..100
    finally:
        await target.close()


async def test_a_damaged_export_writes_nothing(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    where = store_url("sqlite", request, tmp_path)
    store = await where.open()
    try:
        await seed(store, "run-1")
        data = await _export(store)
    finally:
        await store.close()
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(data.replace(b'"node0"', b'"nodeX"'))
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"".join(data.splitlines(keepends=True)[:-1]))
    target = store_url("sqlite", request, tmp_path)
    line = one_line_error(cli("import", str(damaged), *target.args()), 1)
    assert "damaged" in line
    line = one_line_error(cli("import", "-", *target.args(), input=cut.read_bytes()), 1)
    assert "cut short" in line
    check = await target.open()
    try:
        # The damaged file was refused before anything was written; the cut one (from a
        # pipe, so not checked first) failed at its end, before its one batch was sent.
        assert (await check.executions()).executions == []
    finally:
        await check.close()


@pytest.mark.slow
async def test_copy_store_sqlite_to_postgresql_10000(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    source = store_url("sqlite", request, tmp_path)
    store = await source.open()
    try:
        total = await many(store, executions=100, per_execution=100, size=100)
    finally:
        await store.close()
    assert total == 10_000
    target = store_url("postgresql", request, tmp_path)
    result = cli(
        "copy-store",
        *source.args("--from", "--from-setting"),
        *target.args("--to", "--to-setting"),
        "--output",
        "json",
        timeout=300,
    )
    report = as_json(result)
    assert report["same"] is True
    assert report["source"] == report["target"]
    assert report["source"]["checkpoints"] == report["verified"] == 10_000
    assert report["source"]["writes"] == 1_000
    check = await target.open()
    try:
        page = await check.executions(limit=1000)
        assert len(page.executions) == 100
        for info in page.executions[:10]:
            assert (await check.latest(info.execution_id)).version == 100
        assert isinstance(await check.load("bulk-00042", "bulk-00042-000099"), Checkpoint)
    finally:
        await check.close()
    ok(result)
