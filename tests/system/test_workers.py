"""``serve --workers N``: real supervisor and worker processes, real signals, one port.

Which worker served a call is read from the workers' own metrics files (prometheus_client's
multiprocess mode keeps one per process); the processes are found by walking /proc.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from checkpoint_client import Checkpoint, CheckpointClient, Unavailable
from tests.gateway_process import CLI, GatewayProcess, clean_env
from tests.harness import postgres as pg
from tests.observability.harness import poll, sample_value, scrape

ROOT = Path(__file__).resolve().parents[2]
_METRICS_LINE = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")

# A channel of its own per client, so each client is a TCP connection of its own, which
# the kernel hands to one of the workers (grpc otherwise shares connections process-wide).
_OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text.rpartition(")")[2].split()[:2]
    return state, int(ppid)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pid:
                found.append(int(entry.name))
    return sorted(found)


def gone(pid: int) -> bool:
    """Exited: no process, or a zombie nobody reaped (an orphan's fate in some containers)."""
    stat = _stat(pid)
    return stat is None or stat[0] == "Z"


def metrics_dir(worker: int) -> Path:
    """The worker's PROMETHEUS_MULTIPROC_DIR, from its environment."""
    for item in Path(f"/proc/{worker}/environ").read_bytes().split(b"\0"):
        name, _, value = item.partition(b"=")
        if name == b"PROMETHEUS_MULTIPROC_DIR":
            return Path(value.decode())
    raise AssertionError(f"worker {worker} has no PROMETHEUS_MULTIPROC_DIR")


def handled_by(directory: Path, worker: int, method: str) -> float:
    """grpc_server_handled_total of ``method`` (OK) counted by one worker alone."""
    for metric in MultiProcessCollector.merge([str(directory / f"counter_{worker}.db")]):
        for s in metric.samples:
            if (
                s.name == "grpc_server_handled_total"
                and s.labels["grpc_method"] == method
                and s.labels["grpc_code"] == "OK"
            ):
                return float(s.value)
    return 0.0


def _family(families: dict[str, Any], sample: str) -> str:
    """The name of the family a sample is in."""
    for name, family in families.items():
        if any(s.name == sample for s in family.samples):
            return name
    raise AssertionError(f"no sample {sample} scraped")


def metrics_port(gw: GatewayProcess) -> int:
    m = _METRICS_LINE.search(gw.output())
    assert m, gw.output()
    return int(m.group(1))


def start(tmp_path: Path, *args: str, workers: int = 2) -> GatewayProcess:
    backend = ["--backend", f"sqlite:///{tmp_path}/gw.db"] if "--backend" not in args else []
    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0", *backend, "--workers", str(workers), *args], cwd=tmp_path
    )
    try:
        gw.wait_listening()
    except BaseException:
        gw.stop(signal.SIGKILL)
        raise
    return gw


@pytest.fixture
def two(tmp_path: Path) -> Iterator[GatewayProcess]:
    gw = start(tmp_path)
    yield gw
    if gw.proc.poll() is None:
        gw.stop(signal.SIGKILL)


