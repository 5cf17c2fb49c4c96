"""SIGTERM to the gateway under load: drain, lose nothing, exit within the grace period.

32 writers keep saving while the gateway process gets SIGTERM. Every call must either
complete or get UNAVAILABLE (refused while draining, or the gateway gone), the process
must exit 0 within the grace period, and every acknowledged save must be in the
database afterwards, read straight from the file.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from checkpoint_gateway.backends import open_backend
from tests.gateway_process import GatewayProcess

from .load import SaveLoad, report, verify

pytestmark = pytest.mark.faults

GRACE_SECONDS = 5.0


async def test_sigterm_under_load_drains_and_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drain.db'}"
    gateway = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--backend", url, "--grace-seconds", str(GRACE_SECONDS)],
        cwd=tmp_path,
    )
    try:
        await asyncio.to_thread(gateway.wait_listening)
        load = SaveLoad(gateway.target, writers=32, timeout=5.0)
        load.start()
        try:
            await asyncio.sleep(1.5)  # the scenario's length, not a wait
            terminated = time.monotonic()
            gateway.proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(gateway.wait, GRACE_SECONDS + 10)
            exited = time.monotonic()
        finally:
            await load.stop()
    finally:
        if gateway.proc.poll() is None:
            gateway.proc.kill()
            gateway.proc.wait()

    store = await open_backend(url)
    try:
        checked = await verify(store, load)
    finally:
        await store.close()
    # Calls under way when SIGTERM arrived: each must have completed or been refused.
    straddling = [o for o in load.outcomes if o.started < terminated <= o.ended]
    figures: dict[str, Any] = {
        "exit_code": code,
        "seconds_sigterm_to_exit": round(exited - terminated, 3),
        "grace_seconds": GRACE_SECONDS,
        "calls_in_flight_at_sigterm": len(straddling),
        "their_outcomes": {
            code: sum(1 for o in straddling if o.code == code)
            for code in sorted({o.code for o in straddling})
        },
        "errors_whole_run": load.errors(),
        **checked.as_dict(),
    }
    report(tmp_path / "fault-report.json", "SIGTERM gateway", figures)

    assert code == 0, gateway.output()
    assert exited - terminated < GRACE_SECONDS + 2.0, figures
    assert straddling, "no call was in flight at SIGTERM: the test proved nothing"
    assert {o.code for o in straddling} <= {"OK", "UNAVAILABLE"}, figures
    assert set(load.errors()) <= {"UNAVAILABLE"}, figures
    assert checked.missing == [], figures
    assert checked.wrong == [], figures
    assert checked.gaps == [], figures
    assert checked.found == checked.acknowledged > 0, figures
    assert "stopped" in gateway.output()
