"""The storage benchmark runs end to end on a short conversation, so it cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str) -> dict[str, Any]:
    """Run ``python -m bench.<args>`` with ``--json``; its figures."""
    done = subprocess.run(
        [sys.executable, "-m", *args, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def test_storage_bench_measures_every_store() -> None:
    figures = bench("bench.storage", "--turns", "12", "--message-bytes", "1024")
    assert figures["turns"] == 12
    # The full state after every turn: turn i carries i messages of ~1 KiB.
    assert figures["raw_state_bytes"] > 78 * 1024
    assert set(figures["rows"]) == {"sqlite", "file", "postgresql", "redis", "langgraph-postgres"}
    for name, row in figures["rows"].items():
        assert row["stored"] > 0, name
        assert row["latest_p50_ms"] > 0, name
        assert row["load_p50_ms"] > 0, name
        if name != "langgraph-postgres":  # the gateway's stores keep chains of deltas
            assert row["deltas"] > 0, name
            assert row["plain_latest_p50_ms"] > 0, name
            assert row["latest_cold_p50_ms"] > 0, name


def test_scale_bench_measures_every_cell() -> None:
    figures = bench(
        "bench.scale",
        *("--backend", "sqlite", "--small", "1000", "--checkpoints", "2000"),
        *("--lineage", "1000", "--samples", "3"),
    )
    cells = {"save", "load", "latest", "list page", "executions page", "search run_id"}
    cells |= {"copy 1,000", "delete 10 runs"}
    assert set(figures["small"]) == set(figures["big"]) == cells
    assert all(v > 0 for v in [*figures["small"].values(), *figures["big"].values()])
    assert set(figures["lineage"]) == {"short", "long"}
