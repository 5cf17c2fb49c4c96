"""The benchmark runs end to end (``--quick``), so that it cannot rot between full runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_writes_figures(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ops/s" in done.stdout

    document = json.loads(out.read_text())
    assert document["settings"]["targets"] == ["bare", "gateway-memory"]
    assert document["machine"]["cpus"] >= 1
    assert document["skipped"] == {}
    rows = {row["target"]: row for row in document["results"]}
    assert set(rows) == {"bare", "gateway-memory"}
    for row in rows.values():
        assert (row["op"], row["state_bytes"], row["concurrency"]) == ("save", 1024, 1)
        assert row["errors"] == 0
        assert row["requests"] > 0
        assert row["ops_per_s"] > 0
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        assert row["server_cpu_us"] > 0
        assert row["client_cpu_us"] > 0
        assert row["rss_mib"] > 0
    gateway = rows["gateway-memory"]
    assert gateway["vs_bare"] == round(gateway["ops_per_s"] / rows["bare"]["ops_per_s"], 3)
    assert gateway["vs_direct"] is None  # direct-memory was not in the run
    assert out.with_suffix(".md").read_text().startswith("| target |")
