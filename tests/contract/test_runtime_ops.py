"""The operations agent runtimes need beyond save and load, on every backend, in-process
and through a real gateway with both clients: channels stored once per version, writes
before their checkpoint, listings across namespaces and executions, delete by metadata,
copy, prune and the parent chain."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from checkpoint_client import (
    Channel,
    Checkpoint,
    CheckpointStore,
    Conflict,
    InvalidArgument,
    NotFound,
    PendingWrite,
)
from checkpoint_gateway.backends import Retention
from tests.clock import FakeClock

MakeStore = Callable[..., Awaitable[CheckpointStore]]


def w(task: str, idx: int, channel: str, value: bytes) -> PendingWrite:
    return PendingWrite(task, idx, channel, value)


async def clocked(make_store: MakeStore, **options: Any) -> tuple[CheckpointStore, FakeClock]:
    clock = FakeClock()
    return await make_store(clock=clock, **options), clock


async def save(
    store: CheckpointStore, clock: FakeClock | None, execution: str, cid: str, **kw: Any
) -> Checkpoint:
    """Save one checkpoint, a second after the previous one (so orders are exact)."""
    if clock is not None:
        clock.advance(1)
    state = kw.pop("state", {"id": cid})
    return await store.save(Checkpoint(execution, state, checkpoint_id=cid, **kw))


async def all_pages(fetch: Callable[[str | None], Awaitable[Any]], attr: str) -> list[Any]:
    out: list[Any] = []
    token: str | None = None
    while True:
        page = await fetch(token)
        out += getattr(page, attr)
        token = page.next_page_token
        if token is None:
            return out


# -- channels ---------------------------------------------------------------------------------


async def test_channels_are_sent_and_stored_once_per_version(store: CheckpointStore) -> None:
    first = Checkpoint(
        "run",
        b"meta-1",
        checkpoint_id="c1",
        channels={
            "messages": Channel("1", ["hi"]),
            "blob": Channel("1", b"\x00\x01", content_type="application/msgpack"),
        },
    )
    saved = await store.save(first)
    # The answer carries references; Load has the values.
    assert {n: c.has_value for n, c in saved.channels.items()} == {"messages": False, "blob": False}
    # The next step changes one channel: the other goes as a reference, without its value.
    second = Checkpoint(
        "run",
        b"meta-2",
        checkpoint_id="c2",
        parent_id="c1",
        channels={"messages": Channel("2", ["hi", "hello"]), "blob": Channel("1")},
    )
    await store.save(second)
    loaded = await store.load("run", "c2")
    assert loaded.channels["messages"].value == ["hi", "hello"]
    assert loaded.channels["blob"].value == b"\x00\x01"
    assert loaded.channels["blob"].content_type == "application/msgpack"
    assert (await store.load("run", "c1")).channels["messages"].value == ["hi"]
    listed = (await store.list("run")).checkpoints
    assert [c.channels["messages"].value for c in listed] == [["hi", "hello"], ["hi"]]
    assert (await store.latest("run")).channel_versions() == {"messages": "2", "blob": "1"}


async def test_a_channel_reference_needs_a_stored_value(store: CheckpointStore) -> None:
    await store.save(Checkpoint("run", b"", checkpoint_id="c1", channels={"a": Channel("1", 1)}))
    with pytest.raises(NotFound, match="send its value"):
        await store.save(Checkpoint("run", b"", checkpoint_id="c2", channels={"a": Channel("2")}))
    # Another lineage does not share values.
    with pytest.raises(NotFound):
        await store.save(
            Checkpoint(
                "run", b"", checkpoint_id="c2", namespace="sub", channels={"a": Channel("1")}
            )
        )
    with pytest.raises(NotFound):
        await store.load("run", "c2")


async def test_a_stored_channel_version_never_changes(store: CheckpointStore) -> None:
    await store.save(Checkpoint("run", b"", checkpoint_id="c1", channels={"a": Channel("1", 1)}))
    with pytest.raises(Conflict):
        await store.save(
            Checkpoint("run", b"", checkpoint_id="c2", channels={"a": Channel("1", 2)})
        )
    # The same value again is fine (a client unsure what is stored resends it).
    await store.save(Checkpoint("run", b"", checkpoint_id="c2", channels={"a": Channel("1", 1)}))
    assert (await store.load("run", "c2")).channels["a"].value == 1


async def test_a_retried_save_with_channels_is_a_no_op(store: CheckpointStore) -> None:
    cp = Checkpoint("run", b"", checkpoint_id="c1", channels={"a": Channel("1", [1])})
    first = await store.save(cp)
    again = await store.save(cp)
    assert (again.version, again.created_at) == (first.version, first.created_at)
    # A retry may send the stored version as a reference; other versions are a conflict.
    await store.save(Checkpoint("run", b"", checkpoint_id="c1", channels={"a": Channel("1")}))
    with pytest.raises(Conflict):
        await store.save(
            Checkpoint("run", b"", checkpoint_id="c1", channels={"a": Channel("2", 2)})
        )
    assert len((await store.list("run")).checkpoints) == 1


async def test_channel_values_go_with_the_last_checkpoint_that_carries_them(
    store: CheckpointStore,
) -> None:
    await store.save(
        Checkpoint(
            "run",
            b"",
            checkpoint_id="c1",
            channels={"a": Channel("1", "A1"), "b": Channel("1", "B1")},
        )
    )
    await store.save(
        Checkpoint(
            "run", b"", checkpoint_id="c2", channels={"a": Channel("2", "A2"), "b": Channel("1")}
        )
    )
    assert await store.delete("run", "c1")
    # a@1 was carried by c1 alone: gone. b@1 is still carried by c2: kept.
    with pytest.raises(NotFound):
        await store.save(Checkpoint("run", b"", checkpoint_id="c3", channels={"a": Channel("1")}))
    await store.save(Checkpoint("run", b"", checkpoint_id="c3", channels={"b": Channel("1")}))
    assert (await store.load("run", "c3")).channels["b"].value == "B1"


async def test_channels_over_the_state_limit_are_refused(store: CheckpointStore) -> None:
    big = b"x" * (200 * 1024)  # TEST_LIMITS: 256 KiB of state and channel values together
    with pytest.raises(InvalidArgument, match="max_state_bytes"):
        await store.save(
            Checkpoint("run", big, channels={"a": Channel("1", big)}, checkpoint_id="c")
        )
    with pytest.raises(InvalidArgument):
        await store.save(Checkpoint("run", b"", channels={"a\x00": Channel("1", 1)}))
    with pytest.raises(InvalidArgument):
        await store.save(Checkpoint("run", b"", channels={"a": Channel("", 1)}))
    assert (await store.list("run")).checkpoints == []


# -- pending writes before their checkpoint ---------------------------------------------------


async def test_64_writes_racing_their_checkpoints_lose_nothing(store: CheckpointStore) -> None:
    async def pair(i: int) -> None:
        cid = f"c{i:02d}"
        await asyncio.gather(
            store.put_writes(f"run-{i % 4}", cid, [w(f"t{i}", 0, "ch", b"%d" % i)]),
            store.save(Checkpoint(f"run-{i % 4}", {"i": i}, checkpoint_id=cid)),
            store.put_writes(f"run-{i % 4}", cid, [w(f"t{i}", -3, "__interrupt__", b"i")]),
        )

    await asyncio.gather(*(pair(i) for i in range(64)))
    for i in range(64):
        loaded = await store.load(f"run-{i % 4}", f"c{i:02d}")
        assert [(x.idx, x.value) for x in loaded.pending_writes] == [
            (-3, b"i"),
            (0, b"%d" % i),
        ], i


async def test_writes_without_a_checkpoint_go_with_delete_and_clear(store: CheckpointStore) -> None:
    await store.put_writes("run", "x", [w("t", 0, "ch", b"orphan")])
    assert await store.delete("run", "x") is False
    await store.save(Checkpoint("run", {}, checkpoint_id="x"))
    assert (await store.load("run", "x")).pending_writes == ()
    await store.put_writes("run", "y", [w("t", 0, "ch", b"orphan")], namespace="sub")
    assert await store.clear("run") == 1
    await store.save(Checkpoint("run", {}, checkpoint_id="y", namespace="sub"))
    assert (await store.load("run", "y", namespace="sub")).pending_writes == ()


async def test_retention_takes_orphan_writes_older_than_what_it_removes(
    make_store: MakeStore,
) -> None:
    store, clock = await clocked(make_store, retention=Retention(max_checkpoints=1))
    clock.advance(1)
    await store.put_writes("run", "lost", [w("t", 0, "ch", b"old")])  # its save never comes
    await save(store, clock, "run", "c1")
    await save(store, clock, "run", "c2")  # removes c1, and the orphans stored before c1
    # A runtime makes a step's writes once the previous save is answered: these are for
    # checkpoints still to come, newer than anything retention removes.
    clock.advance(1)
    await store.put_writes("run", "coming", [w("t", 0, "ch", b"new")])
    await store.put_writes("run", "pending", [w("t", 0, "ch", b"new")])
    await save(store, clock, "run", "coming")  # removes c2
    assert len((await store.load("run", "coming")).pending_writes) == 1
    await save(store, clock, "run", "pending")  # removes "coming"
    assert len((await store.load("run", "pending")).pending_writes) == 1
    await save(store, clock, "run", "lost")
    assert (await store.load("run", "lost")).pending_writes == ()


async def test_ttl_takes_orphan_writes_older_than_the_ttl(make_store: MakeStore) -> None:
    store, clock = await clocked(make_store, retention=Retention(ttl_seconds=60))
    await store.put_writes("run", "late", [w("t", 0, "ch", b"w")])
    clock.advance(61)
    await save(store, clock, "run", "late")
    assert (await store.load("run", "late")).pending_writes == ()
    await store.put_writes("run", "soon", [w("t", 0, "ch", b"w")])
    clock.advance(30)
    await save(store, clock, "run", "soon")
    assert len((await store.load("run", "soon")).pending_writes) == 1


# -- every namespace of an execution ----------------------------------------------------------


async def test_list_spans_every_namespace_newest_first(make_store: MakeStore) -> None:
    store, clock = await clocked(make_store)
    order = [("", "r1"), ("child:1", "s1"), ("", "r2"), ("child:2", "t1"), ("child:1", "s2")]
    for ns, cid in order:
        await save(store, clock, "run", cid, namespace=ns, metadata={"ns": ns})
    await save(store, clock, "other", "o1")
    page = await store.list("run", all_namespaces=True)
    assert [(c.namespace, c.checkpoint_id) for c in page.checkpoints] == order[::-1]
    assert page.next_page_token is None
    # Paged, with a filter, and from a `before` (looked up in `namespace`).
    pages = await all_pages(
        lambda t: store.list("run", all_namespaces=True, limit=2, page_token=t), "checkpoints"
    )
    assert [c.checkpoint_id for c in pages] == [cid for _, cid in order[::-1]]
    filtered = await store.list("run", all_namespaces=True, metadata_filter={"ns": "child:1"})
    assert [c.checkpoint_id for c in filtered.checkpoints] == ["s2", "s1"]
    before = await store.list("run", all_namespaces=True, before="r2")
    assert [c.checkpoint_id for c in before.checkpoints] == ["s1", "r1"]
    before = await store.list("run", all_namespaces=True, before="t1", namespace="child:2")
    assert [c.checkpoint_id for c in before.checkpoints] == ["r2", "s1", "r1"]


async def test_list_with_writes_fills_pending_writes(store: CheckpointStore) -> None:
    await store.save(Checkpoint("run", {}, checkpoint_id="a"))
    await store.save(Checkpoint("run", {}, checkpoint_id="b"))
    await store.put_writes("run", "a", [w("t", 0, "ch", b"for-a"), w("t", 1, "ch", b"2")])
    plain = (await store.list("run")).checkpoints
    assert [c.pending_writes for c in plain] == [(), ()]
    full = (await store.list("run", with_writes=True)).checkpoints
    assert [len(c.pending_writes) for c in full] == [0, 2]
    across = (await store.list("run", with_writes=True, all_namespaces=True)).checkpoints
    assert [len(c.pending_writes) for c in across] == [0, 2]


async def test_namespaces_are_listed_in_order_and_paged(store: CheckpointStore) -> None:
    for ns in ["b", "", "a:1", "a"]:
        await store.save(Checkpoint("run", {}, namespace=ns))
    await store.put_writes("run", "x", [w("t", 0, "c", b"")], namespace="only-writes")
    assert (await store.namespaces("run")).namespaces == ["", "a", "a:1", "b"]
    pages = await all_pages(lambda t: store.namespaces("run", limit=3, page_token=t), "namespaces")
    assert pages == ["", "a", "a:1", "b"]
    assert (await store.namespaces("nobody")).namespaces == []
    await store.clear("run", namespace="a")
    assert (await store.namespaces("run")).namespaces == ["", "a:1", "b"]


# -- across executions ------------------------------------------------------------------------


async def test_executions_are_listed_most_recently_saved_first(make_store: MakeStore) -> None:
    store, clock = await clocked(make_store)
    for eid in ["e1", "e2", "e3"]:
        await save(store, clock, eid, "c1")
    await save(store, clock, "e1", "c2", namespace="sub")  # e1 is the freshest now
    page = await store.executions()
    assert [x.execution_id for x in page.executions] == ["e1", "e3", "e2"]
    assert page.executions[0].updated_at == clock.now
    assert page.next_page_token is None
    pages = await all_pages(lambda t: store.executions(limit=2, page_token=t), "executions")
    assert [x.execution_id for x in pages] == ["e1", "e3", "e2"]
    await store.clear("e3")
    await store.delete("e2", "c1")
    await store.put_writes("e4", "x", [w("t", 0, "c", b"")])  # writes alone: no execution
    assert [x.execution_id for x in (await store.executions()).executions] == ["e1"]


async def test_search_finds_checkpoints_across_executions(make_store: MakeStore) -> None:
    store, clock = await clocked(make_store)
    await save(store, clock, "e1", "a", metadata={"run_id": "r1", "step": 1})
    await save(store, clock, "e2", "b", metadata={"run_id": "r2"})
    await save(store, clock, "e2", "c", namespace="sub", metadata={"run_id": "r1", "step": 2})
    await save(store, clock, "e3", "d", metadata={"run_id": "r1"})
    await store.put_writes("e2", "c", [w("t", 0, "ch", b"x")], namespace="sub")
    found = await store.search({"run_id": "r1"})
    assert [(c.execution_id, c.checkpoint_id) for c in found.checkpoints] == [
        ("e3", "d"),
        ("e2", "c"),
        ("e1", "a"),
    ]
    assert found.checkpoints[1].pending_writes == ()
    with_writes = await store.search({"run_id": "r1", "step": 2}, with_writes=True)
    assert [len(c.pending_writes) for c in with_writes.checkpoints] == [1]
    everything = await all_pages(lambda t: store.search(limit=1, page_token=t), "checkpoints")
    assert [c.checkpoint_id for c in everything] == ["d", "c", "b", "a"]
    assert (await store.search({"run_id": "none"})).checkpoints == []


async def test_delete_where_removes_matches_and_their_writes(store: CheckpointStore) -> None:
    await store.save(Checkpoint("e1", {}, checkpoint_id="a", metadata={"run_id": "r1"}))
    await store.save(Checkpoint("e1", {}, checkpoint_id="b", metadata={"run_id": "r2"}))
    await store.save(
        Checkpoint("e2", {}, checkpoint_id="c", namespace="sub", metadata={"run_id": "r1"})
    )
    await store.save(Checkpoint("e3", {}, checkpoint_id="d", metadata={"run_id": "r1"}))
    await store.put_writes("e1", "a", [w("t", 0, "ch", b"x")])
    with pytest.raises(InvalidArgument):
        await store.delete_where({})
    assert await store.delete_where({"run_id": "r1"}, execution_id="e3") == 1
    assert await store.delete_where({"run_id": "r1"}) == 2
    assert await store.delete_where({"run_id": "r1"}) == 0
    assert [c.checkpoint_id for c in (await store.search()).checkpoints] == ["b"]
    # The writes went with their checkpoint: a new "a" starts without them.
    await store.save(Checkpoint("e1", {}, checkpoint_id="a"))
    assert (await store.load("e1", "a")).pending_writes == ()


# -- copy ---------------------------------------------------------------------------------------


async def test_copy_execution_copies_everything(make_store: MakeStore) -> None:
    store, clock = await clocked(make_store)
    a = await save(store, clock, "src", "a", channels={"m": Channel("1", ["x"])})
    b = await save(store, clock, "src", "b", parent_id="a", channels={"m": Channel("1")})
    s = await save(store, clock, "src", "s", namespace="child:1", metadata={"k": "v"})
    await store.put_writes("src", "b", [w("t", 0, "ch", b"1"), w("t", -3, "__interrupt__", b"2")])
    await save(store, clock, "dst-busy", "z")
    clock.advance(1)
    assert await store.copy_execution("src", "dst") == 3
    copied = await store.list("dst", all_namespaces=True, with_writes=True)
    original = await store.list("src", all_namespaces=True, with_writes=True)
    assert [c.replace(execution_id="src") for c in copied.checkpoints] == original.checkpoints
    assert [(c.checkpoint_id, c.version, c.created_at) for c in copied.checkpoints] == [
        ("s", s.version, s.created_at),
        ("b", b.version, b.created_at),
        ("a", a.version, a.created_at),
    ]
    assert (await store.load("dst", "b")).channels["m"].value == ["x"]
    assert (await store.load("dst", "b")).parent_id == "a"
    assert (await store.executions()).executions[0].execution_id == "dst"
    # The copy stands alone: changing it leaves the source be, and the other way round.
    await store.clear("dst", namespace="child:1")
    assert len((await store.list("src", namespace="child:1")).checkpoints) == 1
    with pytest.raises(Conflict):
        await store.copy_execution("src", "dst-busy")
    with pytest.raises(NotFound):
        await store.copy_execution("nobody", "dst-2")
    with pytest.raises(InvalidArgument):
        await store.copy_execution("src", "src")
    assert (await store.list("dst-2")).checkpoints == []


# -- prune ----------------------------------------------------------------------------------------


async def test_prune_keeps_the_latest_of_each_namespace(make_store: MakeStore) -> None:
    store, clock = await clocked(make_store)
    for i in range(3):
        await save(store, clock, "e1", f"r{i}", channels={"m": Channel(str(i), i)})
    for i in range(2):
        await save(store, clock, "e1", f"s{i}", namespace="child")
    await store.put_writes("e1", "r2", [w("t", 0, "ch", b"kept")])
    await store.put_writes("e1", "r0", [w("t", 0, "ch", b"gone")])
    await save(store, clock, "e2", "x0")
    await save(store, clock, "e2", "x1")
    await save(store, clock, "e3", "y0")
    assert await store.prune(["e1", "e2", "nobody"]) == 4
    listed = await store.list("e1", all_namespaces=True, with_writes=True)
    assert [(c.checkpoint_id, len(c.pending_writes)) for c in listed.checkpoints] == [
        ("s1", 0),
        ("r2", 1),
    ]
    assert listed.checkpoints[1].channels["m"].value == 2
    assert [c.checkpoint_id for c in (await store.list("e2")).checkpoints] == ["x1"]
    assert len((await store.list("e3")).checkpoints) == 1
    assert await store.prune(["e1", "e3"], strategy="delete") == 3
    assert (await store.list("e1", all_namespaces=True)).checkpoints == []
    assert await store.prune([]) == 0
    with pytest.raises(InvalidArgument):
        await store.prune(["e2"], strategy="sometimes")  # type: ignore[arg-type]


# -- the parent chain -----------------------------------------------------------------------------


async def chain(store: CheckpointStore, n: int, **kw: Any) -> None:
    parent = ""
    for i in range(n):
        cid = f"c{i:03d}"
        channels = {"msgs": Channel(str(i), list(range(i + 1)))} if i % 4 == 0 else {}
        await store.save(
            Checkpoint(
                "run", {"i": i}, checkpoint_id=cid, parent_id=parent, channels=channels, **kw
            )
        )
        await store.put_writes(
            "run", cid, [w("t", 0, "msgs", b"%d" % i), w("t", 1, "other", b"o")], **kw
        )
        parent = cid


async def test_ancestors_walk_the_parent_chain(store: CheckpointStore) -> None:
    await chain(store, 10)
    page = await store.ancestors("run", "c009")
    assert [c.checkpoint_id for c in page.checkpoints] == [f"c{i:03d}" for i in range(8, -1, -1)]
    assert page.next_page_token is None
    assert all(c.state_bytes == b"" and len(c.pending_writes) == 2 for c in page.checkpoints)
    with_self = await store.ancestors("run", "c009", include_self=True, include_state=True)
    assert with_self.checkpoints[0].checkpoint_id == "c009"
    assert with_self.checkpoints[0].state == {"i": 9}
    paged = await all_pages(
        lambda t: store.ancestors("run", "c009", limit=4, page_token=t), "checkpoints"
    )
    assert [c.checkpoint_id for c in paged] == [f"c{i:03d}" for i in range(8, -1, -1)]
    with pytest.raises(NotFound):
        await store.ancestors("run", "missing")
    assert (await store.ancestors("run", "c000")).checkpoints == []


async def test_ancestors_for_channels_stop_at_each_channels_seed(store: CheckpointStore) -> None:
    await chain(store, 11, namespace="ns")  # msgs is stored at c000, c004 and c008
    page = await store.ancestors("run", "c010", namespace="ns", channels=["msgs"])
    # c009 and c008 (the seed), with only msgs' writes, and msgs' value only at its seed.
    assert [c.checkpoint_id for c in page.checkpoints] == ["c009", "c008"]
    assert [[x.channel for x in c.pending_writes] for c in page.checkpoints] == [["msgs"]] * 2
    assert page.checkpoints[1].channels["msgs"].value == list(range(9))
    assert page.checkpoints[0].channels == {}
    assert page.next_page_token is None
    # A channel never stored walks to the root; paging keeps what was found.
    pages = await all_pages(
        lambda t: store.ancestors(
            "run", "c010", namespace="ns", channels=["msgs", "never"], limit=3, page_token=t
        ),
        "checkpoints",
    )
    assert [c.checkpoint_id for c in pages] == [f"c{i:03d}" for i in range(9, -1, -1)]
    assert [sorted(c.channels) for c in pages if c.channels] == [["msgs"]]


async def test_ancestors_follow_one_branch_of_a_fork(store: CheckpointStore) -> None:
    await chain(store, 3)
    await store.save(Checkpoint("run", {}, checkpoint_id="fork-1", parent_id="c001"))
    await store.save(Checkpoint("run", {}, checkpoint_id="fork-2", parent_id="fork-1"))
    page = await store.ancestors("run", "fork-2")
    assert [c.checkpoint_id for c in page.checkpoints] == ["fork-1", "c001", "c000"]


# -- page tokens --------------------------------------------------------------------------------


async def test_page_tokens_are_bound_to_their_listing_and_cannot_be_forged(
    store: CheckpointStore,
) -> None:
    for i in range(3):
        await store.save(Checkpoint("run", {"i": i}, metadata={"k": i % 2}))
    token = (await store.list("run", limit=1)).next_page_token
    assert token is not None
    for wrong in (
        lambda: store.list("other", page_token=token),
        lambda: store.list("run", page_token=token, metadata_filter={"k": 0}),
        lambda: store.list("run", page_token=token, all_namespaces=True),
        lambda: store.search(page_token=token),
        lambda: store.list("run", page_token=token[:-2] + ("AA" if token[-2:] != "AA" else "BB")),
        lambda: store.list("run", page_token="v2.WzEwXQ.AAAAAAAAAAAAAAAAAAAAAA"),
    ):
        with pytest.raises(InvalidArgument):
            await wrong()
    assert len((await store.list("run", page_token=token)).checkpoints) == 2


async def test_a_page_of_big_checkpoints_is_cut_short_and_continues(store: CheckpointStore) -> None:
    # TEST_LIMITS: pages stop before 1 MiB; these states are 200 KiB each.
    for i in range(8):
        await store.save(Checkpoint("run", bytes([i]) * (200 * 1024), checkpoint_id=f"c{i}"))
    first = await store.list("run", limit=8)
    assert 1 <= len(first.checkpoints) < 8
    assert first.next_page_token is not None
    rest = await all_pages(
        lambda t: store.list("run", limit=8, page_token=t or first.next_page_token),
        "checkpoints",
    )
    ids = [c.checkpoint_id for c in first.checkpoints + rest]
    assert ids == [f"c{i}" for i in range(7, -1, -1)]
