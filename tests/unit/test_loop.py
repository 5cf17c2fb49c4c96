"""The event loop setting (checkpoint_gateway.loop)."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from checkpoint_gateway import loop

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


async def _kind() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def test_asyncio_runs_on_asyncios_loop() -> None:
    assert loop.run(_kind, "asyncio") == "asyncio"


@pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop is not installed")
def test_auto_and_uvloop_run_on_uvloop_when_installed() -> None:
    assert loop.resolve("auto") == "uvloop"
    assert loop.run(_kind, "auto") == "uvloop"
    assert loop.run(_kind, "uvloop") == "uvloop"


def test_an_unknown_choice_is_refused() -> None:
    with pytest.raises(ValueError, match="one of auto, uvloop, asyncio"):
        loop.resolve("trio")
