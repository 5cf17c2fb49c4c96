"""``save_many`` (SaveMany on the wire): every item stored or failed on its own, in order,
on every backend, in-process and through a real gateway with both clients."""

from __future__ import annotations

import pytest

from checkpoint_client import (
    Checkpoint,
    CheckpointStore,
    Conflict,
    InvalidArgument,
    NotFound,
)

from .test_contract import cp


async def test_items_are_saved_in_order_with_consecutive_versions(store: CheckpointStore) -> None:
    items = [cp("run-1", {"n": i}, metadata={"step": i}) for i in range(5)]
    items.insert(2, cp("run-2", {"other": True}))
    results = await store.save_many(items)

    assert [type(r) for r in results] == [Checkpoint] * 6
    saved = [r for r in results if isinstance(r, Checkpoint)]
    assert [(s.execution_id, s.version) for s in saved] == [
        ("run-1", 1),
        ("run-1", 2),
        ("run-2", 1),
        ("run-1", 3),
        ("run-1", 4),
        ("run-1", 5),
    ]
    assert all(s.checkpoint_id and s.created_at is not None for s in saved)
    latest = await store.latest("run-1")
    assert latest.state == {"n": 4}
    assert latest.checkpoint_id == saved[-1].checkpoint_id
    loaded = await store.load("run-2", saved[2].checkpoint_id)
    assert loaded == saved[2]


async def test_each_item_fails_alone(store: CheckpointStore) -> None:
    await store.save(cp("run-1", {"n": 0}, checkpoint_id="taken"))
    items = [
        cp("run-1", {"n": 1}),  # ok: version 2
        cp("", {"n": 2}),  # invalid: empty execution_id
        cp("run-1", {"different": True}, checkpoint_id="taken"),  # id reused: conflict
        cp("run-1", {"n": 3}),  # compare-and-set on 2 after item 0: ok, version 3
        cp("run-1", {"n": 4}),  # compare-and-set lost
        cp("run-1", {"n": 0}, checkpoint_id="taken"),  # a retry of the first save: no-op
    ]
    results = await store.save_many(items, expected_versions=[None, None, None, 2, 2, None])

    first, invalid, reused, cas_ok, cas_lost, retried = results
    assert isinstance(first, Checkpoint)
    assert first.version == 2
    assert isinstance(invalid, InvalidArgument)
    assert "execution_id" in str(invalid)
    assert isinstance(reused, Conflict)
    assert isinstance(cas_ok, Checkpoint)
    assert cas_ok.version == 3
    assert isinstance(cas_lost, Conflict)
    assert "expected version 2" in str(cas_lost)
    assert isinstance(retried, Checkpoint)
    assert retried.version == 1
    page = await store.list("run-1")
    assert [c.version for c in page.checkpoints] == [3, 2, 1]
    assert (await store.load("run-1", "taken")).state == {"n": 0}


async def test_an_empty_batch_saves_nothing(store: CheckpointStore) -> None:
    assert await store.save_many([]) == []
    with pytest.raises(NotFound):
        await store.latest("run-1")


async def test_too_many_items_are_refused_whole(store: CheckpointStore) -> None:
    # The suite's limit is 20 items (tests/conftest.py).
    with pytest.raises(InvalidArgument, match="limit is 20"):
        await store.save_many([cp("run-1", {"n": i}) for i in range(21)])
    with pytest.raises(NotFound):
        await store.latest("run-1")
    assert len(await store.save_many([cp("run-1", {"n": i}) for i in range(20)])) == 20


async def test_expected_versions_must_match_the_items(store: CheckpointStore) -> None:
    with pytest.raises(InvalidArgument, match="expected_versions"):
        await store.save_many([cp(), cp()], expected_versions=[None])
    with pytest.raises(NotFound):
        await store.latest("run-1")


async def test_given_ids_are_kept_and_a_whole_batch_retry_stores_nothing_twice(
    store: CheckpointStore,
) -> None:
    items = [cp("run-1", {"n": i}, checkpoint_id=f"id-{i}") for i in range(3)]
    first = await store.save_many(items)
    again = await store.save_many(items)
    assert [r.checkpoint_id for r in first if isinstance(r, Checkpoint)] == [
        "id-0",
        "id-1",
        "id-2",
    ]
    assert again == first
    assert len((await store.list("run-1")).checkpoints) == 3


async def test_pending_writes_on_input_are_ignored(store: CheckpointStore) -> None:
    from checkpoint_client import PendingWrite

    item = cp("run-1", checkpoint_id="a", pending_writes=[PendingWrite("t", 0, "c", b"v")])
    (saved,) = await store.save_many([item])
    assert isinstance(saved, Checkpoint)
    assert saved.pending_writes == ()
    assert (await store.load("run-1", "a")).pending_writes == ()
