"""The console over plain HTTP(S), without a browser: what it refuses, the cookie it
sets, HTTPS with the gateway's certificate, no sign-in on loopback when authentication
is off, start-up errors, and a clean stop."""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from checkpoint_client import Checkpoint, CheckpointClient
from tests.certs import self_signed
from tests.gateway_process import CLI, GatewayProcess, clean_env

from .conftest import PRINCIPALS, console_url, principals_yaml

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def request(
    url: str,
    method: str = "GET",
    path: str = "/",
    *,
    body: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> http.client.HTTPResponse:
    """One request to the console (redirects are not followed); the body is read."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, context=context, timeout=30
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    all_headers = {**(_FORM if body is not None else {}), **(headers or {})}
    connection.request(
        method, path, body=urlencode(body) if body is not None else None, headers=all_headers
    )
    response = connection.getresponse()
    response.text = response.read().decode()  # type: ignore[attr-defined]
    connection.close()
    return response


def start(
    tmp_path: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    tmpdir: Path | None = None,
) -> GatewayProcess:
    """A gateway with a console; ``tmpdir``: its $TMPDIR (where the console's private
    socket directory goes)."""
    gateway = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--console-listen", "127.0.0.1:0", *args],
        cwd=tmp_path,
        env={**({"TMPDIR": str(tmpdir)} if tmpdir else {}), **(env or {})},
    )
    try:
        gateway.wait_listening()
    except BaseException:
        gateway.stop()  # it exited or hangs: reap it, so its pipe is closed
        raise
    return gateway


@pytest.fixture
def socket_tmp() -> Iterator[Path]:
    """A short $TMPDIR of the test's own, to see the console's private directory in."""
    path = Path(tempfile.mkdtemp(prefix="cgw-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def with_auth(tmp_path: Path, socket_tmp: Path) -> Iterator[GatewayProcess]:
    principals = tmp_path / "principals.yaml"
    principals.write_text(principals_yaml(["reader", "writer"]))
    gateway = start(
        tmp_path,
        "--backend",
        "memory://",
        "--auth-principals-file",
        str(principals),
        tmpdir=socket_tmp,
    )
    try:
        yield gateway
    finally:
        gateway.stop()


def test_sign_in_cookie_csrf_and_a_clean_stop(with_auth: GatewayProcess, socket_tmp: Path) -> None:
    url = console_url(with_auth)
    token = PRINCIPALS["reader"].token
    # The private socket's directory exists while the console runs.
    assert len(list(socket_tmp.glob("checkpoint-gateway-console-*"))) == 1

    # A sign-in posted from another site is refused before the token is even looked at.
    cross = request(
        url, "POST", "/login", body={"token": token}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status == 403
    assert "Set-Cookie" not in cross.headers

    signed = request(
        url,
        "POST",
        "/login",
        body={"token": token, "next": "//evil.example/x"},
        headers={"Origin": url.rstrip("/")},
    )
    assert signed.status == 303
    assert signed.headers["Location"] == "/"  # not another site
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith("cpg_console=")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    session = cookie.split(";", 1)[0]
    assert token not in session

    page = request(url, headers={"Cookie": session})
    assert page.status == 200
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert page.headers["Cache-Control"] == "no-store"
    assert token not in page.text  # type: ignore[attr-defined]

    # Sign-out needs the session's form token.
    refused = request(url, "POST", "/logout", body={}, headers={"Cookie": session})
    assert refused.status == 403
    assert request(url, headers={"Cookie": session}).status == 200

    assert with_auth.stop() == 0  # SIGTERM: the console and the gateway drain
    log = with_auth.output()
    assert token not in log
    assert "Traceback" not in log
    assert list(socket_tmp.glob("checkpoint-gateway-console-*")) == []


def test_no_sign_in_on_loopback_when_authentication_is_off(tmp_path: Path) -> None:
    # A $TMPDIR so deep that a socket under it would pass the Unix path limit (107
    # bytes): the console's private directory goes under /tmp instead.
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    gateway = start(tmp_path, "--backend", "memory://", tmpdir=deep)
    try:
        url = console_url(gateway)
        assert "authentication OFF" in "\n".join(gateway.lines)
        with CheckpointClient(gateway.target) as client:
            client.save(Checkpoint("open-run", {"n": 1}))
        page = request(url)
        assert page.status == 200
        assert "open-run" in page.text  # type: ignore[attr-defined]
        assert "Sign out" not in page.text  # type: ignore[attr-defined]
        # A page of another site whose name now points here (DNS rebinding) is refused.
        rebound = request(url, headers={"Host": "evil.example"})
        assert rebound.status == 421
        assert "open-run" not in rebound.text  # type: ignore[attr-defined]
        assert request(url, headers={"Host": "localhost"}).status == 200
    finally:
        assert gateway.stop() == 0


def test_without_authentication_only_loopback_is_accepted(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*CLI, "serve", "--backend", "memory://", "--console-listen", "0.0.0.0:0"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "--console-listen / CHECKPOINT_GATEWAY_CONSOLE_LISTEN (0.0.0.0:0)" in lines[0]
    assert "loopback" in lines[0]


def test_a_taken_console_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [
                *CLI,
                "serve",
                "--backend",
                "memory://",
                "--listen",
                "127.0.0.1:0",
                "--console-listen",
                f"127.0.0.1:{port}",
            ],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert (
        f"--console-listen / CHECKPOINT_GATEWAY_CONSOLE_LISTEN: cannot listen on "
        f"127.0.0.1:{port}: the address is already in use"
    ) in proc.stderr


def test_https_with_the_gateways_certificate_even_under_mutual_tls(tmp_path: Path) -> None:
    """The gateway wants client certificates on its public address; the console, which
    has none, still reads through its private socket with the signed-in token."""
    key, cert = self_signed(tmp_path, "gateway")
    principals = tmp_path / "principals.yaml"
    principals.write_text(principals_yaml(["reader"]))
    gateway = start(
        tmp_path,
        "--backend",
        "memory://",
        "--auth-principals-file",
        str(principals),
        "--tls-cert-file",
        str(cert),
        "--tls-key-file",
        str(key),
        "--tls-client-ca-file",
        str(cert),
    )
    try:
        url = console_url(gateway)
        assert url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(cert))
        signed = request(
            url,
            "POST",
            "/login",
            body={"token": PRINCIPALS["reader"].token},
            context=trust,
        )
        assert signed.status == 303, signed.text  # type: ignore[attr-defined]
        cookie = signed.headers["Set-Cookie"]
        assert cookie.startswith("__Host-cpg_console=")
        assert "Secure" in cookie
        page = request(url, headers={"Cookie": cookie.split(";", 1)[0]}, context=trust)
        assert page.status == 200
        assert "Strict-Transport-Security" in page.headers
    finally:
        assert gateway.stop() == 0


def test_with_workers_the_first_one_serves_the_console(tmp_path: Path) -> None:
    gateway = start(tmp_path, "--backend", f"sqlite:///{tmp_path / 'w.db'}", "--workers", "2")
    try:
        url = console_url(gateway)
        with CheckpointClient(gateway.target) as client:
            client.save(Checkpoint("worker-run", {"n": 1}))
        page = request(url)
        assert page.status == 200
        assert "worker-run" in page.text  # type: ignore[attr-defined]
    finally:
        assert gateway.stop() == 0
