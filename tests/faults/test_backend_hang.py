"""A backend that hangs (SIGSTOP) trips the deadline, then the breaker; SIGCONT heals.

A stopped redis-server keeps its sockets open and answers nothing: the worst kind of
failure, because nothing errors. Calls must end by their deadline (the gateway cancels
the backend call), the breaker must then open so calls fail fast with UNAVAILABLE, health
must turn NOT_SERVING, and after SIGCONT everything must come back on its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checkpoint_client import AsyncCheckpointClient, Checkpoint, DeadlineExceeded, Unavailable
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
from .servers import KillableRedis

pytestmark = pytest.mark.faults

DEADLINE = 1.0  # the callers' deadline, seconds


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[KillableRedis]:
    root = tmp_path / "redis"
    root.mkdir()
    server = KillableRedis(root)
    try:
        server.ready()
        yield server
    finally:
        server.stop()  # continues it first if it is still stopped


async def _timed_save(client: AsyncCheckpointClient, n: int) -> tuple[str, float, str]:
    """One save without client retries: (status, seconds, message)."""
    started = time.monotonic()
    try:
        await client.save(Checkpoint("probe", {"n": n}))
    except (DeadlineExceeded, Unavailable) as exc:
        return exc.grpc_code, time.monotonic() - started, str(exc)
    return "OK", time.monotonic() - started, ""


async def test_sigstop_trips_deadline_then_breaker_and_sigcont_recovers(
    redis_server: KillableRedis, tmp_path: Path
) -> None:
    gateway = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--backend", redis_server.url], cwd=tmp_path
    )
    try:
        await asyncio.to_thread(gateway.wait_listening)
        load = SaveLoad(gateway.target, writers=8, timeout=DEADLINE)
        # A caller without client retries, to see each status as the gateway sends it.
        async with AsyncCheckpointClient(
            gateway.target, timeout=DEADLINE, service_config=None
        ) as probe:
            assert (await _timed_save(probe, 0))[0] == "OK"
            load.start()
            try:
                await asyncio.sleep(1.0)  # the scenario's length, not a wait
                stopped = time.monotonic()
                redis_server.pause()
                # First the deadline: the hung call is cut at the caller's deadline.
                first = await _timed_save(probe, 1)
                # Then the breaker: calls fail fast, without waiting for the backend.
                fast: tuple[str, float, str] | None = None
                n = 2
                while fast is None and time.monotonic() - stopped < 15:
                    result = await _timed_save(probe, n)
                    n += 1
                    if result[0] == "UNAVAILABLE" and "circuit breaker" in result[2]:
                        fast = result
                not_serving = await wait_health(gateway.target, NOT_SERVING)
                hung_for = time.monotonic() - stopped
                redis_server.resume()
                resumed = time.monotonic()
                serving = await wait_health(gateway.target, SERVING)
                recovered = None
                while recovered is None and time.monotonic() - resumed < 15:
                    if (await _timed_save(probe, n))[0] == "OK":
                        recovered = time.monotonic()
                    n += 1
                await asyncio.sleep(0.5)
            finally:
                await load.stop()
        assert gateway.proc.poll() is None, f"the gateway died:\n{gateway.output()}"
    finally:
        code = await asyncio.to_thread(stop_gateway, gateway)
    assert code == 0, gateway.output()

    store = await open_backend(redis_server.url)
    try:
        checked = await verify(store, load)
    finally:
        await store.close()
    figures: dict[str, Any] = {
        "first_call_while_hung": {"status": first[0], "seconds": round(first[1], 3)},
        "breaker_fast_fail": None
        if fast is None
        else {"status": fast[0], "seconds": round(fast[1], 4)},
        "errors_of_the_load": load.errors(),
        **checked.as_dict(),
        **rounded(
            [
                ("seconds_hung", hung_for),
                ("seconds_stop_to_not_serving", not_serving and not_serving - stopped),
                ("seconds_cont_to_serving", serving and serving - resumed),
                ("seconds_cont_to_first_ok", recovered and recovered - resumed),
            ]
        ),
    }
    report(tmp_path / "fault-report.json", "SIGSTOP redis", figures)

    assert first[0] == "DEADLINE_EXCEEDED", figures
    assert first[1] < DEADLINE + 1.0, figures
    assert fast is not None, f"the breaker never opened: {figures}"
    assert fast[1] < 0.5, figures  # fast: nowhere near the deadline
    assert not_serving is not None, figures
    assert serving is not None, figures
    assert recovered is not None, figures
    assert set(load.errors()) <= ALLOWED_DURING_OUTAGE, figures
    assert checked.missing == [], figures
    assert checked.wrong == [], figures
    assert checked.gaps == [], figures
    assert checked.found == checked.acknowledged > 0, figures
