"""kill -9 the backend under load, restart it, and prove nothing acknowledged was lost.

A real gateway process (the CLI) serves 32 writers, each saving a conversation whole
after every turn (stored as chains of deltas), while its PostgreSQL or Redis server is
killed with SIGKILL and restarted on the same port and data. Afterwards every
acknowledged save is read back straight from the backend, byte for byte. Meanwhile the
callers may see only UNAVAILABLE or DEADLINE_EXCEEDED, the gateway must keep running,
report NOT_SERVING while the backend is down and SERVING once it is back, and its
throughput must come back within seconds (measured and printed; see ``report``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from checkpoint_gateway.backends import open_backend
from tests.gateway_process import GatewayProcess

from .load import (
    ALLOWED_DURING_OUTAGE,
    NOT_SERVING,
    SERVING,
    SaveLoad,
    report,
    rounded,
    stop_gateway,
    verify,
    wait_health,
)
from .servers import KillablePostgres, KillableRedis

pytestmark = pytest.mark.faults

BASELINE_SECONDS = 1.5  # load before the kill, to measure normal throughput
OUTAGE_SECONDS = 2.0  # how long the backend stays dead
AFTER_SECONDS = 1.0  # load after throughput is back
RECOVERY_BOUND = 15.0  # "within a few seconds", asserted generously


class Killable:
    """What the test needs of a killable server: its URL, kill -9, restart."""

    def __init__(
        self, url: str, kill9: Callable[[], None], restart: Callable[[], None], name: str
    ) -> None:
        self.url, self.kill9, self.restart, self.name = url, kill9, restart, name


@pytest.fixture
def postgres() -> Iterator[Killable]:
    server = KillablePostgres()
    try:
        url = server.start()
        yield Killable(url, server.kill9, server.restart, "postgresql")
    finally:
        server.stop()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Killable]:
    root = tmp_path / "redis"
    root.mkdir()
    server = KillableRedis(root)
    try:
        server.ready()
        yield Killable(server.url, server.kill9, server.restart, "redis")
    finally:
        server.stop()


async def _kill_and_restart(backend: Killable, tmp_path: Path) -> dict[str, Any]:
    gateway = GatewayProcess(["--listen", "127.0.0.1:0", "--backend", backend.url], cwd=tmp_path)
    try:
        await asyncio.to_thread(gateway.wait_listening)
        load = SaveLoad(gateway.target, writers=32, timeout=2.0, conversation=True)
        started = time.monotonic()
        load.start()
        try:
            await asyncio.sleep(BASELINE_SECONDS)  # the scenario's length, not a wait
            killed = time.monotonic()
            baseline = load.rate(started + 0.5, killed)  # past the warm-up
            await asyncio.to_thread(backend.kill9)
            not_serving = await wait_health(gateway.target, NOT_SERVING)
            await asyncio.sleep(max(0.0, killed + OUTAGE_SECONDS - time.monotonic()))
            assert gateway.proc.poll() is None, gateway.output()
            await asyncio.to_thread(backend.restart)
            back = time.monotonic()
            recovered = await load.wait_throughput(back, baseline, bound=RECOVERY_BOUND)
            serving = await wait_health(gateway.target, SERVING)
            await asyncio.sleep(AFTER_SECONDS)
        finally:
            await load.stop()
        ended = time.monotonic()
        assert gateway.proc.poll() is None, f"the gateway died:\n{gateway.output()}"
    finally:
        code = await asyncio.to_thread(stop_gateway, gateway)
    assert code == 0, gateway.output()
    assert "Traceback" not in gateway.output(), gateway.output()

    # Read back straight from the backend, not through the gateway that acknowledged
    # (every stored chain must decode: verify reads each checkpoint's state).
    store = await open_backend(backend.url)
    try:
        checked = await verify(store, load)
    finally:
        await store.close()

    first_ack = load.first_ack_after(back)
    outage_end = recovered if recovered is not None else ended
    figures: dict[str, Any] = {
        "writers": load.writers,
        "run_seconds": round(ended - started, 2),
        **checked.as_dict(),
        "errors_during_outage": load.errors(killed, outage_end),
        "errors_whole_run": load.errors(),
        "baseline_saves_per_second": round(baseline, 1),
        **rounded(
            [
                ("seconds_kill_to_not_serving", not_serving and not_serving - killed),
                ("seconds_backend_down", back - killed),
                ("seconds_back_to_first_ack", first_ack and first_ack - back),
                ("seconds_back_to_half_throughput", recovered and recovered - back),
                ("seconds_back_to_serving", serving and serving - back),
            ]
        ),
    }
    report(tmp_path / "fault-report.json", f"kill -9 {backend.name}", figures)

    assert checked.missing == [], figures
    assert checked.wrong == [], figures
    assert checked.gaps == [], figures
    assert checked.found == checked.acknowledged > 0, figures
    assert checked.chained > 0, figures  # the saves under test were deltas
    assert set(load.errors()) <= ALLOWED_DURING_OUTAGE, figures
    assert not_serving is not None, "health never reported NOT_SERVING during the outage"
    assert serving is not None, "health never reported SERVING again"
    assert recovered is not None, f"throughput not back within {RECOVERY_BOUND}s: {figures}"
    assert load.acks_between(back, ended) > 0
    return figures


async def test_kill_9_postgres_under_load(postgres: Killable, tmp_path: Path) -> None:
    await _kill_and_restart(postgres, tmp_path)


async def test_kill_9_redis_under_load(redis: Killable, tmp_path: Path) -> None:
    await _kill_and_restart(redis, tmp_path)