def test_two_workers_take_calls_and_the_supervisor_counts_them_all(
    two: GatewayProcess,
) -> None:
    assert ", 2 workers" in two.output()
    workers = children(two.proc.pid)
    assert len(workers) == 2, two.output()
    directory = metrics_dir(workers[0])
    saves = 40
    saved = []
    for i in range(saves):
        with CheckpointClient(two.target, options=_OWN_CONNECTION) as client:
            saved.append(client.save(Checkpoint(f"run-{i}", {"i": i})))
    for cp in saved:
        with CheckpointClient(two.target, options=_OWN_CONNECTION) as client:
            assert client.load(cp.execution_id, cp.checkpoint_id).state == cp.state

    # Each worker served some (40 connections all hashed to one worker: odds of 2^-39).
    per_worker = [handled_by(directory, pid, "Save") for pid in workers]
    assert all(n > 0 for n in per_worker), per_worker
    assert sum(per_worker) == saves

    families = scrape(metrics_port(two))

    def value(sample: str, **labels: str) -> float | None:
        return sample_value(families, _family(families, sample), sample, **labels)

    for operation in ("save", "load"):
        labels = {"operation": operation, "backend": "sqlite", "outcome": "OK"}
        assert value("checkpoint_gateway_operations_total", **labels) == saves
        duration = "checkpoint_gateway_operation_duration_seconds"
        assert value(f"{duration}_count", **labels) == saves
        assert value(f"{duration}_bucket", le="+Inf", **labels) == saves
        in_flight = "checkpoint_gateway_operations_in_flight"
        assert value(in_flight, operation=operation, backend="sqlite") == 0
    for method in ("Save", "Load"):
        assert value("grpc_server_handled_total", grpc_method=method, grpc_code="OK") == saves
        assert value("grpc_server_started_total", grpc_method=method) == saves
    state_bytes = "checkpoint_gateway_state_bytes_count"
    assert value(state_bytes, operation="save", backend="sqlite") == saves
    # Per-process and callback families, merged: one series each, as with one process.
    assert value("checkpoint_gateway_circuit_breaker_state", backend="sqlite") == 0
    assert len(families["checkpoint_gateway_build_info"].samples) == 1
    cpu = value("process_cpu_seconds_total")
    assert cpu is not None
    assert cpu > 0
    assert value("python_gc_collections_total", generation="0") is not None
    assert not any("pid" in s.labels for f in families.values() for s in f.samples)

    assert two.stop(signal.SIGTERM) == 0, two.output()
    assert all(gone(pid) for pid in workers)
    assert not directory.exists(), "the supervisor leaves its metrics files behind"
    assert two.output().count("stopped") == 3  # each worker, then the supervisor


def test_sigterm_drains_every_worker_and_exits_0(two: GatewayProcess) -> None:
    workers = children(two.proc.pid)
    outcomes: list[str] = []
    failures: list[BaseException] = []
    finished = threading.Event()

    def load() -> None:
        # Clients that never retry: each call is answered OK or UNAVAILABLE (refused while
        # draining, or nobody listening any more); anything else is a call the drain lost.
        i = 0
        while not finished.is_set():
            i += 1
            try:
                with CheckpointClient(
                    two.target, options=_OWN_CONNECTION, service_config=None, timeout=10
                ) as client:
                    client.save(Checkpoint(f"drain-{i % 8}", {"i": i}))
                outcomes.append("OK")
            except Unavailable:
                outcomes.append("Unavailable")
                if two.proc.poll() is not None:
                    return
            except BaseException as exc:
                failures.append(exc)
                return

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        poll(lambda: outcomes.count("OK") >= 20, 30, "saves under way")
        code = two.stop(signal.SIGTERM)
    finally:
        finished.set()
        for t in threads:
            t.join(30)
    assert code == 0, two.output()
    assert not failures, (failures, two.output())
    assert all(gone(pid) for pid in workers)
    assert "2 workers drain in-flight calls" in two.output()


def test_a_worker_killed_stops_the_gateway_with_exit_1(two: GatewayProcess) -> None:
    workers = children(two.proc.pid)
    directory = metrics_dir(workers[0])
    victim, survivor = workers
    os.kill(victim, signal.SIGKILL)
    assert two.wait(60) == 1, two.output()
    out = two.output()
    assert re.search(rf"worker \d \(pid {victim}\) was killed by SIGKILL; stopping", out), out
    assert "workers are not restarted" in out
    assert gone(survivor)
    assert not directory.exists()


def test_workers_stop_when_the_supervisor_is_killed(two: GatewayProcess) -> None:
    workers = children(two.proc.pid)
    directory = metrics_dir(workers[0])
    try:
        assert two.stop(signal.SIGKILL) == -signal.SIGKILL
        poll(lambda: all(gone(pid) for pid in workers), 30, "the orphaned workers to exit")
        assert "the supervisor is gone: shutting down" in two.output()
    finally:
        for pid in workers:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        # A supervisor killed outright cannot remove its metrics files; the test does.
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(("scheme", "metrics"), [("sqlite", "127.0.0.1:0"), ("file", "off")])
def test_workers_share_a_file_backend_without_losing_a_save(
    tmp_path: Path, scheme: str, metrics: str
) -> None:
    # Every client saves to the same lineage at once, through whichever worker it reached:
    # versions must still be 1..N, each once (the backends lock across processes).
    url = f"sqlite:///{tmp_path}/shared.db" if scheme == "sqlite" else f"file://{tmp_path}/data"
    gw = start(tmp_path, "--backend", url, "--metrics-listen", metrics)
    clients, each = 8, 10
    errors: list[BaseException] = []

    def save() -> None:
        try:
            with CheckpointClient(gw.target, options=_OWN_CONNECTION) as client:
                for i in range(each):
                    client.save(Checkpoint("shared", {"i": i}))
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=save) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        with CheckpointClient(gw.target) as client:
            versions = [cp.version for cp in client.iter_checkpoints("shared")]
        assert versions == list(range(clients * each, 0, -1))
        if metrics == "off":
            assert "metrics on" not in gw.output()
            assert not any(
                "PROMETHEUS_MULTIPROC_DIR" in item.decode(errors="replace")
                for pid in children(gw.proc.pid)
                for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            )
    finally:
        assert gw.stop() == 0, gw.output()


