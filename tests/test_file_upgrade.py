"""A store written by the format-1 file layout (writes in ``<V>-<C>.w/``, no channels, no
``.format`` file) keeps working after an upgrade: the files are written here by hand,
byte for byte as the old code wrote them, then a store of this code opens the directory."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from checkpoint_client import Checkpoint, InternalError, NotFound, PendingWrite, iter_checkpoints
from checkpoint_gateway.backends.file import FileStore

T0 = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()


def old_checkpoint(
    root: Path, execution: str, namespace: str, cid: str, version: int, state: bytes, **kw: Any
) -> str:
    """Write a checkpoint file as format 1 did; return its stem ``<V>-<C>``."""
    lineage = root / sha(execution) / sha(namespace)
    lineage.mkdir(parents=True, exist_ok=True)
    head = {
        "format": 1,
        "execution_id": execution,
        "namespace": namespace,
        "checkpoint_id": cid,
        "parent_id": kw.get("parent_id", ""),
        "node": kw.get("node", ""),
        "next_nodes": kw.get("next_nodes", []),
        "content_type": "application/json",
        "metadata": kw.get("metadata", {}),
        "created_at": (T0 + timedelta(seconds=version)).isoformat(timespec="microseconds"),
        "version": version,
        "state_length": len(state),
    }
    stem = f"{version:020d}-{sha(cid)[:32]}"
    (lineage / f"{stem}.ckpt").write_bytes(dumps(head) + b"\n" + state)
    return stem


def old_write(
    root: Path, execution: str, namespace: str, stem: str, task: str, idx: int, value: bytes
) -> None:
    directory = root / sha(execution) / sha(namespace) / f"{stem}.w"
    directory.mkdir(exist_ok=True)
    head = {
        "format": 1,
        "task_id": task,
        "idx": idx,
        "channel": "ch",
        "content_type": "application/octet-stream",
        "task_path": "",
        "value_length": len(value),
    }
    name = f"{sha(task)[:32]}-{idx + 2**31:010d}.pw"
    (directory / name).write_bytes(dumps(head) + b"\n" + value)


def build_old_store(root: Path) -> None:
    (root / ".locks").mkdir(parents=True)
    a = old_checkpoint(root, "run", "", "a", 1, b'{"i":1}', metadata={"step": 1})
    b = old_checkpoint(root, "run", "", "b", 2, b'{"i":2}', parent_id="a", next_nodes=["x"])
    old_write(root, "run", "", a, "t1", 0, b"a0")
    old_write(root, "run", "", b, "t1", 0, b"b0")
    old_write(root, "run", "", b, "t2", -1, b"b-err")
    # What a crashed delete left in format 1: writes whose checkpoint file is gone.
    old_write(root, "run", "", f"{3:020d}-{sha('gone')[:32]}", "t", 0, b"stale")
    s = old_checkpoint(root, "run", "child", "s", 1, b'{"sub":true}')
    old_write(root, "run", "child", s, "t", 5, b"s5")
    old_checkpoint(root, "other", "", "o", 1, b"{}")


def names(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*")}


async def test_an_old_layout_store_loads_back_with_its_writes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    build_old_store(root)
    assert any(n.endswith(".w") for n in names(root))

    store = await FileStore.open(str(root))
    try:
        a = await store.load("run", "a")
        assert (a.state, a.version, a.metadata, a.created_at) == (
            {"i": 1},
            1,
            {"step": 1},
            T0 + timedelta(seconds=1),
        )
        assert [(w.task_id, w.idx, w.value) for w in a.pending_writes] == [("t1", 0, b"a0")]
        b = await store.latest("run")
        assert (b.checkpoint_id, b.parent_id, b.next_nodes, b.channels) == ("b", "a", ("x",), {})
        assert [(w.task_id, w.idx, w.value) for w in b.pending_writes] == [
            ("t1", 0, b"b0"),
            ("t2", -1, b"b-err"),
        ]
        s = await store.load("run", "s", namespace="child")
        assert [w.value for w in s.pending_writes] == [b"s5"]

        # The layout is the new one now, and says so.
        after = names(root)
        assert not any(n.endswith(".w") for n in after)
        assert f"w-{sha('a')[:32]}" in after
        assert f"w-{sha('gone')[:32]}" not in after  # a crash leftover, not writes ahead
        assert json.loads((root / ".format").read_bytes()) == {"format": 2}

        # Every listing sees the old checkpoints.
        listed = [c async for c in iter_checkpoints(store, "run", page_size=1)]
        assert [c.checkpoint_id for c in listed] == ["b", "a"]
        across = await store.list("run", all_namespaces=True, with_writes=True)
        assert [(c.checkpoint_id, len(c.pending_writes)) for c in across.checkpoints] == [
            ("b", 2),
            ("s", 1),
            ("a", 1),
        ]
        assert (await store.namespaces("run")).namespaces == ["", "child"]
        executions = (await store.executions()).executions
        assert [(x.execution_id, x.updated_at) for x in executions] == [
            ("run", T0 + timedelta(seconds=2)),
            ("other", T0 + timedelta(seconds=1)),
        ]
        assert [c.checkpoint_id for c in (await store.search({"step": 1})).checkpoints] == ["a"]

        # And carries on: versions continue, first writes still win, old writes go with
        # their checkpoint, and the leftover never attaches to a new "gone".
        await store.put_writes("run", "b", [PendingWrite("t1", 0, "ch", b"late")])
        first, _ = (await store.load("run", "b")).pending_writes
        assert first.value == b"b0"
        assert (await store.save(Checkpoint("run", {"i": 3}, checkpoint_id="gone"))).version == 3
        assert (await store.load("run", "gone")).pending_writes == ()
        assert await store.delete("run", "a")
        assert f"w-{sha('a')[:32]}" not in names(root)
        assert await store.copy_execution("run", "copy") == 3
        assert len((await store.load("copy", "b")).pending_writes) == 2
    finally:
        await store.close()


async def test_an_upgrade_cut_short_is_finished_by_the_next_open(tmp_path: Path) -> None:
    root = tmp_path / "store"
    build_old_store(root)
    # A crash after the first lineage was converted, before `.format` was written.
    lineage = root / sha("run") / sha("child")
    (old,) = lineage.glob("*.w")
    old.rename(lineage / f"w-{old.name[21:53]}")
    store = await FileStore.open(str(root))
    try:
        assert not any(n.endswith(".w") for n in names(root))
        assert [
            w.value for w in (await store.load("run", "s", namespace="child")).pending_writes
        ] == [b"s5"]
        assert len((await store.load("run", "b")).pending_writes) == 2
    finally:
        await store.close()
    # Opening an upgraded store again changes nothing.
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if ".locks" not in p.parts}
    again = await FileStore.open(str(root))
    await again.close()
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if ".locks" not in p.parts} == before


async def test_a_store_from_a_newer_layout_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    (root / ".format").write_bytes(b'{"format": 99}\n')
    with pytest.raises(InternalError, match="newer"):
        await FileStore.open(str(root))


async def test_a_new_store_is_created_in_the_new_layout(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = await FileStore.open(str(root))
    try:
        assert json.loads((root / ".format").read_bytes()) == {"format": 2}
        with pytest.raises(NotFound):
            await store.latest("run")
    finally:
        await store.close()
    assert sorted(os.listdir(root)) == [".format", ".locks"]
