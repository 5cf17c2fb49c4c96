"""The storage benchmark runs end to end on a short conversation, so it cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_storage_bench_measures_every_store() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.storage",
            "--turns",
            "10",
            "--message-bytes",
            "256",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout)
    assert figures["turns"] == 10
    # The full state after every turn: turn i carries i messages of ~256 bytes.
    assert figures["raw_state_bytes"] > 55 * 256
    assert set(figures["rows"]) == {"sqlite", "file", "postgresql", "redis", "langgraph-postgres"}
    for name, row in figures["rows"].items():
        assert row["stored"] > 0, name
        assert row["latest_p50_ms"] > 0, name
        assert row["load_p50_ms"] > 0, name
