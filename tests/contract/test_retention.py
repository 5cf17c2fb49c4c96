"""Retention on every backend: keep-newest-N pruning and TTL expiry (with a test clock)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from checkpoint_client import Checkpoint, NotFound, PendingWrite
from checkpoint_gateway.backends import Backend, Retention
from tests.clock import FakeClock

MakeBackend = Callable[..., Awaitable[Backend]]


async def test_retention_is_off_by_default(make_backend: MakeBackend) -> None:
    store = await make_backend()
    for i in range(30):
        await store.save(Checkpoint("run", {"i": i}))
    assert len((await store.list("run", limit=100)).checkpoints) == 30


async def test_max_checkpoints_prunes_oldest_on_save(make_backend: MakeBackend) -> None:
    store = await make_backend(retention=Retention(max_checkpoints=3))
    saved = [await store.save(Checkpoint("run", {"i": i})) for i in range(6)]
    await store.put_writes("run", saved[5].checkpoint_id, [PendingWrite("t", 0, "c", b"x")])
    page = await store.list("run", limit=100)
    assert [c.version for c in page.checkpoints] == [6, 5, 4]
    for old in saved[:3]:
        with pytest.raises(NotFound):
            await store.load("run", old.checkpoint_id)
    assert len((await store.latest("run")).pending_writes) == 1
    # Another lineage is pruned on its own.
    await store.save(Checkpoint("run", {"x": 1}, namespace="child"))
    assert len((await store.list("run", namespace="child")).checkpoints) == 1
    assert len((await store.list("run")).checkpoints) == 3


async def test_ttl_hides_expired_checkpoints(make_backend: MakeBackend) -> None:
    clock = FakeClock()
    store = await make_backend(retention=Retention(ttl_seconds=60), clock=clock)
    old = await store.save(Checkpoint("run", {"i": 0}, checkpoint_id="old"))
    clock.advance(30)
    await store.save(Checkpoint("run", {"i": 1}, checkpoint_id="new"))
    clock.advance(31)  # "old" is now 61 s old, "new" 31 s
    with pytest.raises(NotFound):
        await store.load("run", old.checkpoint_id)
    assert [c.checkpoint_id for c in (await store.list("run")).checkpoints] == ["new"]
    assert (await store.latest("run")).checkpoint_id == "new"
    with pytest.raises(NotFound):
        await store.list("run", before="old")
    clock.advance(30)
    with pytest.raises(NotFound):
        await store.latest("run")
    assert (await store.list("run")).checkpoints == []
    # An expired lineage starts again; an expired id can be saved anew.
    again = await store.save(Checkpoint("run", {"i": 2}, checkpoint_id="old"))
    assert again.version == 1
    assert (await store.load("run", "old")).state == {"i": 2}
