"""Bad input gets a clear InvalidArgument (or ResourceExhausted for an oversized message)
and changes nothing: on every backend, in-process and through the wire."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkpoint_client import (
    Checkpoint,
    CheckpointStore,
    InvalidArgument,
    NotFound,
    PendingWrite,
    ResourceExhausted,
)
from checkpoint_gateway.backends import Backend

from ..conftest import TEST_LIMITS

BAD_IDS = [
    "",
    "x" * (TEST_LIMITS.max_id_length + 1),
    "tab\there",
    "new\nline",
    "nul\x00byte",
    "del\x7f",
    "c1\x85",
    "lone\ud800surrogate",
]


async def assert_nothing_written(store: CheckpointStore) -> None:
    with pytest.raises(NotFound):
        await store.latest("run")
    assert (await store.list("run")).checkpoints == []


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_bad_execution_ids(store: CheckpointStore, bad: str) -> None:
    with pytest.raises(InvalidArgument):
        await store.save(Checkpoint(bad, {}))
    for call in (
        lambda: store.load(bad, "x"),
        lambda: store.latest(bad),
        lambda: store.list(bad),
        lambda: store.delete(bad, "x"),
        lambda: store.clear(bad),
        lambda: store.put_writes(bad, "x", [PendingWrite("t", 0, "c", b"")]),
    ):
        with pytest.raises(InvalidArgument):
            await call()


@pytest.mark.parametrize("bad", BAD_IDS[1:])  # "" is the root namespace / "generate an id"
async def test_bad_ids_in_other_fields(store: CheckpointStore, bad: str) -> None:
    cases: list[dict[str, Any]] = [
        {"namespace": bad},
        {"checkpoint_id": bad},
        {"parent_id": bad},
        {"node": bad},
        {"next_nodes": ["ok", bad]},
    ]
    for fields in cases:
        with pytest.raises(InvalidArgument):
            await store.save(Checkpoint("run", {}, **fields))
    await assert_nothing_written(store)


async def test_empty_next_node_is_invalid(store: CheckpointStore) -> None:
    with pytest.raises(InvalidArgument):
        await store.save(Checkpoint("run", {}, next_nodes=[""]))
    await assert_nothing_written(store)


async def test_oversized_state_and_metadata(store: CheckpointStore) -> None:
    too_big = b"x" * (TEST_LIMITS.max_state_bytes + 1)
    with pytest.raises((InvalidArgument, ResourceExhausted)) as err:
        await store.save(Checkpoint("run", too_big))
    assert "max_state_bytes" in str(err.value) or isinstance(err.value, ResourceExhausted)
    with pytest.raises(InvalidArgument, match="max_metadata_bytes"):
        await store.save(
            Checkpoint("run", {}, metadata={"k": "v" * TEST_LIMITS.max_metadata_bytes})
        )
    # Exactly at the limit is fine.
    await store.save(Checkpoint("run", b"x" * TEST_LIMITS.max_state_bytes, checkpoint_id="ok"))
    assert (await store.latest("run")).checkpoint_id == "ok"


@pytest.mark.parametrize(
    "content_type",
    [
        "",
        "json",
        "application/",
        "/json",
        "text/plain\n",
        "text/pl ain",
        "a" * 300 + "/b",
        "tëxt/plain",
    ],
)
async def test_wrong_content_types(store: CheckpointStore, content_type: str) -> None:
    with pytest.raises(InvalidArgument):
        await store.save(Checkpoint("run", b"x", content_type=content_type or "\x00"))
    with pytest.raises(InvalidArgument):
        await store.save(Checkpoint("run", b"x", content_type=content_type or " "))
    await assert_nothing_written(store)


async def test_good_content_types_pass(store: CheckpointStore) -> None:
    for ct in ("application/json", "application/x-msgpack", "text/plain; charset=utf-8"):
        await store.save(Checkpoint("run", b"x", content_type=ct))
    assert len((await store.list("run")).checkpoints) == 3


@pytest.mark.parametrize(
    "token", ["garbage", "v1.", "v1.!!!!", "v1.MTpkZWFkYmVlZg", "v1." + "A" * 200, "v2.MTph"]
)
async def test_malformed_page_tokens(store: CheckpointStore, token: str) -> None:
    await store.save(Checkpoint("run", {}))
    with pytest.raises(InvalidArgument, match="page_token"):
        await store.list("run", page_token=token)


@pytest.mark.parametrize(
    "bad_filter",
    [{"k": [1]}, {"k": {"a": 1}}, {"": 1}, {'q"uote': 1}, {"k": float("inf")}, {"back\\slash": 1}],
)
async def test_bad_metadata_filters(store: CheckpointStore, bad_filter: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        await store.list("run", metadata_filter=bad_filter)


@pytest.mark.parametrize("limit", [0, -1])
async def test_bad_limits(store: CheckpointStore, limit: int) -> None:
    with pytest.raises(InvalidArgument):
        await store.list("run", limit=limit)


async def test_big_limit_is_lowered_to_the_maximum(store: CheckpointStore) -> None:
    for i in range(TEST_LIMITS.max_page_size + 5):
        await store.save(Checkpoint("run", b"", checkpoint_id=f"c{i}"))
    page = await store.list("run", limit=10**6)
    assert len(page.checkpoints) == TEST_LIMITS.max_page_size
    assert page.next_page_token


async def test_bad_writes(store: CheckpointStore) -> None:
    await store.save(Checkpoint("run", {}, checkpoint_id="a"))
    for writes in (
        [PendingWrite("", 0, "c", b"")],
        [PendingWrite("t", 0, "", b"")],
        [PendingWrite("t", 2**31, "c", b"")],
        [PendingWrite("t", 0, "c", b"", content_type="nope")],
        [
            PendingWrite("t", i, "c", b"x" * 1024)
            for i in range(TEST_LIMITS.max_state_bytes // 1024 + 1)
        ],
    ):
        with pytest.raises((InvalidArgument, ResourceExhausted)):
            await store.put_writes("run", "a", writes)
    assert (await store.load("run", "a")).pending_writes == ()


async def test_bad_expected_version(store: CheckpointStore) -> None:
    with pytest.raises(InvalidArgument):
        await store.save(Checkpoint("run", {}), expected_version=-1)
    await assert_nothing_written(store)


# -- properties: any id is either stored faithfully or rejected, never mangled ---------------

ids = st.text(min_size=0, max_size=TEST_LIMITS.max_id_length + 8)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(execution_id=ids, checkpoint_id=ids, namespace=ids)
async def test_any_ids_round_trip_or_are_rejected(
    make_backend: Callable[..., Awaitable[Backend]],
    execution_id: str,
    checkpoint_id: str,
    namespace: str,
) -> None:
    store = await _shared_store(make_backend)
    try:
        saved = await store.save(
            Checkpoint(
                execution_id,
                {"id": checkpoint_id},
                checkpoint_id=checkpoint_id,
                namespace=namespace,
            )
        )
    except InvalidArgument:
        with pytest.raises((InvalidArgument, NotFound)):
            await store.latest(execution_id, namespace=namespace)
        return
    loaded = await store.load(execution_id, saved.checkpoint_id, namespace=namespace)
    assert (loaded.execution_id, loaded.namespace) == (execution_id, namespace)
    assert loaded.state == {"id": checkpoint_id}
    assert await store.clear(execution_id, namespace=namespace) >= 1


_STORES: dict[int, Backend] = {}


async def _shared_store(make_backend: Callable[..., Awaitable[Backend]]) -> Backend:
    # One store per test (hypothesis reuses the fixture across examples): each example
    # clears what it wrote, so examples do not see each other.
    key = id(make_backend)
    if key not in _STORES:
        _STORES.clear()
        _STORES[key] = await make_backend()
    return _STORES[key]
