"""LangGraph's own conformance suite for checkpointers, run against ``GatewaySaver``
through a real gateway on every backend: every capability declared, every test passing,
the report FULL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES

from checkpoint_client.langgraph import GatewaySaver
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import Backend

MakeBackend = Callable[..., Awaitable[Backend]]


async def test_langgraph_conformance_suite_is_full(
    make_backend: MakeBackend, backend_id: str
) -> None:
    backend = await make_backend()
    gateway = await Gateway.start(backend, listen="127.0.0.1:0")
    try:

        @checkpointer_test(name=f"GatewaySaver over {backend.name}")
        async def saver() -> AsyncIterator[GatewaySaver]:
            async with GatewaySaver(f"127.0.0.1:{gateway.port}", timeout=30) as made:
                yield made

        report = await validate(saver)
    finally:
        await gateway.stop(grace=1.0)
    report.print_report()
    results = report.results
    assert {name for name, r in results.items() if r.detected} == {
        c.value for c in ALL_CAPABILITIES
    }
    failures = {name: r.failures for name, r in results.items() if r.failures}
    assert failures == {}
    assert report.conformance_level() == "FULL"
    passed = sum(r.tests_passed for r in results.values())
    print(f"conformance {backend_id}: FULL, {passed} tests passed")
