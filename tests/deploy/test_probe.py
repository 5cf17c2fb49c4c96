"""The TLS probe command the chart renders, run against a real gateway serving TLS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.certs import self_signed
from tests.gateway_process import GatewayProcess

from .chart import CHART, FULLNAME, NAMESPACE, Manifests, render

SERVER_NAME = f"{FULLNAME}.{NAMESPACE}.svc"


def make_cert(directory: Path, name: str) -> None:
    """A self-signed certificate for the Service's name, written as tls.crt and tls.key."""
    directory.mkdir()
    self_signed(directory, name, san=f"DNS:{name}", key_file="tls.key", cert_file="tls.crt")


def probe_command(port: int, tls_dir: Path, *, client_auth: bool) -> list[str]:
    """The readiness probe of the rendered Deployment, pointed at this test's paths."""
    manifests = Manifests(
        render(
            {
                "service": {"grpcPort": port},
                "tls": {
                    "enabled": True,
                    "secretName": "gateway-tls",
                    "mountPath": str(tls_dir),
                    "clientAuth": client_auth,
                },
            }
        )
    )
    command: list[str] = manifests.container()["readinessProbe"]["exec"]["command"]
    assert command[0] == "python"
    assert command[1].endswith("/grpc-health-probe.py")
    # In the Pod, python is the image's and the script is mounted from the probe ConfigMap.
    return [sys.executable, str(CHART / "files" / "grpc-health-probe.py"), *command[2:]]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("client_auth", [False, True], ids=["tls", "mutual-tls"])
def test_rendered_tls_probe_passes_on_a_serving_gateway(tmp_path: Path, client_auth: bool) -> None:
    tls_dir = tmp_path / "tls"
    make_cert(tls_dir, SERVER_NAME)
    # Metrics off: the default 127.0.0.1:9464 may be taken by another gateway on this machine.
    args = ["--listen", "127.0.0.1:0", "--backend", "memory://", "--metrics-listen", "off"]
    args += [
        "--tls-cert-file",
        str(tls_dir / "tls.crt"),
        "--tls-key-file",
        str(tls_dir / "tls.key"),
    ]
    if client_auth:
        # The certificate is its own CA: ca.crt, as cert-manager writes it.
        (tls_dir / "ca.crt").write_bytes((tls_dir / "tls.crt").read_bytes())
        args += ["--tls-client-ca-file", str(tls_dir / "ca.crt")]
    gateway = GatewayProcess(args, cwd=tmp_path)
    try:
        port = gateway.wait_listening()
        command = probe_command(port, tls_dir, client_auth=client_auth)
        assert f"--server-name={SERVER_NAME}" in command
        assert ("--client-cert" in command) is client_auth

        passed = run(command)
        assert passed.returncode == 0, passed.stderr
        assert passed.stdout.strip() == "SERVING"

        # The probe really checks: a name the certificate does not cover fails it ...
        wrong_name = [a for a in command if not a.startswith("--server-name=")]
        failed = run([*wrong_name, "--server-name=elsewhere.example"])
        assert failed.returncode == 1
        if client_auth:
            # ... and so does a missing client certificate when the gateway requires one.
            failed = run([a for a in command if a != "--client-cert"])
            assert failed.returncode == 1
    finally:
        assert gateway.stop() == 0
    # ... and so does a stopped gateway.
    assert run(command).returncode == 1
