"""Passwords in backend URLs never leave the gateway: not in a log line (text or JSON,
from the flag or the variable), not in an error message, not in /metrics."""

from __future__ import annotations

import json
import logging
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from checkpoint_gateway.backends import mask_url as exported_mask_url
from checkpoint_gateway.secrets import MaskingFormatter, mask_url, redact, secrets_of
from tests.gateway_process import GatewayProcess
from tests.harness.redis import _free_port, _server_binary

SECRET = "Sup3r-s3cret"  # a distinctive password: found anywhere means leaked

# Every way a password can be given, with the parts that must survive masking.
FORMS = [
    (f"postgresql://gw:{SECRET}@db.internal:5432/cp", ["postgresql://gw:***@db.internal"]),
    (f"postgres://gw:{SECRET}@h1:5432,h2:5433/cp", ["gw:***@h1:5432,h2:5433"]),
    (f"postgresql://db/cp?user=gw&password={SECRET}", ["password=***", "user=gw"]),
    (f"postgresql://db/cp?sslpassword={SECRET}&sslmode=verify-full", ["sslmode=verify-full"]),
    (f"redis://:{SECRET}@cache:6379/0", ["redis://:***@cache:6379/0"]),
    (f"redis://user:{SECRET}@cache:6379/0", ["redis://user:***@cache"]),
    (f"rediss://cache:6380/0?password={SECRET}", ["rediss://cache:6380/0?password=***"]),
    (f"redis://cache/0?db=1&password={SECRET}&x=y", ["db=1", "&x=y"]),
    (f"redis+cluster://u:{SECRET}@n1:7000,n2:7001", ["u:***@n1:7000,n2:7001"]),
    (f"host=db port=5432 user=gw password={SECRET} dbname=cp", ["host=db", "dbname=cp"]),
    (f"host=db password = '{SECRET} with spaces' dbname=cp", ["dbname=cp"]),
    (f"host=db sslpassword={SECRET}", ["host=db"]),
    ("postgresql://gw:p%40ss%3Aw0rd@db/cp", ["gw:***@db/cp"]),
    (f"postgresql://gw:{SECRET}@with@at@db/cp", ["@db/cp"]),
]


@pytest.mark.parametrize(("url", "kept"), FORMS)
def test_mask_url_masks_every_form(url: str, kept: list[str]) -> None:
    masked = mask_url(url)
    assert SECRET not in masked
    assert "p%40ss" not in masked
    assert "***" in masked
    for part in kept:
        assert part in masked


@pytest.mark.parametrize(("url", "kept"), FORMS)
def test_secrets_of_finds_the_password_as_written_and_decoded(url: str, kept: list[str]) -> None:
    found = secrets_of(url)
    assert found
    # A driver may quote it decoded, a log line JSON-escaped: each form is scrubbed.
    text = f"could not connect with {found[-1]}; url was {url}"
    assert SECRET not in redact(text, url)
    assert "p@ss:w0rd" not in redact(
        "auth failed for p@ss:w0rd", "postgresql://gw:p%40ss%3Aw0rd@db"
    )


def test_urls_without_passwords_are_unchanged() -> None:
    for url in ("memory://", "sqlite:///checkpoints.db", "file:///var/lib/cp", "redis://h:1/0"):
        assert mask_url(url) == url
        assert secrets_of(url) == []
    assert (
        mask_url("postgresql://gw@db/cp?sslmode=require") == "postgresql://gw@db/cp?sslmode=require"
    )


def test_backends_mask_url_is_the_one_implementation() -> None:
    assert exported_mask_url is mask_url


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_masking_formatter_masks_messages_and_tracebacks(fmt: str) -> None:
    from checkpoint_gateway.logs import JsonFormatter

    url = f'redis://cache/0?password={SECRET}"\\'
    inner = JsonFormatter() if fmt == "json" else logging.Formatter("%(message)s")
    formatter = MaskingFormatter(inner, secrets_of(url))
    try:
        raise RuntimeError(f'driver says: bad password {SECRET}"\\ for {url}')
    except RuntimeError as exc:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "%s", (exc,), None)
        record.exc_info = (type(exc), exc, exc.__traceback__)
    line = formatter.format(record)
    assert SECRET not in line
    assert "***" in line


# -- the gateway as a process ---------------------------------------------------------------


def _leaks(gw: GatewayProcess, metrics: bool = True) -> list[str]:
    """Where SECRET shows: log lines, and /metrics when it serves one."""
    found = [line for line in gw.output().splitlines() if SECRET in line]
    if metrics:
        for line in gw.lines:
            if "metrics on http://" in line:
                url = line.split("metrics on ", 1)[1].split()[0]
                with urllib.request.urlopen(url, timeout=5) as reply:
                    body = reply.read().decode()
                assert "checkpoint_gateway_build_info" in body
                if SECRET in body:
                    found.append("/metrics")
    return found


