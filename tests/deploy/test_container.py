"""The image, built and run: not only read (test_image.py reads the Dockerfile).

podman builds the Dockerfile as it is and runs the image: health SERVING and a save/load
round trip on memory and on the default SQLite volume (which outlives the container),
as its non-root user, and a drain on stop (exit code 0).

**Stand-in base image.** No container registry can be reached here, so the official
``python:3.11-slim-bookworm`` image cannot be pulled. Its stand-in is a Debian bookworm
minbase root filesystem with Debian's Python 3.11 (``mmdebstrap``), imported into
podman as ``localhost/checkpoint-gateway-base-standin:bookworm`` and passed as the
Dockerfile's ``PYTHON_IMAGE`` build argument. It is made once per machine and reused.

Needs podman, buildah, mmdebstrap, fuse-overlayfs, slirp4netns, uidmap and runc from
Debian (scripts/test installs them); skipped with the reason where they are missing,
except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from checkpoint_client import Checkpoint, CheckpointClient
from tests.harness.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
CONF = Path(__file__).with_name("container") / "containers.conf"
BASE = "localhost/checkpoint-gateway-base-standin:bookworm"
IMAGE = "localhost/checkpoint-gateway:test"
UID = "10001"

pytestmark = pytest.mark.slow


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTAINERS_CONF": str(CONF)}
    proc = subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        pytest.fail(f"podman {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    return proc


def _engine_or_skip() -> None:
    missing = [t for t in ("podman", "mmdebstrap", "runc") if shutil.which(t) is None]
    reason = f"{', '.join(missing)} not installed (scripts/test installs them)" if missing else ""
    if not missing:
        info = podman("info", "--format", "json", check=False, timeout=60)
        if info.returncode != 0:
            reason = f"podman cannot run here: {info.stderr.strip().splitlines()[-1:]}"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _base_image(tmp: Path) -> None:
    if podman("image", "exists", BASE, check=False).returncode == 0:
        return
    rootfs = tmp / "rootfs.tar"
    subprocess.run(
        [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            "--include=python3,python3-venv,python-is-python3,ca-certificates",
            "bookworm",
            str(rootfs),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    podman("import", "--quiet", str(rootfs), BASE, timeout=300)


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    _engine_or_skip()
    _base_image(tmp_path_factory.mktemp("base"))
    podman(
        "build",
        "--quiet",
        "--pull=never",
        "--network",
        "host",
        # pip in the build trusts the package index as this machine does.
        "--volume",
        "/etc/ssl/certs:/etc/ssl/certs:ro",
        "--build-arg",
        f"PYTHON_IMAGE={BASE}",
        "--tag",
        IMAGE,
        str(ROOT),
        timeout=900,
    )
    return IMAGE


class Running:
    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.target = f"127.0.0.1:{port}"

    def wait_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            state = podman("inspect", "--format", "{{.State.Status}}", self.name, check=False)
            if state.stdout.strip() not in ("running", "created", "configured"):
                pytest.fail(f"container {state.stdout.strip()}: {self.logs()}")
            try:
                with grpc.insecure_channel(self.target) as channel:
                    reply = health_pb2_grpc.HealthStub(channel).Check(
                        health_pb2.HealthCheckRequest(), timeout=2, wait_for_ready=True
                    )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError as exc:
                last = exc
        pytest.fail(f"not SERVING within {timeout}s ({last}): {self.logs()}")

    def logs(self) -> str:
        return podman("logs", self.name, check=False).stderr[-4000:]

    def stop(self) -> int:
        podman("stop", "--time", "30", self.name, timeout=60)
        return int(podman("inspect", "--format", "{{.State.ExitCode}}", self.name).stdout)


@pytest.fixture
def run(image: str) -> Iterator[Any]:
    names: list[str] = []

    def start(*args: str, volume: str | None = None) -> Running:
        name = f"cgw-test-{uuid.uuid4().hex[:10]}"
        port = free_port()
        names.append(name)
        podman(
            "run",
            "--detach",
            "--name",
            name,
            "--env",
            f"CHECKPOINT_GATEWAY_LISTEN=127.0.0.1:{port}",
            "--env",
            "CHECKPOINT_GATEWAY_METRICS_LISTEN=127.0.0.1:0",
            *(["--volume", f"{volume}:/data"] if volume else []),
            image,
            *args,
        )
        running = Running(name, port)
        running.wait_serving()
        return running

    yield start
    for name in names:
        podman("rm", "--force", "--time", "5", name, check=False)


def test_serves_on_memory_as_its_non_root_user_and_drains_on_stop(run: Any) -> None:
    gw = run("--backend", "memory://")
    with CheckpointClient(gw.target, timeout=10) as client:
        saved = client.save(Checkpoint("in-a-container", {"n": 1}))
        assert client.load("in-a-container", saved.checkpoint_id).state == {"n": 1}
    user = podman("exec", gw.name, "id", "-u").stdout.strip()
    assert user == UID
    assert gw.stop() == 0, gw.logs()
    lines = [json.loads(line) for line in gw.logs().splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert any("listening on" in m for m in messages), messages
    assert any("draining" in m for m in messages), messages
    assert messages[-1] == "stopped", messages


def test_the_default_sqlite_volume_outlives_the_container(run: Any) -> None:
    volume = f"cgw-test-{uuid.uuid4().hex[:10]}"
    try:
        first = run(volume=volume)
        with CheckpointClient(first.target, timeout=10) as client:
            saved = client.save(Checkpoint("kept", {"on": "the volume"}))
        assert first.stop() == 0, first.logs()
        second = run(volume=volume)
        with CheckpointClient(second.target, timeout=10) as client:
            assert client.load("kept", saved.checkpoint_id).state == {"on": "the volume"}
            assert client.latest("kept").checkpoint_id == saved.checkpoint_id
        owner = podman("exec", second.name, "stat", "-c", "%u", "/data/checkpoints.db").stdout
        assert owner.strip() == UID
        assert second.stop() == 0, second.logs()
    finally:
        podman("volume", "rm", "--force", volume, check=False)
