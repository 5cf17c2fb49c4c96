"""Errors sent to callers carry no file path, backend address, SQL or driver text; the
gateway's log keeps the details under the error id the caller's message carries."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import grpc.aio
import pytest

from checkpoint_client import _convert as c
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc
from checkpoint_gateway import chain
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends.file import FileStore
from checkpoint_gateway.backends.sqlite import SqliteStore
from checkpoint_gateway.config import Settings
from tests.faults.servers import KillableRedis
from tests.gateway_process import GatewayProcess

ERROR_ID = re.compile(r"\(error id ([0-9a-f]{16})\)")


def error_id(details: str | None) -> str:
    found = ERROR_ID.search(details or "")
    assert found, f"no error id in {details!r}"
    return found.group(1)


def logged_with(caplog: pytest.LogCaptureFixture, eid: str) -> str:
    lines = [r.getMessage() for r in caplog.records if eid in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    return lines[0]


@pytest.fixture
async def sqlite_gateway(
    tmp_path: Path,
) -> AsyncIterator[tuple[Path, pb_grpc.CheckpointServiceStub]]:
    """A gateway on SQLite through the production chain (retries, breaker), with a short
    busy timeout so a held write lock answers quickly."""
    path = tmp_path / "secret-dir" / "l.db"
    backend = await SqliteStore.open(str(path), busy_timeout_ms=20)
    store = chain.build(backend, Settings(retry_max_attempts=2, breaker_failure_threshold=100))
    gw = await Gateway.start(store, listen="127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
            yield path, pb_grpc.CheckpointServiceStub(channel)
    finally:
        await gw.stop(grace=1)


async def test_a_busy_sqlite_file_is_not_named_to_the_caller(
    sqlite_gateway: tuple[Path, pb_grpc.CheckpointServiceStub], caplog: pytest.LogCaptureFixture
) -> None:
    path, stub = sqlite_gateway
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write lock
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Save(c.pb.SaveRequest(checkpoint=c.pb.Checkpoint(execution_id="r")))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    details = err.value.details() or ""
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert str(path.parent) not in details
    assert "sqlite" not in details.lower()
    assert details.startswith("the backend is unavailable; retry later (error id ")
    line = logged_with(caplog, error_id(details))
    assert str(path) in line  # the operator's side has the details
    assert "busy" in line


async def test_a_corrupt_file_is_internal_without_its_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "store"
    gw = await Gateway.start(await FileStore.open(str(root)), listen="127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
            stub = pb_grpc.CheckpointServiceStub(channel)
            cp = c.pb.Checkpoint(execution_id="r", checkpoint_id="a")
            await stub.Save(c.pb.SaveRequest(checkpoint=cp))
            for file in root.rglob("*"):
                if file.is_file() and "lock" not in file.name:
                    file.write_bytes(b"garbage\n")
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.Load(c.pb.LoadRequest(execution_id="r", checkpoint_id="a"))
    finally:
        await gw.stop(grace=1)
    details = err.value.details() or ""
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert str(tmp_path) not in details
    assert details.startswith("internal error (error id ")
    line = logged_with(caplog, error_id(details))
    assert str(root) in line


def test_an_unreachable_redis_is_not_named_to_the_caller(tmp_path: Path) -> None:
    server = KillableRedis(tmp_path)
    server.ready()
    gw = GatewayProcess(["--listen", "127.0.0.1:0", "--backend", server.url], cwd=tmp_path)
    try:
        gw.wait_listening()
        with grpc.insecure_channel(gw.target) as channel:
            stub = pb_grpc.CheckpointServiceStub(channel)
            stub.Save(c.pb.SaveRequest(checkpoint=c.pb.Checkpoint(execution_id="r")), timeout=10)
            server.kill9()
            answers = []
            for _ in range(3):  # retries exhausted, then the breaker: both kept generic
                with pytest.raises(grpc.RpcError) as err:
                    stub.Save(
                        c.pb.SaveRequest(checkpoint=c.pb.Checkpoint(execution_id="r")), timeout=10
                    )
                answers.append((err.value.code(), err.value.details()))  # type: ignore[attr-defined]
    finally:
        assert gw.stop() == 0
        server.stop()
    log = gw.output()
    for code, details in answers:
        assert code == grpc.StatusCode.UNAVAILABLE
        assert str(server.port) not in details
        assert "127.0.0.1" not in details
        assert "Error" not in details
        if "circuit breaker open" in details:
            # The breaker's own message: the backend's kind and the next probe, no more.
            assert re.fullmatch(
                r"redis is failing: circuit breaker open \(.*\); retry later", details
            )
            continue
        eid = error_id(details)
        # The details' line, and the failed request's line, both with the id.
        lines = [line for line in log.splitlines() if eid in line]
        assert any(f"Save failed (error id {eid}): UNAVAILABLE: " in line for line in lines)
    assert ERROR_ID.search(answers[0][1])  # the retries gave up: details in the log
    assert f"127.0.0.1:{server.port}" in log  # the first failure's details, in the log


async def test_callers_own_mistakes_keep_their_message(
    sqlite_gateway: tuple[Path, pb_grpc.CheckpointServiceStub], caplog: pytest.LogCaptureFixture
) -> None:
    _, stub = sqlite_gateway
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Load(c.pb.LoadRequest(execution_id="r", checkpoint_id="nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details() == "checkpoint 'nope' of execution 'r' does not exist"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
