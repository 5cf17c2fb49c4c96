"""The client's retry service config: UNAVAILABLE only, bounded, and it can be turned off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from checkpoint_client import AsyncCheckpointClient, Checkpoint, CheckpointClient, Unavailable
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import MemoryStore

pytestmark = pytest.mark.faults


class Flaky(MemoryStore):
    """``latest`` fails with Unavailable ``failures`` times, then answers; counts calls."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0
        self.calls = 0

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise Unavailable("backend restarting")
        return await super()._latest(execution_id, namespace)


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[Flaky, str]]:
    store = Flaky()
    await store.save(Checkpoint("run", {"n": 1}))
    # No resilient layer here: the gateway answers UNAVAILABLE, the client retries.
    gw = await Gateway.start(store, health_probe_interval=None)
    yield store, f"127.0.0.1:{gw.port}"
    await gw.stop(grace=1)


async def test_unavailable_is_retried_by_default(flaky: tuple[Flaky, str]) -> None:
    store, target = flaky
    store.failures = 3
    async with AsyncCheckpointClient(target) as client:
        assert (await client.latest("run")).version == 1
    assert store.calls == 4


async def test_retries_are_bounded(flaky: tuple[Flaky, str]) -> None:
    store, target = flaky
    store.failures = 100
    async with AsyncCheckpointClient(target) as client:
        with pytest.raises(Unavailable):
            await client.latest("run")
    assert store.calls == 4  # maxAttempts


async def test_other_codes_are_not_retried(flaky: tuple[Flaky, str]) -> None:
    store, target = flaky
    async with AsyncCheckpointClient(target) as client:
        with pytest.raises(Exception, match="has no checkpoints"):
            await client.latest("nobody")
    assert store.calls == 1


async def test_retries_can_be_turned_off(flaky: tuple[Flaky, str]) -> None:
    store, target = flaky
    store.failures = 1
    async with AsyncCheckpointClient(target, service_config=None) as client:
        with pytest.raises(Unavailable):
            await client.latest("run")
    assert store.calls == 1


async def test_the_sync_client_takes_the_same_setting(flaky: tuple[Flaky, str]) -> None:
    store, target = flaky
    store.failures = 1

    def call() -> None:
        # In a thread: the gateway serves from this test's event loop meanwhile.
        with CheckpointClient(target, service_config=None) as client:
            client.latest("run")

    with pytest.raises(Unavailable):
        await asyncio.to_thread(call)
    assert store.calls == 1