@pytest.mark.parametrize(("first", "second"), [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_a_second_gateway_on_a_taken_port_fails_clearly(
    tmp_path: Path, first: int, second: int
) -> None:
    # SO_REUSEPORT must never let a stale gateway and a new one split the traffic.
    gw = start(tmp_path, workers=first)
    try:
        proc = subprocess.run(
            [
                *CLI,
                "serve",
                "--listen",
                gw.target,
                "--backend",
                f"sqlite:///{tmp_path}/other.db",
                "--workers",
                str(second),
            ],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1, proc.stderr
        assert f"cannot listen on {gw.target}" in proc.stderr
        assert "Traceback" not in proc.stderr
        with CheckpointClient(gw.target) as client:
            client.save(Checkpoint("still-mine", {}))
    finally:
        assert gw.stop() == 0, gw.output()


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["--workers", "2", "--backend", "memory://"], {}, ["--workers", "memory://"]),
        (
            [],
            {"CHECKPOINT_GATEWAY_WORKERS": "3", "CHECKPOINT_GATEWAY_BACKEND": "memory://"},
            ["CHECKPOINT_GATEWAY_WORKERS", "memory://"],
        ),
        (["--workers", "0"], {}, ["--workers / CHECKPOINT_GATEWAY_WORKERS", "greater than 0"]),
        (["--workers", "two"], {}, ["--workers / CHECKPOINT_GATEWAY_WORKERS", "whole number"]),
    ],
)
def test_bad_worker_settings_exit_2_with_one_clear_line(
    tmp_path: Path, args: list[str], env: dict[str, str], words: list[str]
) -> None:
    proc = subprocess.run(
        [*CLI, "serve", "--listen", "127.0.0.1:0", *args],
        cwd=tmp_path,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert all(word in lines[0] for word in words), lines[0]


def test_one_worker_is_the_plain_gateway(tmp_path: Path) -> None:
    gw = start(tmp_path, "--backend", "memory://", workers=1)
    try:
        assert "workers" not in gw.output()
        assert children(gw.proc.pid) == []
    finally:
        assert gw.stop() == 0


def test_readme_documents_workers() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Several worker processes", 1)[1].split("\n### ", 1)[0]
    for needed in ("--workers", "SO_REUSEPORT", "memory://", "SQLite", "file", "exits 1"):
        assert needed in section, needed
    assert "`CHECKPOINT_GATEWAY_WORKERS`" in readme


def test_postgres_fresh_schema_with_workers(postgres_url: str, tmp_path: Path) -> None:
    # The supervisor migrates the new schema before any worker starts; each worker then
    # finds nothing left to do.
    schema = pg.new_schema()
    try:
        gw = start(tmp_path, "--backend", postgres_url, "--postgres-schema", schema)
        try:
            with CheckpointClient(gw.target) as client:
                saved = client.save(Checkpoint("pg", {"ok": True}))
                assert client.latest("pg").checkpoint_id == saved.checkpoint_id
        finally:
            assert gw.stop() == 0, gw.output()
    finally:
        pg.drop_schema(postgres_url, schema)


def test_worker_log_lines_say_which_worker(tmp_path: Path) -> None:
    gw = start(tmp_path, "--log-format", "json", "--metrics-listen", "off")
    try:
        entries = [json.loads(line) for line in gw.lines]
        assert sorted(e["worker"] for e in entries if "serving on" in e["msg"]) == [1, 2]
        assert "worker" not in entries[-1]  # the supervisor's listening line
        assert ", 2 workers; authentication OFF" in entries[-1]["msg"]
    finally:
        assert gw.stop() == 0, gw.output()
