"""The processes a benchmark run starts and stops: databases, gateways, the bare server.

PostgreSQL and Redis come from the test harness (``tests/harness``): throwaway servers in
temporary directories on free loopback ports, never the system ones on 5432 or 6379.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import psycopg
from psycopg import sql

from tests.gateway_process import GatewayProcess
from tests.harness import postgres as pg_harness
from tests.harness import redis as redis_harness

ROOT = Path(__file__).resolve().parents[1]
LANGGRAPH_DATABASE = "langgraph_bench"
"""LangGraph gets a database of its own: its ``checkpoint_writes`` table would collide
with ours (prefix ``checkpoint_`` + ``writes``) in the same schema."""


class Postgres:
    """A throwaway PostgreSQL server (the test harness's), plus LangGraph's database."""

    def __init__(self) -> None:
        self._server = pg_harness.LocalServer()
        self.url = self._server.start()
        self.port = self._server.port
        base = self.url.rsplit("/", 1)[0]
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(LANGGRAPH_DATABASE)))
            self.version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        self.langgraph_url = f"{base}/{LANGGRAPH_DATABASE}"

    @property
    def postmaster_pid(self) -> int:
        """The postmaster; every connection's backend process is its child."""
        pid_file = self._server.data / "postmaster.pid"
        return int(pid_file.read_text().split("\n", 1)[0])

    def stop(self) -> None:
        self._server.stop()


class Redis:
    """A throwaway redis-server (the test harness's), without persistence.

    No AOF and no RDB snapshots: the benchmark writes gigabytes of 1 MiB states, and the
    gateway and the direct calls (the ratio that matters) see the same server anyway.
    """

    def __init__(self) -> None:
        binary = redis_harness._server_binary("redis-server", redis_harness.URL_ENV)
        self._root = Path(tempfile.mkdtemp(prefix="cp-bench-redis-"))
        self._server = redis_harness._Server(
            binary, self._root, redis_harness._free_port(), "--appendonly", "no"
        )
        self._server.wait_ready(time.monotonic() + redis_harness.START_TIMEOUT)
        self.url = f"redis://127.0.0.1:{self._server.port}/0"
        with self._server.client() as client:
            self.version = str(client.info("server")["redis_version"])

    @property
    def pid(self) -> int:
        return self._server.proc.pid

    def stop(self) -> None:
        try:
            self._server.stop()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)


class Gateway:
    """``checkpoint-gateway serve`` as a user runs it: metrics on (the default; on a free
    port so it cannot clash with another gateway), tracing off (no ``OTEL_*``)."""

    def __init__(self, backend_url: str, cwd: Path, extra: Sequence[str] = ()) -> None:
        self._process = GatewayProcess(
            ["--listen", "127.0.0.1:0", "--backend", backend_url, *extra], cwd=cwd
        )
        try:
            self._process.wait_listening(timeout=60)
        except BaseException:
            self.stop()
            raise
        self.target = self._process.target
        self.pid = self._process.proc.pid

    def stop(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.stop(timeout=30)
            return
        self._process.proc.kill()
        self._process.wait()


class BareServer:
    """``bench.bare_server``: the ceiling, answering with states of ``state_bytes``."""

    def __init__(self, state_bytes: int) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bare_server", "--state-bytes", str(state_bytes)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()  # blocks until it serves, or EOF if it died
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the bare server did not start: {line!r}")
        self.target = line.removeprefix("listening on ").strip()
        self.pid = self._proc.pid

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """A temporary directory for SQLite files and the gateways' working directory."""
    path = Path(tempfile.mkdtemp(prefix="cp-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