def _serve(tmp_path: Path, url: str, via: str, fmt: str) -> GatewayProcess:
    args = ["--listen", "127.0.0.1:0", "--log-format", fmt, "--log-level", "debug"]
    if via == "flag":
        return GatewayProcess([*args, "--backend", url], cwd=tmp_path)
    return GatewayProcess(args, cwd=tmp_path, env={"CHECKPOINT_GATEWAY_BACKEND": url})


@pytest.mark.parametrize("via", ["flag", "env"])
@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("form", ["userinfo", "query"])
def test_postgresql_password_is_masked_in_the_log_and_metrics(
    tmp_path: Path, postgres_url: str, via: str, fmt: str, form: str
) -> None:
    # The test server trusts every connection, so any password works.
    rest = postgres_url.split("://", 1)[1].split("@", 1)[1]
    if form == "userinfo":
        url = f"postgresql://postgres:{SECRET}@{rest}"
    else:
        url = f"postgresql://{rest}?user=postgres&password={SECRET}"
    gw = _serve(tmp_path, url, via, fmt)
    try:
        gw.wait_listening()
        assert _leaks(gw) == []
        listening = next(line for line in gw.lines if "listening on" in line)
        if fmt == "json":
            listening = json.loads(listening)["msg"]
        assert "password=***" in listening or "postgres:***@" in listening
    finally:
        assert gw.stop() == 0, gw.output()
    assert _leaks(gw, metrics=False) == []


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[int]:
    """A redis-server that requires SECRET."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            *(_server_binary("redis-server", ""), "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--dir", str(tmp_path), "--requirepass", SECRET),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(host="127.0.0.1", port=port, password=SECRET, socket_timeout=1)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
            time.sleep(0.02)
        yield port
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("via", ["flag", "env"])
@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("form", ["userinfo", "query"])
def test_redis_password_is_masked_in_the_log_and_metrics(
    tmp_path: Path, redis_with_password: int, via: str, fmt: str, form: str
) -> None:
    where = f"127.0.0.1:{redis_with_password}"
    if form == "userinfo":
        url = f"redis://:{SECRET}@{where}/0"
    else:
        url = f"redis://{where}/0?password={SECRET}"
    gw = _serve(tmp_path, url, via, fmt)
    try:
        gw.wait_listening()
        assert _leaks(gw) == []
        assert any("***" in line and "listening on" in line for line in gw.lines)
    finally:
        assert gw.stop() == 0, gw.output()
    assert _leaks(gw, metrics=False) == []


@pytest.mark.parametrize("form", ["userinfo", "query"])
def test_a_refused_redis_password_is_masked_in_the_start_error(
    tmp_path: Path, redis_with_password: int, form: str
) -> None:
    wrong = SECRET[::-1] + "x"
    where = f"127.0.0.1:{redis_with_password}"
    url = (
        f"redis://:{wrong}@{where}/0"
        if form == "userinfo"
        else f"redis://{where}/0?password={wrong}"
    )
    gw = _serve(tmp_path, url, "flag", "text")
    assert gw.wait() == 1
    assert "cannot start" in gw.output()
    assert wrong not in gw.output()


@pytest.mark.parametrize(
    "backend",
    [
        # A libpq conninfo string: not a URL the gateway takes, and never echoed.
        f"host=127.0.0.1 port=1 user=gw password={SECRET} dbname=cp",
        f"host=127.0.0.1 password='{SECRET} x' dbname=cp",
        # Malformed URLs that carry a password.
        f"sqlite://gw:{SECRET}@host/cp.db",
        f"file://gw:{SECRET}@host/dir",
        f"redis+cluster://gw:{SECRET}@n1:notaport",
        f"mysql://gw:{SECRET}@db/cp",
    ],
)
@pytest.mark.parametrize("via", ["flag", "env"])
def test_bad_backend_strings_are_refused_without_their_password(
    tmp_path: Path, backend: str, via: str
) -> None:
    gw = _serve(tmp_path, backend, via, "text")
    assert gw.wait() == 2, gw.output()
    assert "--backend / CHECKPOINT_GATEWAY_BACKEND" in gw.output()
    assert SECRET not in gw.output()


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://gw:{SECRET}@127.0.0.1:{_free_port()}/cp?connect_timeout=2",
        f"postgresql://gw:{SECRET}@127.0.0.1:notaport/cp",
        f"host=127.0.0.1 port={_free_port()} password={SECRET} connect_timeout=2",
    ],
)
def test_an_unreachable_postgresql_is_reported_without_the_password(
    tmp_path: Path, url: str
) -> None:
    gw = _serve(tmp_path, url, "env", "json")
    assert gw.wait() in (1, 2), gw.output()
    assert "error:" in gw.output()
    assert SECRET not in gw.output()
