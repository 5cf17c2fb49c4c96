"""A new user's first mistakes, as the CLI meets them: one line that names the setting.

Each case was a traceback or a wrong cause before (issue 14, "the first hour"): a SQLite
path that cannot hold a database, a metrics or gRPC port in use, a TLS file that is not
a certificate, a bad backend setting named only by its section. Also: ``migrate --help``
lists only what migrate reads, and ``--log-level debug`` shows the gateway's own lines
rather than grpc's.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certs import self_signed
from tests.gateway_process import CLI, GatewayProcess, clean_env


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=tmp_path,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("checkpoint-gateway: error: "), lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("/proc/x.db", "cannot create or open /proc/x.db"),
        ("{tmp}", "is a directory, not a database file"),
        ("{tmp}/plain.txt/x.db", "plain.txt is a file, not a directory"),
        ("{tmp}/plain.txt", "plain.txt is not a SQLite database"),
    ],
)
def test_a_sqlite_path_that_cannot_hold_a_database(tmp_path: Path, where: str, says: str) -> None:
    (tmp_path / "plain.txt").write_text("not a database, just some text\n" * 100)
    before = sorted(p.name for p in tmp_path.iterdir())
    url = "sqlite:///" + where.format(tmp=tmp_path)
    for command in ("serve", "migrate"):
        args = ["--backend", url] + (["--listen", "127.0.0.1:0"] if command == "serve" else [])
        proc = run_cli(tmp_path, command, *args)
        assert proc.returncode == 2, proc.stderr
        line = one_line(proc)
        assert "--backend / CHECKPOINT_GATEWAY_BACKEND: " in line
        assert says in line
    # Nothing was created or changed.
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "plain.txt").read_text().startswith("not a database")


def test_a_file_store_under_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "plain.txt").write_text("x")
    proc = run_cli(
        tmp_path, "serve", "--listen", "127.0.0.1:0", "--backend", f"file://{tmp_path}/plain.txt/d"
    )
    assert proc.returncode == 2
    assert "--backend / CHECKPOINT_GATEWAY_BACKEND: " in one_line(proc)


def test_metrics_port_in_use_names_the_setting(tmp_path: Path, taken_port: int) -> None:
    proc = run_cli(
        tmp_path,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--backend",
        "memory://",
        "--metrics-listen",
        f"127.0.0.1:{taken_port}",
    )
    assert proc.returncode == 1
    line = one_line(proc)
    assert "--metrics-listen / CHECKPOINT_GATEWAY_METRICS_LISTEN" in line
    assert f"cannot listen on 127.0.0.1:{taken_port}: the address is already in use" in line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_grpc_port_in_use_names_the_setting(tmp_path: Path, taken_port: int, workers: str) -> None:
    proc = run_cli(
        tmp_path,
        "serve",
        "--listen",
        f"127.0.0.1:{taken_port}",
        "--backend",
        f"sqlite:///{tmp_path}/w.db",
        "--workers",
        workers,
    )
    assert proc.returncode == 1
    line = one_line(proc)
    assert "--listen / CHECKPOINT_GATEWAY_LISTEN" in line
    assert "the address is already in use" in line


def test_an_address_of_no_interface(tmp_path: Path) -> None:
    # 192.0.2.0/24 is TEST-NET-1: never assigned to a host.
    proc = run_cli(tmp_path, "serve", "--listen", "192.0.2.1:0", "--backend", "memory://")
    assert proc.returncode == 1
    assert "no interface of this machine has that address" in one_line(proc)


def test_tls_files_that_are_not_a_certificate_and_key(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    proc = run_cli(
        tmp_path,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--backend",
        "memory://",
        "--tls-cert-file",
        str(junk),
        "--tls-key-file",
        str(junk),
    )
    assert proc.returncode == 2
    line = one_line(proc)
    assert "--tls-cert-file" in line
    assert "--tls-key-file" in line
    assert "not a PEM certificate chain" in line
    assert "address" not in line  # it used to blame the port


def test_a_client_ca_file_that_is_not_a_ca_bundle(tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path, "gateway")
    junk = tmp_path / "ca.pem"
    junk.write_text("hello\n")
    proc = run_cli(
        tmp_path,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--backend",
        "memory://",
        "--tls-cert-file",
        str(cert),
        "--tls-key-file",
        str(key),
        "--tls-client-ca-file",
        str(junk),
    )
    assert proc.returncode == 2
    assert "--tls-client-ca-file" in one_line(proc)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (
            ["--postgres-schema", "Bad-Schema"],
            "--postgres-schema / CHECKPOINT_GATEWAY_POSTGRES_SCHEMA",
        ),
        (["--postgres-table-prefix", "1x"], "--postgres-table-prefix"),
        (["--postgres-max-size", "0"], "--postgres-max-size"),
        (["--redis-max-connections", "0"], "--redis-max-connections"),
    ],
)
def test_a_bad_backend_setting_is_named_itself(tmp_path: Path, args: list[str], names: str) -> None:
    proc = run_cli(tmp_path, "serve", "--backend", "memory://", *args)
    assert proc.returncode == 2
    line = one_line(proc)
    assert names in line
    assert "--postgres-* " not in line


def test_migrate_help_lists_only_what_migrate_reads(tmp_path: Path) -> None:
    proc = run_cli(tmp_path, "migrate", "--help")
    assert proc.returncode == 0
    assert "--backend" in proc.stdout
    assert "--postgres-schema" in proc.stdout
    for serve_only in ("--listen", "--workers", "--tls-cert-file", "--max-state-bytes"):
        assert serve_only not in proc.stdout
    serve = run_cli(tmp_path, "serve", "--help")
    assert "--listen" in serve.stdout
    assert "--workers" in serve.stdout


def test_debug_log_shows_the_gateways_lines_not_grpcs(tmp_path: Path) -> None:
    from checkpoint_client import Checkpoint, CheckpointClient, NotFound

    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--backend", "memory://", "--log-level", "debug"],
        cwd=tmp_path,
    )
    try:
        gw.wait_listening()
        with CheckpointClient(gw.target) as client:
            client.save(Checkpoint("run", {}))
            with pytest.raises(NotFound):
                client.latest("new-thread")
    finally:
        assert gw.stop() == 0
    out = gw.output()
    assert "DEBUG checkpoint_gateway: settings: " in out
    assert "/checkpoint_gateway.v1.CheckpointService/Save OK" in out
    # A new thread's NotFound is routine: debug, not info.
    latest = "/checkpoint_gateway.v1.CheckpointService/Latest"
    assert f"DEBUG checkpoint_gateway.rpc: {latest} failed: NotFound" in out
    assert "cygrpc" not in out
    assert "page_token_key=None" in out or "page_token_key=(set)" in out


def test_info_log_leaves_out_routine_not_found(tmp_path: Path) -> None:
    from checkpoint_client import CheckpointClient, NotFound

    gw = GatewayProcess(["--listen", "127.0.0.1:0", "--backend", "memory://"], cwd=tmp_path)
    try:
        gw.wait_listening()
        with CheckpointClient(gw.target) as client, pytest.raises(NotFound):
            client.latest("new-thread")
    finally:
        assert gw.stop() == 0
    assert "Latest failed" not in gw.output()
