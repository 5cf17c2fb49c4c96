"""What the file backend promises beyond the contract suite: ids never become paths, saves
survive a restart, crash leftovers are ignored, several stores (and processes) on one
directory serialize, and a listing opens only the files it needs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from checkpoint_client import (
    Channel,
    Checkpoint,
    Conflict,
    InternalError,
    NotFound,
    PendingWrite,
    Unavailable,
    iter_checkpoints,
)
from checkpoint_gateway.backends import Retention, open_backend
from checkpoint_gateway.backends._base import to_us
from checkpoint_gateway.backends.file import FileStats, FileStore
from checkpoint_gateway.backends.file.layout import checkpoint_names, sha
from checkpoint_gateway.validation import Limits
from tests.clock import FakeClock

HOSTILE_IDS = [
    "../../etc",
    "../../../../../../tmp/escape",
    "/abs",
    "/",
    "a/b",
    "a/../../b",
    "..",
    ".",
    ".locks",
    ".tmp-x",
    "\\..\\windows",
    "ünïcødé/雪 🚀",
    "é" * 256,  # 512 bytes of UTF-8: too long for a file name if used raw
    "🚀" * 256,  # 1024 bytes of UTF-8
]


@pytest.fixture
async def root(tmp_path: Path) -> Path:
    return tmp_path / "deep" / "store"


@pytest.fixture
async def fstore(root: Path) -> AsyncIterator[FileStore]:
    s = await FileStore.open(str(root))
    try:
        yield s
    finally:
        await s.close()


def outside(top: Path, root: Path) -> tuple[list[Path], int]:
    """The paths below ``top`` that are not ``root``, its ancestors or inside it (symlinks
    resolved, so an escape cannot hide), and how many paths are inside ``root``."""
    root = root.resolve()
    found = [p.resolve() for p in top.rglob("*")]
    inside = [p for p in found if p.is_relative_to(root) and p != root]
    return [p for p in found if p not in inside and p not in root.parents and p != root], len(
        inside
    )


def names_under(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*")}


def ckpt_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.ckpt"))


# -- ids never become paths -------------------------------------------------------------------


async def test_hostile_ids_round_trip_and_stay_inside_the_root(tmp_path: Path, root: Path) -> None:
    store = await open_backend(f"file://{root}")
    try:
        for hostile in HOSTILE_IDS:
            saved = await store.save(
                Checkpoint(
                    hostile,
                    {"id": hostile},
                    namespace=hostile,
                    checkpoint_id=hostile,
                    parent_id=hostile,
                    node=hostile,
                    next_nodes=[hostile],
                    metadata={"id": hostile},
                )
            )
            write = PendingWrite(hostile, 7, hostile, b"w", task_path=hostile)
            await store.put_writes(hostile, hostile, [write], namespace=hostile)

            loaded = await store.load(hostile, hostile, namespace=hostile)
            assert loaded == saved.replace(pending_writes=[write])
            assert (loaded.execution_id, loaded.namespace, loaded.checkpoint_id) == (
                hostile,
                hostile,
                hostile,
            )
            assert loaded.state == {"id": hostile}
            assert (await store.latest(hostile, namespace=hostile)) == loaded
            page = await store.list(hostile, namespace=hostile, metadata_filter={"id": hostile})
            assert [c.checkpoint_id for c in page.checkpoints] == [hostile]
            # The same id in the root namespace is a different, still empty lineage.
            with pytest.raises(NotFound):
                await store.latest(hostile)

        # Everything the store created is under the root, and no name comes from an id.
        escaped, inside = outside(tmp_path, root)
        assert escaped == []
        assert inside > 4 * len(HOSTILE_IDS)  # lineage, checkpoint, writes dir, write each
        assert not names_under(root) & {"etc", "escape", "abs", "b", "windows", ".."}

        # Clearing a hostile execution removes exactly its own directory.
        assert await store.clear("..") == 1
        with pytest.raises(NotFound):
            await store.latest("..", namespace="..")
        assert (await store.latest(".", namespace=".")).checkpoint_id == "."
    finally:
        await store.close()


# -- restart and crashes ----------------------------------------------------------------------


async def test_every_acknowledged_save_survives_a_restart(root: Path) -> None:
    first = await FileStore.open(str(root))
    expected: list[Checkpoint] = []
    for execution in ("run-1", "run-2"):
        for namespace in ("", "child"):
            for i in range(3):
                saved = await first.save(
                    Checkpoint(
                        execution,
                        {"i": i},
                        namespace=namespace,
                        metadata={"i": i, "ns": namespace},
                        next_nodes=["a", "b"],
                    )
                )
                writes = [
                    PendingWrite("task-b", 1, "ch", {"v": i}),
                    PendingWrite("task-a", -1, "err", b"\x00\xff", content_type="x/y"),
                ]
                await first.put_writes(execution, saved.checkpoint_id, writes, namespace=namespace)
                expected.append(saved.replace(pending_writes=sorted_writes(writes)))
    await first.close()

    second = await FileStore.open(str(root))
    try:
        for cp in expected:
            loaded = await second.load(cp.execution_id, cp.checkpoint_id, namespace=cp.namespace)
            assert loaded == cp
        latest = await second.latest("run-2", namespace="child")
        assert latest == expected[-1]
        listed = [c async for c in iter_checkpoints(second, "run-1", page_size=2)]
        assert [c.version for c in listed] == [3, 2, 1]
        # The lineage carries on where it was.
        assert (await second.save(Checkpoint("run-1", {"after": True}))).version == 4
    finally:
        await second.close()


def sorted_writes(writes: list[PendingWrite]) -> list[PendingWrite]:
    return sorted(writes, key=lambda w: (w.task_id, w.idx))


async def test_leftover_temp_files_are_ignored_and_swept_by_the_next_save(
    fstore: FileStore,
) -> None:
    real = await fstore.save(Checkpoint("run", {"real": True}, checkpoint_id="real"))
    await fstore.put_writes("run", "real", [PendingWrite("t", 0, "ch", b"real")])
    (path,) = ckpt_files(fstore.root)
    lineage = path.parent

    # A complete checkpoint file that a crash left under its temporary name, with a higher
    # version than anything stored: it was never committed, so it must stay invisible.
    ghost = await fstore.save(Checkpoint("run", {"ghost": True}, checkpoint_id="ghost"))
    ghost_file = next(p for p in ckpt_files(fstore.root) if p != path)
    (lineage / ".tmp-crash1").write_bytes(ghost_file.read_bytes())
    assert await fstore.delete("run", "ghost") is True
    # A half-written one, and a complete pending write left in the writes directory.
    (lineage / ".tmp-crash2").write_bytes(path.read_bytes()[:20])
    (writes_dir,) = [p for p in lineage.iterdir() if p.name.startswith("w-")]
    (write_file,) = list(writes_dir.iterdir())
    leftover_write = writes_dir / ".tmp-crash3"
    leftover_write.write_bytes(write_file.read_bytes().replace(b'"t"', b'"u"'))

    with pytest.raises(NotFound):
        await fstore.load("run", "ghost")
    with pytest.raises(NotFound):
        await fstore.list("run", before="ghost")
    loaded = await fstore.load("run", "real")
    assert loaded == real.replace(pending_writes=[PendingWrite("t", 0, "ch", b"real")])
    assert await fstore.latest("run") == loaded
    page = await fstore.list("run")
    assert [c.checkpoint_id for c in page.checkpoints] == ["real"]
    assert ghost.version == 2

    # The next save holds the lock, so it knows the leftovers are dead and removes them.
    assert (await fstore.save(Checkpoint("run", {"next": True}))).version == 2
    assert not (lineage / ".tmp-crash1").exists()
    assert not (lineage / ".tmp-crash2").exists()


def key32(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


async def test_a_delete_cut_short_is_finished_before_the_id_is_used_again(
    fstore: FileStore,
) -> None:
    await fstore.save(
        Checkpoint("run", {"old": True}, checkpoint_id="a", channels={"m": Channel("1", "old")})
    )
    await fstore.save(Checkpoint("run", {}, checkpoint_id="b"))
    await fstore.put_writes("run", "a", [PendingWrite("t", 0, "ch", b"stale")])
    # A crash right after a delete's commit point (the .ckpt renamed to .tmp-del-<C>)
    # leaves the writes directory and the channel value behind.
    path = next(p for p in ckpt_files(fstore.root) if p.name.startswith(f"{1:020d}-"))
    lineage = path.parent
    path.rename(lineage / f".tmp-del-{key32('a')}")
    assert (lineage / f"w-{key32('a')}").is_dir()
    with pytest.raises(NotFound):
        await fstore.load("run", "a")
    assert [c.checkpoint_id for c in (await fstore.list("run")).checkpoints] == ["b"]

    # The next mutation of the lineage finishes the delete before it stores anything, so
    # writes stored ahead of a new "a" are its own, and the old ones are gone.
    await fstore.put_writes("run", "a", [PendingWrite("t", 1, "ch", b"fresh")])
    assert not any(p.name.startswith(".tmp-") for p in lineage.iterdir())
    assert not list(lineage.glob("b-*.blob"))  # the value only "a" carried went too
    await fstore.save(Checkpoint("run", {"new": True}, checkpoint_id="a"))
    loaded = await fstore.load("run", "a")
    assert [w.value for w in loaded.pending_writes] == [b"fresh"]
    assert loaded.version == 3


async def test_writes_are_kept_by_checkpoint_id_and_a_save_leaves_them_be(
    fstore: FileStore,
) -> None:
    await fstore.put_writes("run", "later", [PendingWrite("t", 0, "ch", b"early")])
    lineage = fstore.root / sha("run") / sha("")
    assert {p.name for p in lineage.iterdir()} == {f"w-{key32('later')}"}
    (write,) = (lineage / f"w-{key32('later')}").iterdir()
    head = json.loads(write.read_bytes().split(b"\n", 1)[0])
    assert head["checkpoint_id"] == "later"
    assert head["created_at"]  # when it was stored, for the orphan rules
    for i in range(3):  # other saves in the lineage do not take them for leftovers
        await fstore.save(Checkpoint("run", {"i": i}))
    await fstore.save(Checkpoint("run", {}, checkpoint_id="later"))
    assert [w.value for w in (await fstore.load("run", "later")).pending_writes] == [b"early"]
    # Deleting an id that was never saved takes its writes.
    await fstore.put_writes("run", "never", [PendingWrite("t", 0, "ch", b"x")])
    assert await fstore.delete("run", "never") is False
    assert not (lineage / f"w-{key32('never')}").exists()


# -- channel values ---------------------------------------------------------------------------


async def test_a_channel_value_is_one_file_shared_and_collected_with_its_last_carrier(
    fstore: FileStore,
) -> None:
    await fstore.save(
        Checkpoint("run", {}, checkpoint_id="c1", channels={"a": Channel("1", ["A"])})
    )
    await fstore.save(
        Checkpoint(
            "run",
            {},
            checkpoint_id="c2",
            channels={"a": Channel("1"), "b": Channel("1", b"B", content_type="x/y")},
        )
    )
    lineage = fstore.root / sha("run") / sha("")
    blobs = {p.name for p in lineage.glob("*.blob")}
    assert blobs == {f"b-{key32('a')}-{key32('1')}.blob", f"b-{key32('b')}-{key32('1')}.blob"}
    head = json.loads((lineage / f"b-{key32('b')}-{key32('1')}.blob").read_bytes().split(b"\n")[0])
    assert (head["name"], head["version"], head["content_type"]) == ("b", "1", "x/y")
    c2 = next(p for p in ckpt_files(fstore.root) if p.name.startswith(f"{2:020d}-"))
    assert json.loads(c2.read_bytes().split(b"\n")[0])["channels"] == {"a": "1", "b": "1"}

    fstore.stats = FileStats()
    loaded = await fstore.load("run", "c1")
    assert loaded.channels == {"a": Channel("1", ["A"])}
    assert fstore.stats == FileStats(headers_read=1, states_read=1, values_read=1)

    assert await fstore.delete("run", "c2")
    assert {p.name for p in lineage.glob("*.blob")} == {f"b-{key32('a')}-{key32('1')}.blob"}
    assert await fstore.delete("run", "c1")
    assert list(lineage.glob("*.blob")) == []


async def test_a_save_cut_short_before_its_commit_leaves_no_checkpoint(
    fstore: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from checkpoint_gateway.backends.file import store as store_module

    real_write = store_module.write_atomic

    def crash_on_checkpoint(directory: Path, name: str, data: bytes) -> None:
        if name.endswith(".ckpt"):
            raise OSError("disk gone")
        real_write(directory, name, data)

    monkeypatch.setattr(store_module, "write_atomic", crash_on_checkpoint)
    with pytest.raises(OSError, match="disk gone"):
        await fstore.save(
            Checkpoint("run", {}, checkpoint_id="c1", channels={"a": Channel("1", "A")})
        )
    monkeypatch.setattr(store_module, "write_atomic", real_write)
    # The values went first; the checkpoint that needs them never appeared.
    with pytest.raises(NotFound):
        await fstore.latest("run")
    # What the cut-short save stored serves its retry, which then commits.
    saved = await fstore.save(
        Checkpoint("run", {}, checkpoint_id="c1", channels={"a": Channel("1", "A")})
    )
    assert saved.version == 1
    assert (await fstore.load("run", "c1")).channels["a"].value == "A"


async def test_what_a_save_costs_in_fsyncs(
    fstore: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fstore.save(Checkpoint("run", {}, channels={"a": Channel("1", 1)}))  # dirs exist
    calls: list[int] = []
    real_fsync = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting)

    async def fsyncs(cp: Checkpoint) -> int:
        calls.clear()
        await fstore.save(cp)
        return len(calls)

    # The state file and the lineage directory, as before channels and markers existed.
    assert await fsyncs(Checkpoint("run", {"plain": True})) == 2
    assert await fsyncs(Checkpoint("run", {}, channels={"a": Channel("1")})) == 2
    assert await fsyncs(Checkpoint("run", {}, channels={"a": Channel("1", 1)})) == 2
    # New values: one fsync each, and one of the directory before the commit point.
    new = {"b": Channel("1", 2), "c": Channel("1", 3)}
    assert await fsyncs(Checkpoint("run", {}, channels=new)) == 2 + 2 + 1
    calls.clear()
    await fstore.put_writes("run", "x", [PendingWrite("t", i, "ch", b"") for i in range(3)])
    assert len(calls) == 1 + 3 + 1  # a new writes directory, each write, the directory


async def test_the_last_save_marker_is_renamed_not_rewritten(fstore: FileStore) -> None:
    clock_times = []
    for i in range(3):
        clock_times.append((await fstore.save(Checkpoint("run", {"i": i}))).created_at)
    lineage = fstore.root / sha("run") / sha("")
    (marker,) = [p.name for p in lineage.iterdir() if p.name.startswith("u-")]
    last = clock_times[-1]
    assert last is not None
    assert marker == f"u-{to_us(last):020d}"
    # Deleting the newest checkpoint keeps when the execution was last saved to.
    await fstore.delete("run", (await fstore.latest("run")).checkpoint_id)
    (info,) = (await fstore.executions()).executions
    assert info.updated_at == last


async def test_a_read_never_mixes_a_header_with_the_state_of_a_resaved_checkpoint(
    fstore: FileStore,
) -> None:
    await fstore.save(Checkpoint("run", {"n": 0}, checkpoint_id="a"))
    await fstore.save(Checkpoint("run", {"first": True}, checkpoint_id="b"))
    # A listing read b's header; b is deleted and saved again before it reads the state.
    # The new file has the same name (the same id at the same version).
    lineage = fstore.root / sha("run") / sha("")
    found = fstore.reader.newest(lineage, checkpoint_names(lineage), None)
    assert found is not None
    assert await fstore.delete("run", "b")
    again = await fstore.save(Checkpoint("run", {"second": 22}, checkpoint_id="b"))
    assert again.version == found.cp.version == 2
    assert fstore.reader.state(found) is None  # the checkpoint that was read is gone
    assert fstore.reader.load(found) is None
    assert (await fstore.latest("run")).state == {"second": 22}


# -- concurrency ------------------------------------------------------------------------------


async def test_two_stores_on_one_directory_serialize_saves(root: Path) -> None:
    one = await FileStore.open(str(root))
    two = await open_backend(f"file://{root}")
    try:
        saved = await asyncio.gather(
            *(
                (one if i % 2 else two).save(Checkpoint("run", {"i": i}, metadata={"i": i}))
                for i in range(64)
            )
        )
        assert sorted(s.version for s in saved) == list(range(1, 65))
        for s in (one, two):
            listed = [c async for c in iter_checkpoints(s, "run", page_size=100)]
            assert [c.version for c in listed] == list(range(64, 0, -1))
            assert sorted(c.state["i"] for c in listed) == list(range(64))
            by_version = {c.version: c for c in listed}
            assert all(by_version[x.version] == x for x in saved)
    finally:
        await one.close()
        await two.close()


CHILD = """
import asyncio, sys
from checkpoint_client import Checkpoint
from checkpoint_gateway.backends.file import FileStore

