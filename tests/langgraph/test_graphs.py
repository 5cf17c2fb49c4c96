"""Real compiled LangGraph graphs on ``GatewaySaver`` through a real gateway, on every
backend, compared run by run with the same graphs on LangGraph's ``InMemorySaver``:
interrupts and resumes, a subgraph that interrupts, history with filter and limit,
forks by ``update_state``, and ``DeltaChannel`` (with and without snapshots), under each
durability mode, sync and async alike."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from checkpoint_client.langgraph import GatewaySaver
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import Backend
from checkpoint_gateway.validation import Limits

from .scenarios import DURABILITIES, SCENARIOS, Runner

MakeBackend = Callable[..., Awaitable[Backend]]

#: Runs of each scenario per durability mode and backend (half sync, half async).
RUNS = int(os.environ.get("CHECKPOINT_GATEWAY_GRAPH_RUNS", "20"))

_expected: dict[tuple[str, str, bool], Any] = {}


async def expected(scenario: str, durability: str, sync: bool) -> Any:
    key = (scenario, durability, sync)
    if key not in _expected:
        _expected[key] = await SCENARIOS[scenario](Runner(InMemorySaver(), durability, sync))
    return _expected[key]


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_graphs_behave_as_on_the_in_memory_saver(
    make_backend: MakeBackend, backend_id: str, scenario: str
) -> None:
    backend = await make_backend(limits=Limits())
    gateway = await Gateway.start(backend, listen="127.0.0.1:0")
    try:
        async with GatewaySaver(f"127.0.0.1:{gateway.port}", timeout=30) as saver:
            for durability in DURABILITIES:
                equal = 0
                for i in range(RUNS):
                    sync = i % 2 == 1
                    got = await SCENARIOS[scenario](Runner(saver, durability, sync))
                    assert got == await expected(scenario, durability, sync), (durability, sync, i)
                    equal += 1
                print(f"graph runs {backend_id} {scenario} {durability}: {equal}/{RUNS} equal")
    finally:
        await gateway.stop(grace=1.0)
