"""States stored as chains of deltas (``backends/_states.py``), on every backend.

Hypothesis draws sequences of saves (children of any live checkpoint, so lineages fork),
deletes in the middle of chains, prunes, deletes by run, copies, restarts (a process with
nothing cached) and clock ticks past a TTL, against a model of what must be live; after
each sequence every live checkpoint must read back exactly as it was saved (load, list,
latest, ancestors), and nothing else may be listed. Chains are short (``snapshot_every``
3) and states small, so that snapshots, deltas, and bases removed from under their
descendants all happen within a few operations.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkpoint_client import Checkpoint, NotFound
from checkpoint_gateway.backends import Backend, Retention
from checkpoint_gateway.backends._states import HIDDEN, StateCodec, StateStorage
from tests.clock import FakeClock

MakeBackend = Callable[..., Awaitable[Backend]]

STORAGE = StateStorage(snapshot_every=3, min_bytes=64)
WORDS = ("agent", "tool", "result", "plan", "step", "user", "asked", "weather", "city")
TTL = 100.0
KEEP = 4

_counter = itertools.count()
PROMPT = "you are a helpful agent; " * 40  # every state compresses, from the first on


def message(seed: int) -> str:
    return " ".join(WORDS[(seed * 7 + i * 3) % len(WORDS)] for i in range(12 + seed % 9))


def grown(state: bytes | None, seed: int, edit: str) -> bytes:
    """The next state: the parent's messages with one appended, the first replaced, or
    the last dropped (so deltas see appends, edits at the front, and shrinking)."""
    messages: list[str] = json.loads(state)["messages"] if state else [PROMPT]
    if edit == "replace" and messages:
        messages = [message(seed + 1000), *messages[1:]]
    elif edit == "drop" and len(messages) > 1:
        messages = messages[:-1]
    else:
        messages = [*messages, message(seed)]
    return json.dumps({"messages": messages, "step": seed}).encode()


@dataclass
class Model:
    """What must be live: per namespace, ids in version order; their states and times."""

    ttl: float | None
    keep: int | None
    clock: FakeClock
    lineages: dict[str, list[str]] = field(default_factory=lambda: {"": [], "sub": []})
    states: dict[str, bytes] = field(default_factory=dict)
    born: dict[str, float] = field(default_factory=dict)
    runs: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    def expire(self, ns: str) -> None:
        if self.ttl is not None:
            ttl = self.ttl
            self.lineages[ns] = [c for c in self.lineages[ns] if self.elapsed - self.born[c] <= ttl]

    def live(self, ns: str) -> list[str]:
        if self.ttl is None:
            return list(self.lineages[ns])
        return [c for c in self.lineages[ns] if self.elapsed - self.born[c] <= self.ttl]

    def saved(self, ns: str, cid: str, state: bytes, run: str) -> None:
        self.expire(ns)
        self.lineages[ns].append(cid)
        self.states[cid], self.born[cid], self.runs[cid] = state, self.elapsed, run
        if self.keep is not None:
            del self.lineages[ns][: max(0, len(self.lineages[ns]) - self.keep)]

    def remove(self, cid: str) -> None:
        for ids in self.lineages.values():
            if cid in ids:
                ids.remove(cid)


operation = st.one_of(
    st.tuples(
        st.just("save"),
        st.sampled_from(["", "", "sub"]),
        st.integers(0, 30),
        st.sampled_from(["append", "append", "append", "replace", "drop"]),
    ),
    st.tuples(st.just("delete"), st.sampled_from(["", "sub"]), st.integers(0, 30)),
    st.tuples(st.just("delete_run"), st.integers(0, 3)),
    st.tuples(st.just("prune")),
    st.tuples(st.just("restart")),
    st.tuples(st.just("tick"), st.sampled_from([10.0, 45.0, 70.0])),
)
operations = st.lists(operation, min_size=1, max_size=24)


def restart(store: Backend) -> None:
    """What a restarted gateway has: nothing cached (the counts carry on, for ``TOTALS``)."""
    stats = store.states.stats
    store.states = StateCodec(store.states.storage)
    store.states.stats = stats


async def run(store: Backend, model: Model, execution: str, ops: list[tuple[Any, ...]]) -> None:
    for op in ops:
        kind = op[0]
        if kind == "save":
            _, ns, pick, edit = op
            live = model.live(ns)
            parent = live[pick % len(live)] if live and pick % 5 else (live[-1] if live else "")
            seed = next(_counter)
            state = grown(model.states.get(parent), seed, edit)
            run_id = f"run-{seed % 4}"
            saved = await store.save(
                Checkpoint(
                    execution,
                    state,
                    namespace=ns,
                    parent_id=parent,
                    content_type="application/json",
                    metadata={"run_id": run_id},
                )
            )
            assert saved.state_bytes == state
            assert not any(n.startswith(HIDDEN) for n in saved.channels)
            model.saved(ns, saved.checkpoint_id, state, run_id)
        elif kind == "delete":
            _, ns, pick = op
            live = model.live(ns)
            if live:
                cid = live[pick % len(live)]
                assert await store.delete(execution, cid, namespace=ns)
                model.remove(cid)
        elif kind == "delete_run":
            run_id = f"run-{op[1]}"
            gone = await store.delete_where({"run_id": run_id}, execution_id=execution)
            doomed = [c for ns in model.lineages for c in model.live(ns) if model.runs[c] == run_id]
            assert gone == len(doomed)
            for cid in doomed:
                model.remove(cid)
        elif kind == "prune":
            await store.prune([execution])
            for ns in model.lineages:
                live = model.live(ns)
                model.lineages[ns] = live[-1:]
        elif kind == "restart":
            restart(store)
        elif kind == "tick" and model.ttl is not None:
            model.clock.advance(op[1])
            model.elapsed += op[1]


async def check(store: Backend, model: Model, execution: str) -> None:
    """Every live checkpoint reads back exactly; nothing else is listed."""
    for ns in model.lineages:
        live = model.live(ns)
        page = await store.list(execution, namespace=ns, limit=100)
        assert [c.checkpoint_id for c in page.checkpoints] == live[::-1]
        for cp in page.checkpoints:
            assert cp.state_bytes == model.states[cp.checkpoint_id], cp.checkpoint_id
            assert cp.channels == {}
        for cid in live:
            loaded = await store.load(execution, cid, namespace=ns)
            assert loaded.state_bytes == model.states[cid]
            assert loaded.channels == {}
        if live:
            assert (await store.latest(execution, namespace=ns)).state_bytes == model.states[
                live[-1]
            ]
            walk = await store.ancestors(
                execution, live[-1], namespace=ns, include_self=True, include_state=True
            )
            for cp in walk.checkpoints:
                assert cp.state_bytes == model.states[cp.checkpoint_id]
        else:
            with pytest.raises(NotFound):
                await store.latest(execution, namespace=ns)
    everything = await store.list(execution, all_namespaces=True, limit=100)
    assert {c.checkpoint_id for c in everything.checkpoints} == {
        c for ns in model.lineages for c in model.live(ns)
    }
    for cp in everything.checkpoints:
        assert cp.state_bytes == model.states[cp.checkpoint_id]


_STORES: dict[tuple[int, str], tuple[Backend, FakeClock]] = {}


async def shared(make_backend: MakeBackend, variant: str) -> tuple[Backend, FakeClock]:
    # One store per test (hypothesis reuses the fixture across examples); each example
    # writes an execution of its own.
    key = (id(make_backend), variant)
    if key not in _STORES:
        _STORES.clear()
        clock = FakeClock()
        retention = Retention(max_checkpoints=KEEP, ttl_seconds=TTL) if variant == "kept" else None
        store = await make_backend(state_storage=STORAGE, retention=retention, clock=clock)
        _STORES[key] = (store, clock)
    return _STORES[key]


EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@EXAMPLES
@given(ops=operations)
async def test_chains_read_back_exactly(make_backend: MakeBackend, ops: list[Any]) -> None:
    store, clock = await shared(make_backend, "plain")
    model = Model(ttl=None, keep=None, clock=clock)
    execution = f"e{next(_counter)}"
    await run(store, model, execution, ops)
    await check(store, model, execution)
    # A copy reads back the same, and outlives its source.
    live = [c for ns in model.lineages for c in model.live(ns)]
    if live:
        target = f"{execution}-copy"
        assert await store.copy_execution(execution, target) == len(live)
        await store.clear(execution)
        restart(store)
        await check(store, model, target)
        await store.clear(target)


@EXAMPLES
@given(ops=operations)
async def test_chains_survive_retention_and_ttl(make_backend: MakeBackend, ops: list[Any]) -> None:
    store, clock = await shared(make_backend, "kept")
    model = Model(ttl=TTL, keep=KEEP, clock=clock)
    model.elapsed = 0.0
    execution = f"e{next(_counter)}"
    await run(store, model, execution, [op for op in ops if op[0] != "prune"])
    await check(store, model, execution)
    await store.clear(execution)


async def test_a_long_conversation_is_stored_in_chains(make_backend: MakeBackend) -> None:
    """The shape the issue is about: the full state after every turn. Stored as chains,
    it takes a fraction of the raw bytes, and every state reads back whole."""
    store = await make_backend(state_storage=StateStorage(snapshot_every=8, min_bytes=256))
    states, parent, ids = [], "", []
    for turn in range(60):
        state = grown(states[-1] if states else None, turn, "append")
        saved = await store.save(
            Checkpoint("talk", state, parent_id=parent, content_type="application/json")
        )
        states.append(state)
        parent = saved.checkpoint_id
        ids.append(parent)
    stats = store.states.stats
    assert stats.snapshots + stats.deltas > 50
    assert stats.deltas > 5 * stats.snapshots
    assert stats.stored_bytes * 5 < stats.raw_bytes
    store.states = StateCodec(store.states.storage)
    for cid, state in zip(ids, states, strict=True):
        assert (await store.load("talk", cid)).state_bytes == state


async def test_off_stores_states_as_they_come_and_still_reads_chains(
    make_backend: MakeBackend,
) -> None:
    """The off switch: new states are stored whole; what was stored as chains reads."""
    store = await make_backend(state_storage=StateStorage(snapshot_every=4, min_bytes=64))
    states, parent = [], ""
    for turn in range(6):
        state = grown(states[-1] if states else None, turn, "append")
        parent = (await store.save(Checkpoint("e", state, parent_id=parent))).checkpoint_id
        states.append(state)
    assert store.states.stats.deltas > 0
    store.states = StateCodec(StateStorage(enabled=False))
    for turn in range(6, 9):
        state = grown(states[-1], turn, "append")
        parent = (await store.save(Checkpoint("e", state, parent_id=parent))).checkpoint_id
        states.append(state)
    assert store.states.stats.plain == 3
    page = await store.list("e", limit=100)
    assert [c.state_bytes for c in page.checkpoints] == states[::-1]


async def test_states_that_do_not_compress_are_stored_as_they_come(
    make_backend: MakeBackend,
) -> None:
    import random

    rng = random.Random(5)
    store = await make_backend(state_storage=StateStorage(min_bytes=64))
    parent = ""
    for _ in range(5):
        state = rng.randbytes(64 * 1024)
        saved = await store.save(Checkpoint("e", state, parent_id=parent))
        parent = saved.checkpoint_id
        assert (await store.load("e", parent)).state_bytes == state
    packed = b"\x1f\x8b" + b"a" * 9000  # compresses, but says it is compressed already
    gz = await store.save(Checkpoint("e", packed, content_type="application/gzip"))
    assert (await store.load("e", gz.checkpoint_id)).state_bytes == packed
    stats = store.states.stats
    assert (stats.plain, stats.snapshots, stats.deltas) == (6, 0, 0)
    assert stats.stored_bytes == stats.raw_bytes


async def test_a_retried_save_of_a_chain_is_no_conflict(make_backend: MakeBackend) -> None:
    """A retry (same id, same content) answers with what is stored, even when the retry
    would be stored otherwise (here: a process that has the parent no more); the same id
    with another state is a Conflict."""
    from checkpoint_client import Conflict

    store = await make_backend(state_storage=StateStorage(snapshot_every=4, min_bytes=64))
    first = grown(None, 1, "append")
    root = await store.save(Checkpoint("e", first, checkpoint_id="a"))
    second = grown(first, 2, "append")
    child = await store.save(Checkpoint("e", second, checkpoint_id="b", parent_id="a"))
    store.states = StateCodec(StateStorage(snapshot_every=4, min_bytes=64))
    again = await store.save(Checkpoint("e", second, checkpoint_id="b", parent_id="a"))
    assert (again.version, again.state_bytes) == (child.version, second)
    other = grown(first, 3, "append")
    with pytest.raises(Conflict):
        await store.save(Checkpoint("e", other, checkpoint_id="b", parent_id="a"))
    assert (await store.load("e", "b")).state_bytes == second
    assert root.version == 1


async def test_removing_the_bases_of_a_chain_loses_no_descendant(
    make_backend: MakeBackend,
) -> None:
    """A chain's snapshot and middle deltas removed (delete, then retention): the
    checkpoints that delta against them still read, in a process that caches nothing."""
    store = await make_backend(
        state_storage=StateStorage(snapshot_every=8, min_bytes=64),
        retention=Retention(max_checkpoints=5),
    )
    states, ids, parent = [], [], ""
    for turn in range(7):
        state = grown(states[-1] if states else None, turn, "append")
        parent = (await store.save(Checkpoint("e", state, parent_id=parent))).checkpoint_id
        states.append(state)
        ids.append(parent)
    assert (store.states.stats.snapshots, store.states.stats.deltas) == (1, 6)
    # Retention took the snapshot and the first delta; now two middle deltas go.
    for cid in (ids[3], ids[4]):
        assert await store.delete("e", cid)
    restart(store)
    for i in (2, 5, 6):
        assert (await store.load("e", ids[i])).state_bytes == states[i]
    # A fork of a checkpoint whose bases are gone deltas against it, and reads too.
    fork = grown(states[5], 99, "replace")
    saved = await store.save(Checkpoint("e", fork, parent_id=ids[5]))
    assert store.states.stats.deltas == 7
    restart(store)
    assert (await store.load("e", saved.checkpoint_id)).state_bytes == fork
    assert [c.state_bytes for c in (await store.list("e", limit=10)).checkpoints] == [
        fork,
        states[6],
        states[5],
        states[2],
    ]


async def test_states_stored_before_chains_still_read_and_their_lineages_go_on(
    make_backend: MakeBackend,
) -> None:
    """Old data: what the storage format before chains wrote (every state as it came,
    which ``enabled=False`` still writes byte for byte) reads back under chains, and the
    next save to such a lineage starts a chain (a snapshot, then deltas)."""
    store = await make_backend(state_storage=StateStorage(enabled=False))
    states, parent = [], ""
    for turn in range(5):
        state = grown(states[-1] if states else None, turn, "append")
        parent = (await store.save(Checkpoint("old", state, parent_id=parent))).checkpoint_id
        states.append(state)
    raw = await store._latest("old", "")
    assert raw is not None
    assert raw.state_bytes == states[-1]
    assert raw.channels == {}
    store.states = StateCodec(StateStorage(snapshot_every=4, min_bytes=64))  # an upgrade
    for turn in range(5, 10):
        state = grown(states[-1], turn, "append")
        parent = (await store.save(Checkpoint("old", state, parent_id=parent))).checkpoint_id
        states.append(state)
    stats = store.states.stats
    assert (stats.plain, stats.snapshots, stats.deltas) == (0, 2, 3)
    restart(store)
    page = await store.list("old", limit=100)
    assert [c.state_bytes for c in page.checkpoints] == states[::-1]


async def test_ancestors_with_a_channel_filter_still_return_whole_states(
    make_backend: MakeBackend,
) -> None:
    """Ancestors asked for some channels and the states: the chains' links are read
    too (a backend fetches only the channels asked for otherwise)."""
    from checkpoint_client import Channel

    store = await make_backend(state_storage=StateStorage(snapshot_every=4, min_bytes=64))
    states, parent = [], ""
    for turn in range(6):
        state = grown(states[-1] if states else None, turn, "append")
        saved = await store.save(
            Checkpoint("e", state, parent_id=parent, channels={"count": Channel(str(turn), turn)})
        )
        parent = saved.checkpoint_id
        states.append(state)
    assert store.states.stats.deltas > 0
    restart(store)
    page = await store.ancestors(
        "e", parent, include_self=True, channels=["count"], include_state=True
    )
    assert [c.state_bytes for c in page.checkpoints] == [states[-1]]
    assert page.checkpoints[0].channels["count"].value == 5
    page = await store.ancestors("e", parent, include_self=True, include_state=True, limit=10)
    assert [c.state_bytes for c in page.checkpoints] == states[::-1]
    assert all(set(c.channels) == {"count"} for c in page.checkpoints)


async def test_without_a_cache_each_save_reads_its_parent_and_still_deltas(
    make_backend: MakeBackend,
) -> None:
    """``cache_bytes=0``: nothing is kept, so every save reads its parent back, and the
    state is still stored as a delta against it."""
    store = await make_backend(
        state_storage=StateStorage(snapshot_every=8, min_bytes=64, cache_bytes=0)
    )
    states, parent = [], ""
    for turn in range(6):
        state = grown(states[-1] if states else None, turn, "append")
        parent = (await store.save(Checkpoint("e", state, parent_id=parent))).checkpoint_id
        states.append(state)
    assert (store.states.stats.snapshots, store.states.stats.deltas) == (1, 5)
    page = await store.list("e", limit=10)
    assert [c.state_bytes for c in page.checkpoints] == states[::-1]


async def test_a_page_of_chains_stays_within_the_byte_budget_once_decoded(
    make_backend: MakeBackend,
) -> None:
    """A backend weighs a chain by what it stores (a few bytes here); the page is cut by
    what the states weigh decoded, and paging on returns every one."""
    from checkpoint_gateway.validation import Limits

    store = await make_backend(
        limits=Limits(max_page_bytes=1024 * 1024), state_storage=StateStorage(min_bytes=64)
    )
    states = [bytes([i]) * (200 * 1024) for i in range(8)]
    for i, state in enumerate(states):
        await store.save(Checkpoint("big", state, checkpoint_id=f"c{i}"))
    assert store.states.stats.snapshots == 8
    for listing in ({}, {"all_namespaces": True}):
        page = await store.list("big", limit=8, **listing)
        assert len(page.checkpoints) == 5  # 5 x (200 KiB + 512) fit in 1 MiB
        assert page.next_page_token is not None
        rest = await store.list("big", limit=8, page_token=page.next_page_token, **listing)
        got = [c.state_bytes for c in [*page.checkpoints, *rest.checkpoints]]
        assert got == states[::-1]
    found = await store.search(limit=8)
    assert len(found.checkpoints) == 5
