"""``checkpoint-gateway`` as a user runs it: a real subprocess, real signals."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2

from checkpoint_client import Checkpoint, CheckpointClient, PendingWrite
from tests.gateway_process import CLI, GatewayProcess, clean_env


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_serve_with_no_settings(tmp_path: Path) -> None:
    # The documented default: 127.0.0.1:50051 and a SQLite file in the working directory.
    assert _port_free(50051), "port 50051 is taken on this machine; the default cannot bind"
    gw = GatewayProcess(cwd=tmp_path)
    try:
        assert gw.wait_listening() == 50051
        assert "backend sqlite:///checkpoints.db" in gw.output()
        assert gw.health() == health_pb2.HealthCheckResponse.SERVING
        assert (
            gw.health("checkpoint_gateway.v1.CheckpointService")
            == health_pb2.HealthCheckResponse.SERVING
        )
        with CheckpointClient(gw.target) as client:
            saved = client.save(Checkpoint("run-1", {"hello": "world"}, node="start"))
            assert client.load("run-1", saved.checkpoint_id).state == {"hello": "world"}
    finally:
        code = gw.stop(signal.SIGTERM)
    assert code == 0, gw.output()
    assert (tmp_path / "checkpoints.db").exists()
    assert "stopped" in gw.output()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_cleanly(tmp_path: Path, sig: int) -> None:
    gw = GatewayProcess(["--listen", "127.0.0.1:0", "--backend", "memory://"], cwd=tmp_path)
    gw.wait_listening()
    assert gw.stop(sig) == 0, gw.output()


@pytest.mark.parametrize("scheme", ["file", "sqlite"])
def test_acknowledged_saves_survive_kill_9(tmp_path: Path, scheme: str) -> None:
    url = f"file://{tmp_path}/data" if scheme == "file" else f"sqlite:///{tmp_path}/data.db"
    args = ["--listen", "127.0.0.1:0", "--backend", url]
    gw = GatewayProcess(args, cwd=tmp_path)
    gw.wait_listening()
    acked = []
    with CheckpointClient(gw.target) as client:
        for i in range(40):
            acked.append(client.save(Checkpoint(f"run-{i % 4}", {"i": i, "pad": "x" * i})))
        client.put_writes("run-0", acked[0].checkpoint_id, [PendingWrite("t", 0, "ch", b"w")])
    assert gw.stop(signal.SIGKILL) == -signal.SIGKILL

    again = GatewayProcess(args, cwd=tmp_path)
    again.wait_listening()
    try:
        with CheckpointClient(again.target) as client:
            for saved in acked:
                loaded = client.load(saved.execution_id, saved.checkpoint_id)
                assert loaded.state == saved.state
                assert loaded.version == saved.version
            assert len(client.load("run-0", acked[0].checkpoint_id).pending_writes) == 1
            assert [c.version for c in client.list("run-1").checkpoints] == list(range(10, 0, -1))
    finally:
        assert again.stop() == 0


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["--listen", "localhost"], {}, "--listen / CHECKPOINT_GATEWAY_LISTEN"),
        (["--listen", "127.0.0.1:99999"], {}, "--listen / CHECKPOINT_GATEWAY_LISTEN"),
        ([], {"CHECKPOINT_GATEWAY_MAX_STATE_BYTES": "lots"}, "CHECKPOINT_GATEWAY_MAX_STATE_BYTES"),
        ([], {"CHECKPOINT_GATEWAY_GRACE_SECONDS": "-1"}, "--grace-seconds"),
        ([], {"CHECKPOINT_GATEWAY_LOG_FORMAT": "xml"}, "--log-format"),
        (["--backend", "mongodb://x"], {}, "--backend / CHECKPOINT_GATEWAY_BACKEND"),
        (["--default-page-size", "500", "--max-page-size", "100"], {}, "--default-page-size"),
        (["--tls-cert-file", "/nonexistent.pem"], {}, "--tls-cert-file"),
        ([], {"CHECKPOINT_GATEWAY_TLS_CERT_FILE": "/etc/hostname"}, "--tls-key-file"),
        (["--state-snapshot-every", "0"], {}, "--state-snapshot-every"),
        ([], {"CHECKPOINT_GATEWAY_STATE_COMPRESSION_LEVEL": "1"}, "--state-compression-level"),
    ],
)
def test_bad_settings_exit_2_with_one_clear_line(
    tmp_path: Path, args: list[str], env: dict[str, str], names: str
) -> None:
    proc = subprocess.run(
        [*CLI, "serve", *args],
        cwd=tmp_path,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("checkpoint-gateway: error: ")
    assert names in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "checkpoints.db").exists()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [*CLI, "serve", "--listen", f"127.0.0.1:{port}", "--backend", "memory://"],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_flag_wins_over_environment(tmp_path: Path) -> None:
    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0"],
        cwd=tmp_path,
        env={"CHECKPOINT_GATEWAY_LISTEN": "127.0.0.1:1", "CHECKPOINT_GATEWAY_BACKEND": "memory://"},
    )
    try:
        assert gw.wait_listening() != 1
        assert "backend memory://" in gw.output()
    finally:
        gw.stop()


def test_json_logs(tmp_path: Path) -> None:
    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--backend", "memory://", "--log-format", "json"], cwd=tmp_path
    )
    try:
        gw.wait_listening()
        entry = json.loads(gw.lines[-1])
        assert entry["level"] == "info"
        assert "listening on" in entry["msg"]
    finally:
        gw.stop()


def test_migrate_command(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CLI, "migrate", "--backend", f"sqlite:///{tmp_path}/m.db"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m.db").exists()
    assert "up to date" in proc.stderr


def test_serve_tls(tmp_path: Path) -> None:
    import grpc

    from tests.system.test_client_options import make_cert

    _, cert = make_cert(tmp_path, "server")
    gw = GatewayProcess(
        [
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "memory://",
            "--tls-cert-file",
            str(tmp_path / "server.pem"),
            "--tls-key-file",
            str(tmp_path / "server.key"),
        ],
        cwd=tmp_path,
    )
    try:
        gw.wait_listening()
        assert ", TLS" in gw.output()
        creds = grpc.ssl_channel_credentials(root_certificates=cert)
        with CheckpointClient(gw.target, credentials=creds) as client:
            saved = client.save(Checkpoint("run", {"secure": 1}))
            assert client.load("run", saved.checkpoint_id).state == {"secure": 1}
    finally:
        assert gw.stop() == 0


def test_sync_client_iterates_every_page(tmp_path: Path) -> None:
    gw = GatewayProcess(["--listen", "127.0.0.1:0", "--backend", "memory://"], cwd=tmp_path)
    gw.wait_listening()
    try:
        with CheckpointClient(gw.target) as client:
            saved = [client.save(Checkpoint("run", {"i": i})) for i in range(7)]
            versions = [cp.version for cp in client.iter_checkpoints("run", page_size=3)]
            before = saved[5].checkpoint_id  # version 6
            older = [
                cp.version for cp in client.iter_checkpoints("run", page_size=2, before=before)
            ]
        assert versions == [7, 6, 5, 4, 3, 2, 1]
        assert older == [5, 4, 3, 2, 1]
    finally:
        assert gw.stop() == 0
