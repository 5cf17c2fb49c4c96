"""Real gateways for the other languages' SDK tests (TypeScript, Go, Java).

Each language's own test runner (vitest, ``go test``, Maven Surefire) runs as a subprocess
against a real ``checkpoint-gateway serve`` started here on a free port, over the backend
the test asks for. The runners read where to connect from the environment that
:meth:`SdkGateway.env` gives them:

- ``CHECKPOINT_GATEWAY_TARGET``: ``127.0.0.1:<port>`` of a plaintext gateway whose
  principals file requires a bearer token;
- ``CHECKPOINT_GATEWAY_TOKEN``: that token (read and write roles, tenant ``sdk``);
- ``CHECKPOINT_GATEWAY_BACKEND``: the backend's name, for the runner's own report;
- with ``tls=True`` also ``CHECKPOINT_GATEWAY_TLS_TARGET`` (a second gateway on the same
  backend serving TLS, certificate for 127.0.0.1/localhost) and
  ``CHECKPOINT_GATEWAY_TLS_CA`` (the path of the PEM that signs it).

A toolchain that is missing skips its tests with the reason, except under ``CI=true``,
where ``scripts/test`` installs it and its absence is a failure.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.certs import self_signed
from tests.gateway_process import GatewayProcess
from tests.harness.postgres import new_schema

ROOT = Path(__file__).resolve().parents[2]
SDK_BACKENDS = ("memory", "sqlite", "postgresql", "redis")
TOKEN = "sdk-test-token-" + uuid.uuid4().hex
TENANT = "sdk"


def require_tools(*names: str) -> dict[str, str]:
    """The absolute path of each named program; skip (or fail under CI) when one is missing."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        path = shutil.which(name)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        reason = f"{', '.join(missing)} not installed (scripts/test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@dataclass
class SdkGateway:
    """One or two running gateways over one backend, as a runner's environment."""

    backend: str
    plain: GatewayProcess
    tls: GatewayProcess | None = None
    ca: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.plain.target

    def env(self) -> dict[str, str]:
        env = {
            "CHECKPOINT_GATEWAY_TARGET": self.plain.target,
            "CHECKPOINT_GATEWAY_TOKEN": TOKEN,
            "CHECKPOINT_GATEWAY_BACKEND": self.backend,
        }
        if self.tls is not None and self.ca is not None:
            env["CHECKPOINT_GATEWAY_TLS_TARGET"] = f"localhost:{self.tls.port}"
            env["CHECKPOINT_GATEWAY_TLS_CA"] = str(self.ca)
        env.update(self.extra)
        return env

    def logs(self) -> str:
        parts = [f"--- gateway ({self.backend}) ---", self.plain.output()]
        if self.tls is not None:
            parts += [f"--- TLS gateway ({self.backend}) ---", self.tls.output()]
        return "\n".join(parts)


def _backend_args(
    backend: str, request: pytest.FixtureRequest, tmp: Path
) -> tuple[list[str], list[str]]:
    """(args, args for a second gateway sharing the same data) for ``backend``."""
    if backend == "memory":
        # A memory store is per process: the TLS gateway has its own (empty) one.
        return ["--backend", "memory://"], ["--backend", "memory://"]
    if backend == "sqlite":
        args = ["--backend", f"sqlite:///{tmp / 'sdk.db'}"]
        return args, args
    if backend == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        args = ["--backend", url, "--postgres-schema", new_schema()]
        return args, args
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        args = ["--backend", url, "--redis-key-prefix", f"sdk{uuid.uuid4().hex[:8]}:"]
        return args, args
    raise ValueError(f"no SDK gateway for backend {backend!r}")


@pytest.fixture
def sdk_gateway(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., SdkGateway]]:
    """Start gateways for an SDK runner: ``sdk_gateway("redis", tls=True)``.

    The gateways require ``CHECKPOINT_GATEWAY_TOKEN`` as a bearer token, so a runner's
    calls succeed only when its client sends call metadata. All are stopped at the end.
    """
    started: list[GatewayProcess] = []
    principals = tmp_path / "principals.yaml"
    principals.write_text(
        "principals:\n"
        "  - name: sdk-tests\n"
        f"    tenant: {TENANT}\n"
        "    roles: [read, write]\n"
        "    tokens:\n"
        f"      - sha256:{hashlib.sha256(TOKEN.encode()).hexdigest()}\n"
    )

    def start(args: Sequence[str]) -> GatewayProcess:
        gw = GatewayProcess(
            ["--listen", "127.0.0.1:0", "--auth-principals-file", str(principals), *args],
            cwd=tmp_path,
        )
        started.append(gw)
        gw.wait_listening()
        return gw

    def make(backend: str, *, tls: bool = False, extra_args: Sequence[str] = ()) -> SdkGateway:
        sub = tmp_path / f"{backend}-{len(started)}"
        sub.mkdir()
        args, shared = _backend_args(backend, request, sub)
        plain = start([*args, *extra_args])
        if not tls:
            return SdkGateway(backend, plain)
        key, cert = self_signed(sub, "gateway")
        secure = start(
            [*shared, *extra_args, "--tls-cert-file", str(cert), "--tls-key-file", str(key)]
        )
        return SdkGateway(backend, plain, secure, cert)

    try:
        yield make
    finally:
        for gw in started:
            gw.stop()


def run_runner(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    gateway: SdkGateway | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a language's test runner; on a non-zero exit fail with its output and the logs."""
    merged = {**os.environ, **env}
    proc = subprocess.run(
        list(command),
        cwd=cwd,
        env=merged,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        logs = gateway.logs() if gateway is not None else ""
        pytest.fail(
            f"{' '.join(command)} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-20000:]}\n--- stderr ---\n{proc.stderr[-8000:]}\n"
            f"{logs[-6000:]}",
            pytrace=False,
        )
    return proc
