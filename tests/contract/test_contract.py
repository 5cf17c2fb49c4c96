"""The contract every CheckpointStore keeps, run against every backend, in-process and
through a real gateway with the async and the sync client (see tests/conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from checkpoint_client import (
    Checkpoint,
    CheckpointStore,
    Conflict,
    InvalidArgument,
    NotFound,
    PendingWrite,
    iter_checkpoints,
)


def cp(execution_id: str = "run-1", state: object = None, **kw: object) -> Checkpoint:
    return Checkpoint(execution_id, {"n": 0} if state is None else state, **kw)  # type: ignore[arg-type]


async def save_n(
    store: CheckpointStore, n: int, execution_id: str = "run-1", **kw: object
) -> list[Checkpoint]:
    out = []
    for i in range(n):
        out.append(await store.save(cp(execution_id, {"n": i}, metadata={"step": i}, **kw)))  # type: ignore[arg-type]
    return out


# -- save / load / latest -------------------------------------------------------------------


async def test_save_then_load_round_trips_every_field(store: CheckpointStore) -> None:
    original = Checkpoint(
        "run-1",
        {"messages": ["hi", "hello"], "count": 2, "nested": {"ok": True}},
        namespace="sub:1",
        checkpoint_id="cp-1",
        parent_id="cp-0",
        node="agent",
        next_nodes=["tools", "critic"],
        metadata={"source": "loop", "step": 3, "writes": {"agent": 1}},
    )
    before = datetime.now(UTC)
    saved = await store.save(original)
    assert saved.checkpoint_id == "cp-1"
    assert saved.version == 1
    assert saved.created_at is not None
    assert (
        before.timestamp() - 5 <= saved.created_at.timestamp() <= datetime.now(UTC).timestamp() + 5
    )

    loaded = await store.load("run-1", "cp-1", namespace="sub:1")
    assert loaded.state == {"messages": ["hi", "hello"], "count": 2, "nested": {"ok": True}}
    assert loaded.content_type == "application/json"
    assert (loaded.parent_id, loaded.node, loaded.next_nodes) == (
        "cp-0",
        "agent",
        ("tools", "critic"),
    )
    assert loaded.metadata == {"source": "loop", "step": 3, "writes": {"agent": 1}}
    assert loaded.version == 1
    assert loaded.created_at == saved.created_at
    assert loaded.pending_writes == ()
    assert loaded == saved


async def test_raw_bytes_pass_through_untouched(store: CheckpointStore) -> None:
    blob = bytes(range(256)) * 40 + b"\x00\xff"
    await store.save(cp(state=blob, checkpoint_id="b", content_type="application/msgpack"))
    loaded = await store.load("run-1", "b")
    assert loaded.state == blob
    assert loaded.state_bytes == blob
    assert loaded.content_type == "application/msgpack"


async def test_empty_state_and_unicode_fields(store: CheckpointStore) -> None:
    await store.save(Checkpoint("exé-ü 🚀", b"", checkpoint_id="ïd", node="nœud"))
    loaded = await store.load("exé-ü 🚀", "ïd")
    assert loaded.state == b""
    assert loaded.content_type == "application/octet-stream"
    assert loaded.node == "nœud"


async def test_save_assigns_time_ordered_ids_and_versions(store: CheckpointStore) -> None:
    saved = await save_n(store, 5)
    assert [s.version for s in saved] == [1, 2, 3, 4, 5]
    ids = [s.checkpoint_id for s in saved]
    assert all(ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == 5


async def test_latest_is_the_highest_version(store: CheckpointStore) -> None:
    # Ids that sort the other way round: latest must follow save order, not id order.
    for i, cid in enumerate(["c", "b", "a"]):
        await store.save(cp(state={"i": i}, checkpoint_id=cid))
    latest = await store.latest("run-1")
    assert latest.checkpoint_id == "a"
    assert latest.state == {"i": 2}
    assert latest.version == 3


async def test_missing_things_raise_not_found(store: CheckpointStore) -> None:
    with pytest.raises(NotFound):
        await store.latest("nobody")
    with pytest.raises(NotFound):
        await store.load("nobody", "x")
    await store.save(cp(checkpoint_id="a"))
    with pytest.raises(NotFound):
        await store.load("run-1", "zzz")
    with pytest.raises(NotFound):
        await store.latest("run-1", namespace="other")
    with pytest.raises(NotFound):
        await store.list("run-1", before="zzz")


async def test_resave_same_content_is_idempotent(store: CheckpointStore) -> None:
    first = await store.save(cp(checkpoint_id="a", metadata={"k": 1}))
    await store.save(cp(checkpoint_id="b"))
    again = await store.save(cp(checkpoint_id="a", metadata={"k": 1}))
    assert again.version == first.version == 1
    assert again.created_at == first.created_at
    page = await store.list("run-1")
    assert [c.checkpoint_id for c in page.checkpoints] == ["b", "a"]


async def test_resave_different_content_conflicts_and_changes_nothing(
    store: CheckpointStore,
) -> None:
    await store.save(cp(state={"v": 1}, checkpoint_id="a"))
    with pytest.raises(Conflict):
        await store.save(cp(state={"v": 2}, checkpoint_id="a"))
    assert (await store.load("run-1", "a")).state == {"v": 1}


# -- compare-and-set --------------------------------------------------------------------------


async def test_compare_and_set(store: CheckpointStore) -> None:
    first = await store.save(cp(checkpoint_id="a"), expected_version=0)
    assert first.version == 1
    with pytest.raises(Conflict):
        await store.save(cp(checkpoint_id="b"), expected_version=0)
    with pytest.raises(Conflict):
        await store.save(cp(checkpoint_id="b"), expected_version=2)
    second = await store.save(cp(checkpoint_id="b"), expected_version=1)
    assert second.version == 2
    page = await store.list("run-1")
    assert [c.checkpoint_id for c in page.checkpoints] == ["b", "a"]


async def test_concurrent_compare_and_set_has_one_winner(store: CheckpointStore) -> None:
    await store.save(cp(checkpoint_id="base"))
    results = await asyncio.gather(
        *(store.save(cp(checkpoint_id=f"c{i}"), expected_version=1) for i in range(8)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Checkpoint)]
    assert len(winners) == 1
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, Checkpoint))
    assert (await store.latest("run-1")).checkpoint_id == winners[0].checkpoint_id


# -- list -------------------------------------------------------------------------------------


async def test_list_is_newest_first_and_pages(store: CheckpointStore) -> None:
    saved = await save_n(store, 7)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await store.list("run-1", limit=3, page_token=token)
        pages += 1
        assert len(page.checkpoints) <= 3
        seen += [c.checkpoint_id for c in page.checkpoints]
        token = page.next_page_token
        if token is None:
            break
    assert pages == 3
    assert seen == [s.checkpoint_id for s in reversed(saved)]
    versions = [c.version for c in (await store.list("run-1", limit=100)).checkpoints]
    assert versions == [7, 6, 5, 4, 3, 2, 1]


async def test_list_exact_page_boundary_has_no_empty_extra_page(store: CheckpointStore) -> None:
    await save_n(store, 4)
    first = await store.list("run-1", limit=2)
    second = await store.list("run-1", limit=2, page_token=first.next_page_token)
    assert len(second.checkpoints) == 2
    assert second.next_page_token is None


async def test_list_before(store: CheckpointStore) -> None:
    saved = await save_n(store, 5)
    page = await store.list("run-1", before=saved[3].checkpoint_id, limit=2)
    assert [c.version for c in page.checkpoints] == [3, 2]
    rest = await store.list(
        "run-1", before=saved[3].checkpoint_id, limit=2, page_token=page.next_page_token
    )
    assert [c.version for c in rest.checkpoints] == [1]
    assert rest.next_page_token is None


async def test_list_metadata_filter(store: CheckpointStore) -> None:
    for i in range(6):
        meta = {"source": "loop" if i % 2 else "input", "step": i, "flag": i == 4, "none": None}
        await store.save(cp(state={"i": i}, metadata=meta))
    loops = await store.list("run-1", metadata_filter={"source": "loop"})
    assert [c.metadata["step"] for c in loops.checkpoints] == [5, 3, 1]
    assert [
        c.version for c in (await store.list("run-1", metadata_filter={"step": 2})).checkpoints
    ] == [3]
    assert [
        c.metadata["step"]
        for c in (await store.list("run-1", metadata_filter={"step": 2.0})).checkpoints
    ] == [2]
    assert [
        c.metadata["step"]
        for c in (await store.list("run-1", metadata_filter={"flag": True})).checkpoints
    ] == [4]
    # JSON equality: true is not 1, "1" is not 1, a missing key never matches.
    assert (await store.list("run-1", metadata_filter={"step": True})).checkpoints == []
    assert (await store.list("run-1", metadata_filter={"step": "1"})).checkpoints == []
    assert (await store.list("run-1", metadata_filter={"nope": None})).checkpoints == []
    assert len((await store.list("run-1", metadata_filter={"none": None})).checkpoints) == 6
    both = await store.list("run-1", metadata_filter={"source": "input", "step": 4})
    assert [c.metadata["step"] for c in both.checkpoints] == [4]


async def test_list_filter_pages(store: CheckpointStore) -> None:
    for i in range(9):
        await store.save(cp(state={"i": i}, metadata={"even": i % 2 == 0}))
    got: list[int] = []
    token = None
    while True:
        page = await store.list("run-1", limit=2, page_token=token, metadata_filter={"even": True})
        got += [c.state["i"] for c in page.checkpoints]
        token = page.next_page_token
        if token is None:
            break
    assert got == [8, 6, 4, 2, 0]


async def test_list_omits_pending_writes_and_keeps_state(store: CheckpointStore) -> None:
    saved = await store.save(cp(state={"big": "x" * 100}))
    await store.put_writes("run-1", saved.checkpoint_id, [PendingWrite("t", 0, "ch", b"v")])
    page = await store.list("run-1")
    assert page.checkpoints[0].state == {"big": "x" * 100}
    assert page.checkpoints[0].pending_writes == ()


async def test_list_of_unknown_execution_is_empty(store: CheckpointStore) -> None:
    page = await store.list("nobody")
    assert page.checkpoints == []
    assert page.next_page_token is None


async def test_iter_checkpoints_walks_every_page(store: CheckpointStore) -> None:
    await save_n(store, 5)
    got = [c.version async for c in iter_checkpoints(store, "run-1", page_size=2)]
    assert got == [5, 4, 3, 2, 1]


async def test_iter_checkpoints_before_starts_below_it_on_every_page(
    store: CheckpointStore,
) -> None:
    saved = await save_n(store, 6)
    before = saved[4].checkpoint_id  # version 5
    got = [c.version async for c in iter_checkpoints(store, "run-1", page_size=2, before=before)]
    assert got == [4, 3, 2, 1]


async def test_page_token_from_another_listing_is_rejected(store: CheckpointStore) -> None:
    await save_n(store, 3)
    await save_n(store, 3, execution_id="run-2")
    page = await store.list("run-1", limit=1)
    assert page.next_page_token
    with pytest.raises(InvalidArgument):
        await store.list("run-2", limit=1, page_token=page.next_page_token)
    with pytest.raises(InvalidArgument):
        await store.list(
            "run-1", limit=1, page_token=page.next_page_token, metadata_filter={"step": 1}
        )


# -- isolation --------------------------------------------------------------------------------


async def test_namespaces_and_executions_are_isolated(store: CheckpointStore) -> None:
    await store.save(cp("run-1", {"w": "root"}, checkpoint_id="same"))
    await store.save(cp("run-1", {"w": "sub"}, checkpoint_id="same", namespace="child"))
    await store.save(cp("run-2", {"w": "other"}, checkpoint_id="same"))
    assert (await store.load("run-1", "same")).state == {"w": "root"}
    assert (await store.load("run-1", "same", namespace="child")).state == {"w": "sub"}
    assert (await store.load("run-2", "same")).state == {"w": "other"}
    # Versions count per (execution, namespace).
    assert (await store.latest("run-1", namespace="child")).version == 1
    assert len((await store.list("run-1")).checkpoints) == 1
    assert len((await store.list("run-1", namespace="child")).checkpoints) == 1


async def test_prefix_ids_do_not_leak_into_each_other(store: CheckpointStore) -> None:
    await store.save(cp("run", checkpoint_id="a"))
    await store.save(cp("run-1", checkpoint_id="a"))
    await store.save(cp("run", checkpoint_id="a", namespace="x"))
    assert len((await store.list("run")).checkpoints) == 1
    assert await store.clear("run", namespace="") == 1
    assert (await store.latest("run-1")).checkpoint_id == "a"
    assert (await store.latest("run", namespace="x")).checkpoint_id == "a"


# -- delete / clear ---------------------------------------------------------------------------


async def test_delete(store: CheckpointStore) -> None:
    saved = await save_n(store, 3)
    middle = saved[1].checkpoint_id
    await store.put_writes("run-1", middle, [PendingWrite("t", 0, "ch", b"x")])
    assert await store.delete("run-1", middle) is True
    assert await store.delete("run-1", middle) is False
    with pytest.raises(NotFound):
        await store.load("run-1", middle)
    assert [c.version for c in (await store.list("run-1")).checkpoints] == [3, 1]
    # A new save continues after the latest, and the deleted id may be reused cleanly.
    again = await store.save(cp(state={"again": 1}, checkpoint_id=middle))
    assert again.version == 4
    assert (await store.load("run-1", middle)).pending_writes == ()


async def test_delete_latest_moves_latest_back(store: CheckpointStore) -> None:
    saved = await save_n(store, 2)
    await store.delete("run-1", saved[1].checkpoint_id)
    assert (await store.latest("run-1")).checkpoint_id == saved[0].checkpoint_id


async def test_clear_one_namespace_or_all(store: CheckpointStore) -> None:
    await save_n(store, 3)
    await save_n(store, 2, namespace="child")
    await save_n(store, 1, execution_id="run-2")
    assert await store.clear("run-1", namespace="child") == 2
    with pytest.raises(NotFound):
        await store.latest("run-1", namespace="child")
    assert (await store.latest("run-1")).version == 3
    await save_n(store, 2, namespace="child")
    assert await store.clear("run-1") == 5
    with pytest.raises(NotFound):
        await store.latest("run-1")
    assert await store.clear("run-1") == 0
    assert (await store.latest("run-2")).version == 1
    # After a clear the lineage starts again at version 1.
    assert (await store.save(cp("run-1"))).version == 1


# -- pending writes ---------------------------------------------------------------------------


async def test_put_writes_are_returned_with_load_and_latest(store: CheckpointStore) -> None:
    saved = await store.save(cp(checkpoint_id="a"))
    writes = [
        PendingWrite("task-b", 0, "messages", {"m": 1}),
        PendingWrite(
            "task-a", 1, "out", b"\x01\x02", content_type="application/msgpack", task_path="p/1"
        ),
        PendingWrite("task-a", 0, "out", b"first"),
        PendingWrite("task-a", -1, "__error__", b"boom"),
    ]
    assert await store.put_writes("run-1", saved.checkpoint_id, writes) == 4
    loaded = await store.load("run-1", "a")
    assert [(w.task_id, w.idx) for w in loaded.pending_writes] == [
        ("task-a", -1),
        ("task-a", 0),
        ("task-a", 1),
        ("task-b", 0),
    ]
    by_key = {(w.task_id, w.idx): w for w in loaded.pending_writes}
    assert by_key[("task-b", 0)].value == {"m": 1}
    assert by_key[("task-a", 1)].value == b"\x01\x02"
    assert by_key[("task-a", 1)].content_type == "application/msgpack"
    assert by_key[("task-a", 1)].task_path == "p/1"
    assert (await store.latest("run-1")).pending_writes == loaded.pending_writes


async def test_put_writes_first_write_of_a_key_wins_special_writes_replace(
    store: CheckpointStore,
) -> None:
    # LangGraph's rule: a regular write (idx >= 0) is stored once, so a retried or
    # repeated task cannot change what the first attempt wrote; a special write (an
    # error, an interrupt, a resume: idx < 0) is the latest word.
    await store.save(cp(checkpoint_id="a"))
    await store.put_writes(
        "run-1",
        "a",
        [
            PendingWrite("t", 0, "ch", b"first"),
            PendingWrite("t", 1, "ch", b"keep"),
            PendingWrite("t", -1, "__error__", b"boom-1"),
        ],
    )
    assert await store.put_writes("run-1", "a", [PendingWrite("t", 0, "ch", b"second")]) == 1
    await store.put_writes("run-1", "a", [PendingWrite("t", -1, "__error__", b"boom-2")])
    # Within one call too: the first regular write of a key, the last special one.
    await store.put_writes(
        "run-1",
        "a",
        [
            PendingWrite("u", 0, "ch", b"u-first"),
            PendingWrite("u", 0, "ch", b"u-second"),
            PendingWrite("u", -3, "__interrupt__", b"i-1"),
            PendingWrite("u", -3, "__interrupt__", b"i-2"),
        ],
    )
    writes = (await store.load("run-1", "a")).pending_writes
    assert [(w.task_id, w.idx, w.value) for w in writes] == [
        ("t", -1, b"boom-2"),
        ("t", 0, b"first"),
        ("t", 1, b"keep"),
        ("u", -3, b"i-2"),
        ("u", 0, b"u-first"),
    ]


async def test_writes_may_come_before_their_checkpoint(store: CheckpointStore) -> None:
    # LangGraph sends a step's writes before, or alongside, the save of its checkpoint.
    assert await store.put_writes("run-1", "a", [PendingWrite("t", 0, "ch", b"early")]) == 1
    await store.put_writes(
        "run-1", "a", [PendingWrite("t", -3, "__interrupt__", b"i")], namespace="sub"
    )
    with pytest.raises(NotFound):
        await store.load("run-1", "a")
    await store.save(cp(checkpoint_id="a"))
    await store.put_writes("run-1", "a", [PendingWrite("t", 1, "ch", b"late")])
    loaded = await store.load("run-1", "a")
    assert [(w.idx, w.value) for w in loaded.pending_writes] == [(0, b"early"), (1, b"late")]
    assert (await store.latest("run-1")).pending_writes == loaded.pending_writes
    # The namespace is part of the key: the write in "sub" waits for a checkpoint there.
    await store.save(cp(checkpoint_id="a", namespace="sub"))
    sub = await store.load("run-1", "a", namespace="sub")
    assert [(w.idx, w.value) for w in sub.pending_writes] == [(-3, b"i")]


async def test_writes_belong_to_their_checkpoint(store: CheckpointStore) -> None:
    await store.save(cp(checkpoint_id="a"))
    await store.save(cp(checkpoint_id="b"))
    await store.put_writes("run-1", "a", [PendingWrite("t", 0, "ch", b"for-a")])
    assert (await store.latest("run-1")).pending_writes == ()
    assert len((await store.load("run-1", "a")).pending_writes) == 1


# -- concurrency ------------------------------------------------------------------------------


async def test_64_concurrent_saves_on_one_execution_lose_nothing(store: CheckpointStore) -> None:
    saved = await asyncio.gather(*(store.save(cp(state={"i": i})) for i in range(64)))
    versions = sorted(s.version for s in saved)
    assert versions == list(range(1, 65))
    listed = [c async for c in iter_checkpoints(store, "run-1", page_size=50)]
    assert len(listed) == 64
    assert sorted(c.state["i"] for c in listed) == list(range(64))
    assert [c.version for c in listed] == list(range(64, 0, -1))


async def test_concurrent_saves_across_executions(store: CheckpointStore) -> None:
    await asyncio.gather(*(store.save(cp(f"run-{i % 8}", {"i": i})) for i in range(64)))
    for e in range(8):
        assert (await store.latest(f"run-{e}")).version == 8
