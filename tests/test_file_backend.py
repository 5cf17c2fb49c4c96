"""What the file backend promises beyond the contract suite: ids never become paths, saves
survive a restart, crash leftovers are ignored, several stores (and processes) on one
directory serialize, and a listing opens only the files it needs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from checkpoint_client import (
    Checkpoint,
    InternalError,
    NotFound,
    PendingWrite,
    Unavailable,
    iter_checkpoints,
)
from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends.file import FileStats, FileStore

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
    (writes_dir,) = [p for p in lineage.iterdir() if p.name.endswith(".w")]
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


async def test_writes_orphaned_by_a_crashed_delete_never_attach_to_a_new_checkpoint(
    fstore: FileStore,
) -> None:
    await fstore.save(Checkpoint("run", {"old": True}, checkpoint_id="a"))
    await fstore.put_writes("run", "a", [PendingWrite("t", 0, "ch", b"stale")])
    # A crash between a delete's commit point (unlinking the .ckpt) and removing the
    # writes leaves the writes directory behind.
    (path,) = ckpt_files(fstore.root)
    path.unlink()
    with pytest.raises(NotFound):
        await fstore.load("run", "a")
    # Re-saving the id gets the same version, so the same file name as before.
    again = await fstore.save(Checkpoint("run", {"new": True}, checkpoint_id="a"))
    assert again.version == 1
    assert ckpt_files(fstore.root) == [path]
    assert (await fstore.load("run", "a")).pending_writes == ()


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
