"""The export/import benchmark runs end to end on a few checkpoints, so it cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_export_import_bench_reports_rates(postgres_url: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.export_import",
            "--checkpoints",
            "200",
            "--executions",
            "4",
            "--postgres-url",
            postgres_url,
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout)
    assert figures["checkpoints"] == 200
    for step in ("export", "import", "copy"):
        assert figures[step]["checkpoints_per_s"] > 0
        assert figures[step]["mb_per_s"] > 0
