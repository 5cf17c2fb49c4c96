"""The benchmark's other tools run end to end, briefly: save_many cells, the soak, the
metrics overhead. Real processes (gateways, a redis-server of the harness), no timing
assertions: what they measure is noise at these lengths, what they print must not rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_save_many_cells_count_checkpoints(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = _run(
        "bench.run",
        "--targets=bare,gateway-memory",
        "--ops=save_many",
        "--sizes=1KiB",
        "--concurrency=2",
        "--duration=0.5",
        "--warmup=0.1",
        "--max-requests=500",
        f"--out={out}",
    )
    assert "save_many rows count checkpoints, not calls" in done.stdout

    document = json.loads(out.read_text())
    assert document["settings"]["save_many_batch"] == 100
    assert document["settings"]["save_many_sizes"] == [1024]
    assert document["skipped"] == {}
    rows = {row["target"]: row for row in document["results"]}
    assert set(rows) == {"bare", "gateway-memory"}
    for row in rows.values():
        assert row["op"] == "save_many"
        assert row["items_per_op"] == 100
        assert row["errors"] == 0, row["first_error"]
        assert row["calls"] > 0
        assert row["requests"] == 100 * row["calls"]  # checkpoints, not calls
        assert row["requests"] <= 500 * 10 + 2 * 100  # the cap, plus the calls in flight
        assert row["ops_per_s"] > 0
    assert "save_many" in out.with_suffix(".md").read_text()


def test_save_many_runs_only_at_its_sizes(tmp_path: Path) -> None:
    """With the default sizes, save_many is measured at 1 KiB only; LangGraph never has it."""
    from bench.run import Bench, parse_args

    settings = parse_args(["--ops=save,save_many", "--sizes=1KiB,64KiB", "--save-many-sizes=1KiB"])
    bench = Bench(settings, tmp_path)
    assert bench.ops("grpc", 1024) == ["save", "save_many"]
    assert bench.ops("grpc", 65536) == ["save"]
    assert bench.ops("langgraph", 1024) == ["save"]
    assert parse_args([]).save_many_sizes == [1024]
    assert parse_args(["--sizes=1KiB,64KiB"]).save_many_sizes == [1024, 65536]


@pytest.mark.slow  # 14 s: the soak's 12 s of load
def test_soak_samples_rss(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    done = _run("bench.soak", "--minutes=0.2", f"--out={out}")
    assert "start RSS" in done.stdout
    assert "slope" in done.stdout

    document = json.loads(out.read_text())
    samples = document["samples"]
    assert len(samples) >= 3
    assert all(sample["rss_mib"] > 0 for sample in samples)
    loaded = [sample for sample in samples if sample["ops_per_s"] is not None]
    assert loaded
    assert sum(sample["requests"] for sample in loaded) > 0
    assert set(loaded[0]["by_op"]) <= {"save", "load", "latest", "list"}
    summary = document["summary"]
    for key in ("start_rss_mib", "end_rss_mib", "max_rss_mib"):
        assert summary[key] > 0
    assert summary["max_rss_mib"] >= summary["end_rss_mib"]
    assert summary["slope_mib_per_min"] is not None
    assert summary["errors"] == 0


def test_metrics_overhead_on_redis(tmp_path: Path) -> None:
    out = tmp_path / "overhead.json"
    done = _run(
        "bench.metrics_overhead",
        "--backend=redis",
        "--saves=200",
        "--concurrency=4",
        "--runs=1",
        f"--out={out}",
    )
    assert "metrics on" in done.stdout
    assert "on/off throughput" in done.stdout

    document = json.loads(out.read_text())
    assert document["backend"] == "redis"
    assert document["order"] == ["on", "off"]
    assert len(document["runs"]["on"]) == len(document["runs"]["off"]) == 1
    assert document["ratio_on_off"] > 0
    assert set(document["in_process_us_per_save"]) == {"on", "off"}


def test_profile_summarizes_py_spy_stacks() -> None:
    from bench.profile import summarize

    raw = "\n".join(
        [
            "thread (1);main (cli.py:10);save (service.py:5);pack (redis.py:3) 6",
            "thread (1);main (cli.py:10);save (service.py:7) 3",
            "thread (2);poll (threading.py:1) 1",
            "not a stack line",
        ]
    )
    text = summarize(raw, top=2)
    assert text.splitlines()[0] == "10 samples"
    by_self = text.split("top 2 by self:")[1].split("top 2 by inclusive:")[0]
    assert by_self.split() == ["60.0%", "pack", "(redis.py)", "30.0%", "save", "(service.py)"]
    by_inclusive = text.split("top 2 by inclusive:")[1].strip().splitlines()
    assert sorted(line.split() for line in by_inclusive) == [
        ["90.0%", "main", "(cli.py)"],
        ["90.0%", "save", "(service.py)"],
    ]


def test_profile_records_a_gateway(tmp_path: Path) -> None:
    pyspy = Path(sys.executable).with_name("py-spy")
    if not pyspy.exists():
        pytest.skip("py-spy is not installed (the dev extra installs it)")
    out = tmp_path / "profile.txt"
    done = _run(
        "bench.profile", "--backend=memory", "--seconds=1", "--concurrency=4", f"--out={out}"
    )
    text = out.read_text()
    assert text.startswith("gateway-memory save 1KiB c=4:")
    samples = int(text.splitlines()[1].split()[0])
    assert samples > 0
    assert "top 25 by self:" in text
    assert str(out) in done.stdout


def test_auth_overhead_measures_each_mode(tmp_path: Path) -> None:
    out = tmp_path / "auth.json"
    done = _run(
        "bench.auth_overhead",
        "--saves=200",
        "--concurrency=4",
        "--runs=1",
        f"--out={out}",
        timeout=120,
    )
    document = json.loads(out.read_text())
    assert {row["mode"] for row in document["runs"]} == {"off", "token", "jwt"}
    assert all(row["saves_per_s"] > 0 for row in document["runs"])
    for mode in ("off", "token", "jwt"):
        assert f"{mode}: " in done.stdout


def test_runtimes_quick_runs_every_part(tmp_path: Path) -> None:
    """LangGraph through the gateway against AsyncPostgresSaver on a throwaway PostgreSQL:
    every part yields its rows, and the delta history takes one round trip where
    LangGraph's default walk takes one per ancestor (and both replay the same writes)."""
    out = tmp_path / "runtimes.json"
    done = _run("bench.runtimes", "--quick", f"--out={out}", timeout=300)
    rows = json.loads(out.read_text())
    graph = {(r["saver"], r["callers"]) for r in rows if r["part"] == "graph"}
    assert graph == {(s, c) for s in ("gateway", "langgraph-postgres") for c in (1, 16)}
    assert all(r["runs_per_s"] > 0 for r in rows if r["part"] == "graph")
    storage = {r["saver"]: r for r in rows if r["part"] == "storage"}
    assert set(storage) == {"gateway", "langgraph-postgres"}
    assert all(r["relation_bytes"] > r["payload_bytes"] > 0 for r in storage.values())
    delta = {r["walk"]: r for r in rows if r["part"] == "delta"}
    assert delta["gateway Ancestors"]["round_trips"] == 1
    assert delta["gateway, LangGraph's default walk"]["round_trips"] == 502
    assert {r["writes_replayed"] for r in delta.values()} == {501}
    assert "gateway / AsyncPostgresSaver at 1 callers" in done.stdout
