"""Filters and paging of the admin commands, run in this process (``cli.main``) on a
SQLite file: what they select is the same code through a gateway (tests elsewhere)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from checkpoint_client import Checkpoint
from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.cli import main

from .harness import Seeded, seed


@pytest.fixture
def store(tmp_path: Path) -> tuple[list[str], Seeded]:
    """run-1 .. run-3 (seeded), then the-other (one checkpoint): backend args, run-1."""
    url = f"sqlite:///{tmp_path / 'store.db'}"

    async def fill() -> Seeded:
        backend = await open_backend(url)
        try:
            first = await seed(backend, "run-1")
            for eid in ("run-2", "run-3"):
                await seed(backend, eid)
            await backend.save(Checkpoint("the-other", {"x": 1}, metadata={"source": "input"}))
            return first
        finally:
            await backend.close()

    return ["--backend", url], asyncio.run(fill())


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = main([*args, "--output", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def ids(listing: Any) -> list[str]:
    return [e["execution_id"] for e in listing["executions"]]


def test_executions_pages_and_filters(
    store: tuple[list[str], Seeded], capsys: pytest.CaptureFixture[str]
) -> None:
    at, _ = store
    first = run(capsys, "executions", "--limit", "3", *at)
    assert ids(first) == ["the-other", "run-3", "run-2"]
    assert first["next_page_token"]
    rest = run(capsys, "executions", "--limit", "3", "--page-token", first["next_page_token"], *at)
    assert ids(rest) == ["run-1"]
    assert rest["next_page_token"] is None
    assert ids(run(capsys, "executions", "--limit", "1", "--all", *at)) == [
        "the-other",
        "run-3",
        "run-2",
        "run-1",
    ]
    assert ids(run(capsys, "executions", "--prefix", "run-", "--limit", "2", *at)) == [
        "run-3"
    ]  # a page of two executions, one of which has the prefix
    matching = run(capsys, "executions", "--metadata", "source=input", *at)
    assert ids(matching) == ["the-other"]
    assert matching["executions"][0]["latest"]["metadata"] == {"source": "input"}
    # The newest checkpoint that matches, not the newest of all.
    update = run(capsys, "executions", "--metadata", "source=update", "--metadata", "step=2", *at)
    assert ids(update) == ["run-3", "run-2", "run-1"]
    assert {e["latest"]["node"] for e in update["executions"]} == {"human"}


def test_history_limit_shows_where_it_was_cut(
    store: tuple[list[str], Seeded], capsys: pytest.CaptureFixture[str]
) -> None:
    at, s = store
    newest = run(capsys, "history", "run-1", "--namespace", "", "--limit", "2", *at)
    assert [c["checkpoint_id"] for c in newest["namespaces"][""]] == [s.line[-1], s.fork]
    assert main(["history", "run-1", "--namespace", "", "--limit", "2", *at]) == 0
    table = capsys.readouterr().out
    assert f"(parent {s.line[-2]} not shown)" in table
    assert f"(parent {s.line[1]} not shown)" in table


def test_export_a_selection(
    store: tuple[list[str], Seeded], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    at, _ = store
    out = tmp_path / "forks.jsonl"
    manifest = run(capsys, "export", str(out), "--metadata", "source=update", *at)
    assert manifest["checkpoints"] == 3
    assert manifest["executions"] == 3
    nodes = [json.loads(line).get("node") for line in out.read_text().splitlines()[1:-1]]
    assert nodes == ["human"] * 3
    picked = run(
        capsys, "export", str(out), "--execution", "run-2", "--execution", "the-other", *at
    )
    assert picked["executions"] == 2
    assert picked["checkpoints"] == 7
    assert main(["export", str(out), "--execution", "nope", *at]) == 1
    assert "execution 'nope' holds no checkpoints" in capsys.readouterr().err
    assert not (tmp_path / "forks.jsonl.partial").exists()


def test_prune_selects_idle_executions(
    store: tuple[list[str], Seeded], capsys: pytest.CaptureFixture[str]
) -> None:
    at, _ = store
    idle = run(capsys, "prune", "--all", "--idle-for", "1h", "--dry-run", *at)
    assert idle["execution_ids"] == []  # all were saved to just now
    everything = run(capsys, "prune", "--all", "--strategy", "delete", *at)
    assert everything["executions"] == 4
    assert everything["removed"] == 19
    assert ids(run(capsys, "executions", *at)) == []


def test_copy_store_says_when_the_target_differs(
    store: tuple[list[str], Seeded], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The proof is real: a target that held more of an execution does not match."""
    at, _ = store
    target = f"sqlite:///{tmp_path / 'target.db'}"

    async def squat() -> None:
        backend = await open_backend(target)
        try:
            await backend.save(Checkpoint("run-2", {"was": "here"}, checkpoint_id="extra"))
        finally:
            await backend.close()

    asyncio.run(squat())
    assert main(["copy-store", "--from", at[1], "--to", target]) == 1
    captured = capsys.readouterr()
    assert "THE TARGET DIFFERS FROM THE SOURCE" in captured.out
    assert captured.err.strip() == (
        "checkpoint-gateway copy-store: error: the target's export differs from the source's "
        "(see above)"
    )
    # Into an empty store it matches.
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    copied = run(capsys, "copy-store", "--from", at[1], "--to", empty)
    assert copied["same"] is True
    assert copied["source"]["checkpoints"] == copied["target"]["checkpoints"] == 19