async def main() -> None:
    store = await FileStore.open(sys.argv[1])
    print("ready", flush=True)
    await asyncio.gather(*(store.save(Checkpoint("run", {"child": i})) for i in range(24)))
    await store.close()

asyncio.run(main())
"""


async def test_another_process_saving_to_the_same_execution_loses_nothing(
    fstore: FileStore,
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(fstore.root),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 60) == b"ready\n"
    mine = asyncio.gather(*(fstore.save(Checkpoint("run", {"parent": i})) for i in range(24)))
    _, err = await asyncio.wait_for(child.communicate(), 60)
    await mine
    assert child.returncode == 0, err.decode()
    listed = [c async for c in iter_checkpoints(fstore, "run", page_size=100)]
    assert [c.version for c in listed] == list(range(48, 0, -1))
    assert sorted(str(c.state) for c in listed) == sorted(
        [str({"child": i}) for i in range(24)] + [str({"parent": i}) for i in range(24)]
    )


# -- listing reads no more than it needs ------------------------------------------------------


async def test_filtered_list_reads_only_headers_of_what_it_skips(fstore: FileStore) -> None:
    for i in range(10):
        tag = "x" if i in (2, 7) else "y"
        await fstore.save(Checkpoint("run", {"i": i}, checkpoint_id=f"c{i}", metadata={"tag": tag}))
    # Break the state of a checkpoint the listing skips: reading it would raise.
    corrupt = next(p for p in ckpt_files(fstore.root) if p.name.startswith(f"{5:020d}-"))
    corrupt.write_bytes(corrupt.read_bytes()[:-3])
    with pytest.raises(InternalError):
        await fstore.load("run", "c4")

    fstore.stats = FileStats()
    page = await fstore.list("run", metadata_filter={"tag": "x"}, limit=5)
    assert [c.checkpoint_id for c in page.checkpoints] == ["c7", "c2"]
    assert [c.state for c in page.checkpoints] == [{"i": 7}, {"i": 2}]
    assert fstore.stats == FileStats(headers_read=10, states_read=2)


async def test_list_page_opens_only_the_files_on_the_page(fstore: FileStore) -> None:
    for i in range(40):
        await fstore.save(Checkpoint("run", {"i": i}))
    fstore.stats = FileStats()
    first = await fstore.list("run", limit=3)
    assert [c.version for c in first.checkpoints] == [40, 39, 38]
    # One more than the page, to know whether another page follows.
    assert fstore.stats == FileStats(headers_read=4, states_read=4)
    fstore.stats = FileStats()
    second = await fstore.list("run", limit=3, page_token=first.next_page_token)
    assert [c.version for c in second.checkpoints] == [37, 36, 35]
    assert fstore.stats == FileStats(headers_read=4, states_read=4)
    fstore.stats = FileStats()
    assert (await fstore.latest("run")).version == 40
    assert fstore.stats == FileStats(headers_read=1, states_read=1)


async def test_a_page_across_namespaces_bisects_each_lineage(root: Path) -> None:
    clock = FakeClock()
    store = await FileStore.open(str(root), clock=clock)
    try:
        for i in range(64):
            clock.advance(1)
            await store.save(Checkpoint("run", {"i": i}, namespace=f"ns{i % 4}", metadata={"i": i}))
        store.stats = FileStats()
        first = await store.list("run", all_namespaces=True, limit=5)
        assert [c.metadata["i"] for c in first.checkpoints] == [63, 62, 61, 60, 59]
        # The merge reads one header per lineage ahead; states only of the page (+1).
        assert store.stats.headers_read <= 6 + 4
        assert store.stats.states_read == 6
        token = first.next_page_token
        for _ in range(8):
            page = await store.list("run", all_namespaces=True, limit=5, page_token=token)
            token = page.next_page_token
        assert [c.metadata["i"] for c in page.checkpoints] == [23, 22, 21, 20, 19]
        # A later page bisects each lineage of 16 instead of reading what earlier ones
        # served (which would be about 45 headers here).
        store.stats = FileStats()
        page = await store.list("run", all_namespaces=True, limit=5, page_token=token)
        assert [c.metadata["i"] for c in page.checkpoints] == [18, 17, 16, 15, 14]
        assert store.stats.headers_read <= 6 + 4 * 5
        assert store.stats.states_read == 6
    finally:
        await store.close()


async def test_a_page_cut_by_its_byte_budget_reads_no_state_it_does_not_return(
    root: Path,
) -> None:
    store = await FileStore.open(str(root), limits=Limits(max_page_bytes=1024 * 1024))
    try:
        for i in range(6):
            # Random bytes are stored as they come (a state that compresses is stored as
            # a chain, whose links the backend weighs instead of the state).
            await store.save(Checkpoint("run", random.Random(i).randbytes(300 * 1024)))
        store.stats = FileStats()
        page = await store.list("run", limit=6)
        assert len(page.checkpoints) == 3
        assert page.next_page_token is not None
        assert store.stats.states_read == 3
        store.stats = FileStats()
        across = await store.list("run", limit=6, all_namespaces=True)
        assert len(across.checkpoints) == 3
        assert store.stats.states_read == 3
    finally:
        await store.close()


async def test_executions_read_one_header_each(fstore: FileStore) -> None:
    for e in range(5):
        for ns in ("", "a", "b"):
            await fstore.save(Checkpoint(f"e{e}", {}, namespace=ns))
    fstore.stats = FileStats()
    page = await fstore.executions()
    assert [x.execution_id for x in page.executions] == [f"e{e}" for e in range(4, -1, -1)]
    assert fstore.stats == FileStats(headers_read=5)


async def test_cross_execution_primitives_keep_to_their_prefix(fstore: FileStore) -> None:
    # Tenants reach the store as execution id prefixes (see Backend.search / executions).
    for eid in ("a/1", "a/2", "b/1", "ab"):
        await fstore.save(Checkpoint(eid, {}, checkpoint_id=eid, metadata={"k": 1}))
    found, _ = await fstore._search("a/", None, 10, {}, with_writes=False, max_bytes=2**20)
    assert [c.execution_id for c in found] == ["a/2", "a/1"]
    listed = await fstore._executions("a/", None, 10)
    assert [x.execution_id for x in listed] == ["a/2", "a/1"]
    assert await fstore._delete_where("a/", None, {"k": 1}) == 2
    assert [c.execution_id for c in (await fstore.search()).checkpoints] == ["ab", "b/1"]


# -- copy ---------------------------------------------------------------------------------------


async def test_copy_is_built_aside_and_renamed_into_place(fstore: FileStore) -> None:
    await fstore.save(
        Checkpoint("src", {"s": 1}, checkpoint_id="a", channels={"m": Channel("1", "M")})
    )
    await fstore.put_writes("src", "a", [PendingWrite("t", -1, "ch", b"src")])
    await fstore.put_writes("src", "next", [PendingWrite("t", 0, "ch", b"ahead")])
    # The target holds writes alone: no checkpoints, so the copy may replace it.
    await fstore.put_writes("dst", "z", [PendingWrite("t", 0, "ch", b"stray")])
    assert await fstore.copy_execution("src", "dst") == 1
    assert not [e for e in os.listdir(fstore.root) if e.startswith(".tmp-")]
    loaded = await fstore.load("dst", "a")
    assert (loaded.execution_id, loaded.state, loaded.channels["m"].value) == ("dst", {"s": 1}, "M")
    assert [w.value for w in loaded.pending_writes] == [b"src"]
    await fstore.save(Checkpoint("dst", {}, checkpoint_id="z"))
    assert (await fstore.load("dst", "z")).pending_writes == ()  # the stray writes went
    await fstore.save(Checkpoint("dst", {}, checkpoint_id="next"))
    assert [w.value for w in (await fstore.load("dst", "next")).pending_writes] == [b"ahead"]
    # Files are shared, never changed in place: replacing a write in the copy leaves the
    # source be.
    await fstore.put_writes("dst", "a", [PendingWrite("t", -1, "ch", b"dst")])
    assert [w.value for w in (await fstore.load("src", "a")).pending_writes] == [b"src"]
    await fstore.clear("dst")
    assert (await fstore.load("src", "a")).channels["m"].value == "M"


async def test_a_copy_cut_short_is_invisible_and_swept_at_open(root: Path) -> None:
    store = await FileStore.open(str(root))
    await store.save(Checkpoint("src", {}, checkpoint_id="a"))
    # What a crash while building the copy leaves: a complete-looking tree aside.
    source_dir = root / sha("src")
    leftover = root / f".tmp-copy-{sha('dst')}-0123"
    shutil.copytree(source_dir, leftover)
    assert (await store.executions()).executions[0].execution_id == "src"
    assert len((await store.executions()).executions) == 1
    assert (await store.search()).checkpoints[0].execution_id == "src"
    with pytest.raises(NotFound):
        await store.latest("dst")
    await store.close()
    again = await FileStore.open(str(root))
    try:
        assert not leftover.exists()
        assert await again.copy_execution("src", "dst") == 1
    finally:
        await again.close()


async def test_copies_in_both_directions_at_once_do_not_deadlock(root: Path) -> None:
    one = await FileStore.open(str(root))
    two = await FileStore.open(str(root))
    try:
        await one.save(Checkpoint("x", {}))
        await one.save(Checkpoint("y", {}))
        await one.put_writes("x", "w", [PendingWrite("t", 0, "c", b"")])
        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    store.copy_execution(a, b)
                    for _ in range(8)
                    for store, (a, b) in ((one, ("x", "z")), (two, ("y", "z")))
                ),
                return_exceptions=True,
            ),
            60,
        )
        assert results.count(1) == 1
        assert all(isinstance(r, Conflict) for r in results if r != 1)
    finally:
        await one.close()
        await two.close()


async def test_copy_replaces_a_target_whose_checkpoints_expired(root: Path) -> None:
    clock = FakeClock()
    store = await FileStore.open(str(root), retention=Retention(ttl_seconds=60), clock=clock)
    try:
        await store.save(Checkpoint("dst", {"old": True}, checkpoint_id="old"))
        clock.advance(61)
        await store.save(Checkpoint("src", {}, checkpoint_id="new"))
        assert await store.copy_execution("src", "dst") == 1
        assert [c.checkpoint_id for c in (await store.list("dst")).checkpoints] == ["new"]
        with pytest.raises(Conflict):
            await store.copy_execution("src", "dst")
    finally:
        await store.close()


# -- clear and close --------------------------------------------------------------------------


async def test_clear_removes_the_execution_directory_and_its_lock(fstore: FileStore) -> None:
    await fstore.save(Checkpoint("keep", {}))
    before = set(os.listdir(fstore.root))
    for ns in ("", "child"):
        saved = await fstore.save(Checkpoint("gone", {}, namespace=ns))
        await fstore.put_writes(
            "gone", saved.checkpoint_id, [PendingWrite("t", 0, "c", b"")], namespace=ns
        )
    assert len(set(os.listdir(fstore.root)) - before) == 1
    locks = set(os.listdir(fstore.root / ".locks"))
    assert len(locks) == 2

    assert await fstore.clear("gone", namespace="child") == 1
    assert (await fstore.latest("gone")).version == 1
    assert await fstore.clear("gone") == 1
    assert set(os.listdir(fstore.root)) == before
    assert len(set(os.listdir(fstore.root / ".locks"))) == 1
    assert (await fstore.latest("keep")).version == 1
    # The execution starts again, lock and all.
    assert (await fstore.save(Checkpoint("gone", {}))).version == 1


async def test_close_is_idempotent_and_final(root: Path) -> None:
    store = await FileStore.open(str(root))
    await store.save(Checkpoint("run", {}))
    await store.close()
    await store.close()
    with pytest.raises(Unavailable):
        await store.latest("run")
    with pytest.raises(Unavailable):
        await store.save(Checkpoint("run", {}))
