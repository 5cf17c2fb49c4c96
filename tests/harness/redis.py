"""Throwaway redis servers for the tests, and the backends that use them.

``redis_url`` starts one redis-server, ``redis_cluster_url`` a three-master Redis Cluster,
each once per session on free loopback ports, and removes them at the end. Point
CHECKPOINT_GATEWAY_TEST_REDIS_URL / CHECKPOINT_GATEWAY_TEST_REDIS_CLUSTER_URL at running
servers to use those instead. Every store gets its own key prefix, so tests sharing a
server never see each other's keys.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis

from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends._base import Backend
from checkpoint_gateway.backends.redis import RedisSettings
from tests.backends_types import Factory

URL_ENV = "CHECKPOINT_GATEWAY_TEST_REDIS_URL"
CLUSTER_URL_ENV = "CHECKPOINT_GATEWAY_TEST_REDIS_CLUSTER_URL"
START_TIMEOUT = 30.0


def _server_binary(name: str, env: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed; the Redis backend tests need it: install Redis 7 "
            f"(e.g. `apt-get install redis-server`) or set {env} to a running server",
            pytrace=False,
        )
    return path


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(*, with_bus: bool = False) -> int:
    """A free loopback port; with ``with_bus`` also port + 10000 (the cluster bus)."""
    if not with_bus:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
            return port
    for _ in range(200):
        port = random.randint(20000, 45000)
        if _port_free(port) and _port_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


class _Server:
    """One redis-server child process with its own directory."""

    def __init__(self, binary: str, root: Path, port: int, *extra: str) -> None:
        self.port = port
        self.dir = root / str(port)
        self.dir.mkdir()
        self.log = self.dir / "redis.log"
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", str(self.dir), "--logfile", str(self.log), *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def wait_ready(self, deadline: float) -> None:
        """Poll PING until the server answers."""
        with self.client() as client:
            while True:
                if self.proc.poll() is not None:
                    pytest.fail(f"redis-server on port {self.port} exited:\n{self._log_tail()}")
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"redis-server on port {self.port} did not start:\n{self._log_tail()}"
                    )
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def _servers() -> Iterator[tuple[Path, list[_Server]]]:
    root = Path(tempfile.mkdtemp(prefix="cp-redis-"))
    servers: list[_Server] = []
    try:
        yield root, servers
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``redis://`` URL of a throwaway redis-server (or of $CHECKPOINT_GATEWAY_TEST_REDIS_URL)."""
    if os.environ.get(URL_ENV):
        yield os.environ[URL_ENV]
        return
    binary = _server_binary("redis-server", URL_ENV)
    with _servers() as (root, servers):
        server = _Server(binary, root, _free_port(), "--appendonly", "yes")
        servers.append(server)
        server.wait_ready(time.monotonic() + START_TIMEOUT)
        yield f"redis://127.0.0.1:{server.port}/0"


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """``redis+cluster://`` URL of a throwaway three-master Redis Cluster (or of
    $CHECKPOINT_GATEWAY_TEST_REDIS_CLUSTER_URL)."""
    if os.environ.get(CLUSTER_URL_ENV):
        yield os.environ[CLUSTER_URL_ENV]
        return
    binary = _server_binary("redis-server", CLUSTER_URL_ENV)
    cli = _server_binary("redis-cli", CLUSTER_URL_ENV)
    deadline = time.monotonic() + START_TIMEOUT
    with _servers() as (root, servers):
        for _ in range(3):
            port = _free_port(with_bus=True)
            servers.append(
                _Server(
                    binary,
                    root,
                    port,
                    "--appendonly",
                    "no",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                )
            )
        for server in servers:
            server.wait_ready(deadline)
        addresses = [f"127.0.0.1:{s.port}" for s in servers]
        created = subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if created.returncode != 0:
            pytest.fail(f"redis-cli --cluster create failed:\n{created.stdout}\n{created.stderr}")
        _wait_cluster_ok(servers, deadline)
        yield "redis+cluster://" + ",".join(addresses)


def _wait_cluster_ok(servers: list[_Server], deadline: float) -> None:
    """Poll CLUSTER INFO on every node until each reports cluster_state:ok."""
    for server in servers:
        with server.client() as client:
            while True:
                # redis-py parses the reply into a dict of the "key:value" lines.
                info = client.execute_command("CLUSTER INFO")
                if isinstance(info, dict) and info.get("cluster_state") == "ok":
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"Redis Cluster node {server.port} is not ok: {info}")
                time.sleep(0.05)


def _isolated(options: dict[str, Any]) -> dict[str, Any]:
    """Options with a key prefix no other store uses, unless the test chose one."""
    settings = options.get("settings") or RedisSettings()
    if settings.key_prefix == RedisSettings().key_prefix:
        settings = replace(settings, key_prefix=f"t{uuid.uuid4().hex[:10]}:")
    return {**options, "settings": settings}


async def redis_store(request: pytest.FixtureRequest, tmp: Path, **options: Any) -> Backend:
    return await open_backend(request.getfixturevalue("redis_url"), **_isolated(options))


async def redis_cluster_store(request: pytest.FixtureRequest, tmp: Path, **options: Any) -> Backend:
    return await open_backend(request.getfixturevalue("redis_cluster_url"), **_isolated(options))


BACKENDS: dict[str, Factory] = {
    "redis": redis_store,
    "redis-cluster": redis_cluster_store,
}
