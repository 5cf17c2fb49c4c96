"""kill -9 the gateway while it stores chains of deltas: nothing acknowledged is lost,
and every checkpoint stored reads back.

A real gateway process serves writers that each save a conversation whole after every
turn, every checkpoint a child of the one before (stored as a snapshot and deltas). The
gateway is killed with SIGKILL in the middle of that load, so saves are cut at every
point of their way. Then every lineage is read back straight from the store, and a new
gateway on the same store, which holds no state in memory, is loaded and killed the same
way, and both loads are read back again.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends.postgres import PostgresSettings
from tests.gateway_process import GatewayProcess
from tests.harness.postgres import new_schema

from .load import SaveLoad, stop_gateway, verify

pytestmark = pytest.mark.faults

LOAD_SECONDS = 1.5  # the load before the kill: long enough for chains of every length


async def _load_then_kill(url: str, env: dict[str, str], tmp_path: Path, prefix: str) -> SaveLoad:
    args = ["--listen", "127.0.0.1:0", "--backend", url]
    gateway = GatewayProcess(args, cwd=tmp_path, env=env)
    try:
        await asyncio.to_thread(gateway.wait_listening)
        load = SaveLoad(gateway.target, writers=8, timeout=2.0, prefix=prefix, conversation=True)
        load.start()
        try:
            await asyncio.sleep(LOAD_SECONDS)  # the scenario's length, not a wait
            assert gateway.proc.poll() is None, gateway.output()
            assert await asyncio.to_thread(gateway.stop, signal.SIGKILL) == -signal.SIGKILL
        finally:
            await load.stop()  # the writers see UNAVAILABLE until they stop
    finally:
        if gateway.proc.poll() is None:
            await asyncio.to_thread(stop_gateway, gateway)
    assert "Traceback" not in gateway.output(), gateway.output()
    return load


async def _read_back(url: str, options: dict[str, Any], load: SaveLoad) -> None:
    store = await open_backend(url, **options)
    try:
        checked = await verify(store, load)
    finally:
        await store.close()
    figures = checked.as_dict()
    assert checked.missing == [], figures
    assert checked.wrong == [], figures
    assert checked.gaps == [], figures
    assert checked.found == checked.acknowledged > 0, figures
    assert checked.chained > 0, figures


@pytest.mark.parametrize("scheme", ["sqlite", "file", "postgresql"])
async def test_kill_9_the_gateway_during_delta_writes(
    scheme: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env: dict[str, str] = {}
    options: dict[str, Any] = {}
    if scheme == "sqlite":
        url = f"sqlite:///{tmp_path}/data.db"
    elif scheme == "file":
        url = f"file://{tmp_path}/data"
    else:
        url = request.getfixturevalue("postgres_url")
        schema = new_schema()
        env["CHECKPOINT_GATEWAY_POSTGRES_SCHEMA"] = schema
        options["settings"] = PostgresSettings(schema=schema)
    first = await _load_then_kill(url, env, tmp_path, "w")
    await _read_back(url, options, first)
    # A new gateway on the same store, with nothing in memory, is killed the same way.
    second = await _load_then_kill(url, env, tmp_path, "v")
    await _read_back(url, options, second)
    await _read_back(url, options, first)
