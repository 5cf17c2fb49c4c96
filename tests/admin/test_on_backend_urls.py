"""Every admin command straight on a backend URL (``--backend``), in tables for people.

The store is seeded in this process and read and changed by the CLI in its own: the same
code path as through a gateway, since both are a ``CheckpointStore``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkpoint_client import Checkpoint

from .harness import as_json, cli_many, ok, one_line_error, seed, store_url

#: Every command runs on SQLite; these show that each other backend opens with its own
#: settings (``--backend-setting``) and round-trips (the commands are the same code).
OTHER_BACKENDS = ("file", "postgresql", "redis")


async def test_every_command_on_a_backend_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    backend = "sqlite"
    where = store_url(backend, request, tmp_path)
    store = await where.open()
    try:
        s = await seed(store, "run-1")
        await seed(store, "run-2")
        await seed(store, "run-3")
    finally:
        await store.close()
    at = where.args()
    copy_to = store_url(backend, request, tmp_path)
    export_file = tmp_path / "run.jsonl"

    listed, history, shown, diffed, dry_run, missing, exported = cli_many(
        [
            ["executions", *at],
            ["history", "run-1", *at],
            ["show", "run-1", s.line[-1], *at],
            ["diff", "run-1", s.line[1], s.fork, *at],
            ["prune", "--all", "--dry-run", *at, "--output", "json"],
            ["show", "run-1", "no-such-id", *at],
            ["export", str(export_file), *at, "--output", "json"],
        ]
    )
    table = ok(listed).stdout.decode()
    assert table.splitlines()[0].split() == [
        "EXECUTION",
        "UPDATED",
        "LATEST",
        "CHECKPOINT",
        "NAMESPACE",
        "VERSION",
        "NODE",
        "NEXT",
    ]
    assert [row.split()[0] for row in table.splitlines()[1:]] == ["run-3", "run-2", "run-1"]

    tree = ok(history).stdout.decode()
    assert "execution run-1: 6 checkpoints in 2 namespaces" in tree
    assert f"fork v5 {s.fork}" in tree  # the fork hangs under the checkpoint it forks from
    assert (
        tree.index(f"v2 {s.line[1]}")
        < tree.index(f"fork v5 {s.fork}")
        < tree.index(f"v3 {s.line[2]}")
    )
    assert "writes=2" in tree
    assert "namespace 'child:1'" in tree

    text = ok(shown).stdout.decode()
    assert '"message 3"' in text
    assert "pending writes (2)" in text
    assert "<5 bytes application/x-raw>" in text

    changes = ok(diffed).stdout.decode()
    assert "added    state.messages[2]" in changes
    assert '"edited by a human"' in changes
    assert "changed  metadata.source" in changes

    assert as_json(dry_run)["execution_ids"] == ["run-1", "run-2", "run-3"]
    assert "NotFound" in one_line_error(missing, 1)
    manifest = as_json(exported)
    assert manifest["checkpoints"] == 18
    assert manifest["executions"] == 3

    # Changes, on separate executions (or stores) at the same time.
    imported, removed, copied, pruned = cli_many(
        [
            ["import", str(export_file), *copy_to.args(), "--output", "json"],
            ["rm", "run-1", "--where", "source=update", *at, "--output", "json"],
            ["copy", "run-2", "run-2-copy", *at],
            ["prune", "run-3", "--strategy", "delete", *at, "--output", "json"],
        ]
    )
    assert as_json(imported)["verified"] == 18
    assert as_json(removed) == {"removed": 1}  # the fork
    assert "copied 6 checkpoints from run-2 to run-2-copy" in ok(copied).stdout.decode()
    assert as_json(pruned)["removed"] == 6

    store = await where.open()
    try:
        assert [cp.checkpoint_id for cp in (await store.list("run-1")).checkpoints] == list(
            reversed(s.line)
        )
        assert len((await store.list("run-2-copy", all_namespaces=True)).checkpoints) == 6
        assert (await store.list("run-3", all_namespaces=True)).checkpoints == []
    finally:
        await store.close()
    target = await copy_to.open()
    try:
        latest = await target.latest("run-1")
        assert latest.checkpoint_id == s.fork
        assert latest.version == 5
        assert len(latest.pending_writes) == 0
        assert len((await target.load("run-1", s.line[-1])).pending_writes) == 2
    finally:
        await target.close()


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
async def test_each_backend_by_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    where = store_url(backend, request, tmp_path)
    store = await where.open()
    try:
        s = await seed(store, "run-1")
    finally:
        await store.close()
    export_file = tmp_path / "run.jsonl"
    listed, history, exported = cli_many(
        [
            ["executions", *where.args(), "--output", "json"],
            ["history", "run-1", *where.args(), "--output", "json"],
            ["export", str(export_file), *where.args(), "--output", "json"],
        ]
    )
    assert [e["execution_id"] for e in as_json(listed)["executions"]] == ["run-1"]
    assert [c["checkpoint_id"] for c in as_json(history)["namespaces"][""]] == [*s.line, s.fork]
    assert as_json(exported)["checkpoints"] == 6
    copy_to = store_url(backend, request, tmp_path)
    (imported,) = cli_many([["import", str(export_file), *copy_to.args(), "--output", "json"]])
    assert as_json(imported)["verified"] == 6
    target = await copy_to.open()
    try:
        assert len((await target.load("run-1", s.line[-1])).pending_writes) == 2
    finally:
        await target.close()


async def test_tenant_on_a_backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """``--tenant`` on a backend sees what the gateway stored for that tenant, as the
    tenant sees it."""
    where = store_url("sqlite", request, tmp_path)
    store = await where.open()
    try:
        for eid in ("team-a/run-1", "team-b/run-9", "untenanted"):
            await store.save(Checkpoint(eid, {"x": 1}))
    finally:
        await store.close()
    scoped, everything = cli_many(
        [
            ["executions", *where.args(), "--tenant", "team-a", "--output", "json"],
            ["executions", *where.args(), "--output", "json"],
        ]
    )
    assert [e["execution_id"] for e in as_json(scoped)["executions"]] == ["run-1"]
    assert sorted(e["execution_id"] for e in as_json(everything)["executions"]) == [
        "team-a/run-1",
        "team-b/run-9",
        "untenanted",
    ]
    assert json.loads(ok(scoped).stdout)["next_page_token"] is None
