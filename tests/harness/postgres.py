"""Throwaway postgres servers for the tests, and the backends that use them.

``postgres_url`` starts one PostgreSQL server per test session (initdb into a temporary
directory, loopback only, trust authentication) and removes it at the end. Set
``CHECKPOINT_GATEWAY_TEST_POSTGRES_URL`` to run against an existing server instead.

Every store the ``postgresql`` factory builds lives in a schema of its own, so tests
never see each other's rows and need no cleanup between them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
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

import psycopg
import pytest
from psycopg import sql

from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends._base import Backend
from checkpoint_gateway.backends.postgres import PostgresSettings
from tests.backends_types import Factory

URL_ENV = "CHECKPOINT_GATEWAY_TEST_POSTGRES_URL"
DATABASE = "checkpoint_test"
SERVICE_USER = "postgres"  # the unprivileged OS user the server runs as under root
READY_TIMEOUT = 60.0


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and pg_isready; fail when there is none."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(subprocess.CalledProcessError, OSError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
            candidates.append(Path(out))
    # Debian/Ubuntu keep the server binaries per major version, off PATH; newest first.
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0)
    candidates += [Path(p) for p in reversed(versioned)]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "pg_isready")):
            return bindir
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl, pg_isready) not found via pg_config "
        "or /usr/lib/postgresql/*/bin: install postgresql (e.g. apt-get install "
        f"postgresql-15), or set {URL_ENV} to a server the tests may use",
        pytrace=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _service_user() -> str:
    """The OS user to run the server as when we are root (postgres refuses root)."""
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/bin/false", SERVICE_USER],
            check=True,
        )
    return SERVICE_USER


class LocalServer:
    """One initdb'd cluster in a temporary directory, started with pg_ctl."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="checkpoint-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = 0
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = _service_user()
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a server tool as the service user; fail the session with its output."""
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir, check=False)
        if done.returncode != 0:
            pytest.fail(
                f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                f"{self._log_tail()}",
                pytrace=False,
            )
        return done

    def _log_tail(self) -> str:
        try:
            return "\nserver log:\n" + self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def start(self) -> str:
        self.run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-instructions",
        )  # fmt: skip
        self.port = free_port()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.dir}",
                # Stores are opened per test, each with its own pool; leave headroom.
                "-c max_connections=200",
            ]
        )
        # No -w: readiness is polled below with pg_isready, which also catches a
        # server that died on startup (port taken) quickly through its exit.
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "start")
        self._wait_ready()
        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        pid_file = self.data / "postmaster.pid"
        delay = 0.02
        while True:
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                pytest.fail(
                    f"PostgreSQL did not accept connections within {READY_TIMEOUT:.0f} s"
                    f"{self._log_tail()}",
                    pytrace=False,
                )
            if ready.returncode == 2 and not pid_file.exists() and "FATAL" in self._log_tail():
                pytest.fail(f"PostgreSQL failed to start{self._log_tail()}", pytrace=False)
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w"]
                if self.user is not None:
                    cmd = ["runuser", "-u", self.user, "--", *cmd]
                subprocess.run([*cmd, "stop"], capture_output=True, check=False, timeout=60)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL for the session: a throwaway server, or the one in ``URL_ENV``."""
    external = os.environ.get(URL_ENV)
    if external:
        try:
            yield external
        finally:
            # Every store is closed by now, so no session holds a lock on these tables.
            for schema in _schemas:
                with contextlib.suppress(psycopg.Error):
                    drop_schema(external, schema)
        return
    server = LocalServer()
    try:
        yield server.start()
    finally:
        server.stop()


_schemas: list[str] = []
"""Schemas the ``postgresql`` factory made; dropped at the end on an external server."""


def new_schema() -> str:
    """A fresh schema name, so each store sees only its own tables."""
    return f"t_{uuid.uuid4().hex[:12]}"


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


async def postgresql(request: pytest.FixtureRequest, tmp: Path, **options: Any) -> Backend:
    url: str = request.getfixturevalue("postgres_url")
    settings: PostgresSettings = options.pop("settings", None) or PostgresSettings()
    settings = replace(settings, schema=new_schema())
    # Not dropped per test: a test finalizer runs before make_backend closes the store,
    # and a blocking DROP would wait for the store's open transactions while blocking
    # the event loop they need to finish.
    _schemas.append(settings.schema)
    return await open_backend(url, settings=settings, **options)


BACKENDS: dict[str, Factory] = {"postgresql": postgresql}
