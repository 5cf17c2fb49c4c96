"""Deadlines and health through a real gateway, with a backend that misbehaves on cue.

In-process and fast: the backend here is a memory store that can hang or refuse, so each
rule is seen alone: a call past its deadline (the client's, or the server's when the
client sets none) is cancelled in the backend, not left running; health follows the
backend's reachability both ways.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from checkpoint_client import (
    AsyncCheckpointClient,
    Checkpoint,
    DeadlineExceeded,
    NotFound,
    Unavailable,
)
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import MemoryStore
from checkpoint_gateway.resilience import CircuitBreaker, ResilientStore

from .load import NOT_SERVING, SERVING, wait_health

pytestmark = pytest.mark.faults


class Misbehaving(MemoryStore):
    """Saves hang while ``hang`` is set (noting their cancellation); every call fails
    with Unavailable while ``down`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = False
        self.down = False
        self.entered = asyncio.Event()
        self.cancelled = asyncio.Event()

    def _check(self) -> None:
        if self.down:
            raise Unavailable("connection refused")

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        self._check()
        if self.hang:
            self.entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return await super()._save(checkpoint, expected_version)

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        self._check()
        return await super()._latest(execution_id, namespace)


@pytest.fixture
def backend() -> Misbehaving:
    return Misbehaving()


async def _gateway(store: ResilientStore) -> Gateway:
    return await Gateway.start(store, health_probe_interval=0.05, health_probe_timeout=1.0)


@pytest.fixture
async def gateway(backend: Misbehaving) -> AsyncIterator[Gateway]:
    breaker = CircuitBreaker(failure_threshold=2, open_seconds=0.2)
    gw = await _gateway(ResilientStore(backend, breaker=breaker, call_timeout=None))
    yield gw
    await gw.stop(grace=1)


async def test_the_clients_deadline_cancels_the_backend_call(
    backend: Misbehaving, gateway: Gateway
) -> None:
    backend.hang = True
    async with AsyncCheckpointClient(f"127.0.0.1:{gateway.port}", timeout=0.3) as client:
        with pytest.raises(DeadlineExceeded):
            await client.save(Checkpoint("run", {}))
    await asyncio.wait_for(backend.cancelled.wait(), 5)


async def test_the_servers_deadline_applies_when_the_client_sets_none(
    backend: Misbehaving,
) -> None:
    backend.hang = True
    gw = await _gateway(ResilientStore(backend, call_timeout=0.3))
    try:
        async with AsyncCheckpointClient(f"127.0.0.1:{gw.port}", timeout=None) as client:
            with pytest.raises(DeadlineExceeded):
                await client.save(Checkpoint("run", {}))
        await asyncio.wait_for(backend.cancelled.wait(), 5)
    finally:
        await gw.stop(grace=1)


async def test_health_follows_the_backend_and_the_breaker_fails_fast(
    backend: Misbehaving, gateway: Gateway
) -> None:
    target = f"127.0.0.1:{gateway.port}"
    assert await wait_health(target, SERVING, bound=5) is not None
    backend.down = True
    assert await wait_health(target, NOT_SERVING, bound=5) is not None
    async with AsyncCheckpointClient(target, timeout=5, service_config=None) as client:
        with pytest.raises(Unavailable):
            await client.save(Checkpoint("run", {}))
        backend.down = False
        assert await wait_health(target, SERVING, bound=5) is not None
        with pytest.raises(NotFound):
            await client.latest("run")
        assert (await client.save(Checkpoint("run", {}))).version == 1


async def test_drain_refuses_new_calls_while_health_says_not_serving(
    backend: Misbehaving, gateway: Gateway
) -> None:
    backend.hang = True
    target = f"127.0.0.1:{gateway.port}"
    async with AsyncCheckpointClient(target, timeout=10, service_config=None) as client:
        in_flight = asyncio.create_task(client.save(Checkpoint("run", {})))
        await backend.entered.wait()
        stopping = asyncio.create_task(gateway.stop(grace=0.5))
        assert await wait_health(target, NOT_SERVING, bound=5) is not None
        with pytest.raises(Unavailable):  # new calls are refused
            await _until_refused(client)
        # The grace period ends with the save still hung: it is cut, and the caller is
        # told to retry elsewhere rather than left to its deadline.
        with pytest.raises(Unavailable):
            await in_flight
        await stopping
    assert backend.cancelled.is_set()


async def _until_refused(client: AsyncCheckpointClient) -> None:
    """Call until the gateway refuses (NotFound while it still serves); bounded."""
    async with asyncio.timeout(5):
        while True:
            with pytest.raises(NotFound):
                await client.latest("run")
