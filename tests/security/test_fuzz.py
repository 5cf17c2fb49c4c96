"""Property-based fuzzing of every RPC on every backend, through a real gateway process:
structured requests (mostly valid, with hostile values mixed in) and raw protobuf bytes.

For every request: no INTERNAL, no UNKNOWN (nor UNIMPLEMENTED), and what the gateway
acknowledged reads back exactly (``fuzz.py`` holds the checks). For every RPC: no
traceback or error line in the gateway's log, and no file written outside the backend's
own directory. Run with ``-s`` to see, per RPC and backend, how many requests were sent
and the histogram of status codes::

    scripts/test tests/security/test_fuzz.py -s -p no:cacheprovider

``CHECKPOINT_GATEWAY_FUZZ_EXAMPLES`` (default 75 per RPC, backend and mode: about a
minute in all on two cores) sets how many examples each run draws; raise it
for a long local run.
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, given, settings

from tests.gateway_process import GatewayProcess

from . import fuzz

EXAMPLES = int(os.environ.get("CHECKPOINT_GATEWAY_FUZZ_EXAMPLES", "75"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

BACKENDS = ["memory", "file", "sqlite", "postgresql", "redis", "redis-cluster"]
FORBIDDEN = {
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.DATA_LOSS,
}
_BAD_LOG_LINE = re.compile(r"Traceback|\b(ERROR|CRITICAL)\b")

#: (rpc, backend, mode) -> status code name -> requests.
STATS: dict[tuple[str, str, str], Counter[str]] = {}


def _files(root: Path, skip: Path) -> set[str]:
    return {str(p) for p in root.rglob("*") if skip not in (p, *p.parents)}


@dataclass
class Fuzzed:
    """A gateway process under fuzz, and where its backend may write."""

    backend: str
    gateway: GatewayProcess
    channel: grpc.Channel
    root: Path
    store: Path
    files_before: set[str]
    log_seen: int = 0
    calls: dict[str, Any] = field(default_factory=dict)

    def call(self, name: str, request: Message, response_type: type[Message]) -> Any:
        """One call of ``name``; (status code, response or None)."""
        key = f"{name}:{response_type.__name__}"
        stub = self.calls.get(key)
        if stub is None:
            stub = self.calls[key] = self.channel.unary_unary(
                f"/{fuzz.SERVICE.full_name}/{name}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=response_type.FromString,
            )
        try:
            return grpc.StatusCode.OK, stub(request, timeout=20)
        except grpc.RpcError as exc:
            return exc.code(), None  # type: ignore[attr-defined]

    def raw(self, method: str, payload: bytes) -> tuple[grpc.StatusCode, bytes | None]:
        stub = self.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            return grpc.StatusCode.OK, stub(payload, timeout=20)
        except grpc.RpcError as exc:
            return exc.code(), None  # type: ignore[attr-defined]

    def new_log_lines(self) -> list[str]:
        lines = self.gateway.output().splitlines()
        fresh, self.log_seen = lines[self.log_seen :], len(lines)
        return fresh


def _url(request: pytest.FixtureRequest, backend: str, cwd: Path) -> tuple[str, list[str]]:
    tag = uuid.uuid4().hex[:8]
    if backend == "memory":
        return "memory://", []
    if backend == "file":
        return f"file://{cwd}/store", []
    if backend == "sqlite":
        return f"sqlite:///{cwd}/store/fuzz.db", []
    if backend == "postgresql":
        return request.getfixturevalue("postgres_url"), ["--postgres-schema", f"fuzz_{tag}"]
    fixture = "redis_url" if backend == "redis" else "redis_cluster_url"
    return request.getfixturevalue(fixture), ["--redis-key-prefix", f"fz{tag}:"]


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    backend: str = request.param
    root = tmp_path_factory.mktemp(f"fuzz-{backend}")
    cwd = root / "cwd"  # the gateway's working directory; the store is two levels down
    cwd.mkdir()
    store = cwd / "store"
    url, extra = _url(request, backend, cwd)
    files_before = _files(root, store)
    args = ["--listen", "127.0.0.1:0", "--backend", url, *extra, *fuzz.LIMIT_FLAGS]
    args += ["--deadline-seconds", "20"]
    gw = GatewayProcess(args, cwd=cwd)
    try:
        gw.wait_listening()
        with grpc.insecure_channel(gw.target) as channel:
            yield Fuzzed(backend, gw, channel, root, store, files_before)
    finally:
        assert gw.stop() == 0, gw.output()


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """Print the requests and status codes per RPC and backend (visible with -s)."""
    yield
    print("\nfuzz: requests and status codes per RPC and backend (structured + raw bytes)")
    for rpc in fuzz.RPCS:
        for backend in BACKENDS:
            structured = STATS.get((rpc.name, backend, "structured"), Counter())
            raw = STATS.get((rpc.name, backend, "raw"), Counter())
            total = structured + raw
            if not total:
                continue
            codes = " ".join(f"{code}={n}" for code, n in total.most_common())
            print(
                f"fuzz {rpc.name:<9} {backend:<13} n={total.total():<4} "
                f"(structured {structured.total()}, raw {raw.total()})  {codes}"
            )


def test_every_rpc_is_fuzzed() -> None:
    assert sorted(r.name for r in fuzz.RPCS) == sorted(m.name for m in fuzz.SERVICE.methods)


@pytest.mark.parametrize("mode", ["structured", "raw"])
@pytest.mark.parametrize("rpc", fuzz.RPCS, ids=lambda r: r.name)
def test_fuzz(fuzzed: Fuzzed, rpc: fuzz.Rpc, mode: str) -> None:
    stats = STATS.setdefault((rpc.name, fuzzed.backend, mode), Counter())
    fuzzed.new_log_lines()  # what earlier tests left

    def answered(code: grpc.StatusCode, request: Message | None, reply: Any) -> None:
        stats[code.name] += 1
        assert code not in FORBIDDEN, f"{rpc.name} answered {code.name} to {request!r}"
        if code is grpc.StatusCode.OK and rpc.check is not None and request is not None:
            rpc.check(fuzzed.call, request, reply)

    if mode == "structured":

        @FUZZ
        @given(rpc.requests)
        def one(request: Message) -> None:
            code, reply = fuzzed.call(rpc.name, request, rpc.response_type)
            answered(code, request, reply)

    else:

        @FUZZ
        @given(fuzz.raw_requests(rpc))
        def one(payload: bytes) -> None:
            code, reply = fuzzed.raw(rpc.method, payload)
            parsed: Message | None = None
            if code is grpc.StatusCode.OK:
                try:  # it parsed on the gateway, so it parses here
                    parsed = rpc.request_type.FromString(payload)
                except DecodeError:
                    pytest.fail(f"{rpc.name} accepted bytes that do not parse: {payload!r}")
                reply = rpc.response_type.FromString(reply)
            answered(code, parsed, reply)

    one()
    bad = [line for line in fuzzed.new_log_lines() if _BAD_LOG_LINE.search(line)]
    assert bad == [], "\n".join(bad[:20])
    written = _files(fuzzed.root, fuzzed.store) - fuzzed.files_before
    assert written == set(), f"files written outside {fuzzed.store}: {sorted(written)[:10]}"
