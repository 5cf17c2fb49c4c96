"""What the observability tests run for real: Prometheus, an OTLP receiver, a scrape.

``Prometheus`` is Debian's ``prometheus`` binary with a temporary config and data
directory on a free loopback port (never the system service). ``OtlpReceiver`` is a gRPC
server implementing the OTLP TraceService, collecting what exporters send it.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "grafana" / "dashboard.json"
ALERTS = ROOT / "grafana" / "alerts.yaml"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def poll(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.1) -> T:
    """Call ``check`` until it returns something other than None (or falsy); fail after
    ``timeout`` seconds naming ``what`` and the last exception."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        threading.Event().wait(every)  # a poll interval, not a wait for something


def scrape(port: int) -> dict[str, Any]:
    """GET /metrics (Prometheus text format) -> {family name: family}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample_value(families: dict[str, Any], family: str, sample: str, **labels: str) -> float | None:
    """The value of the one sample of ``family`` named ``sample`` with these labels."""
    found = [
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) <= 1, f"{sample}{labels} matches {len(found)} samples"
    return found[0] if found else None


class Prometheus:
    """A throwaway Prometheus scraping ``targets`` every second, with ``rule_files``."""

    def __init__(self, targets: Sequence[str], rule_files: Sequence[Path] = ()) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail(
                "prometheus is not installed; the observability tests need it: "
                "`apt-get install prometheus` (scripts/test does this)",
                pytrace=False,
            )
        self.dir = Path(tempfile.mkdtemp(prefix="prom-"))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [
                {
                    "job_name": "checkpoint-gateway",
                    "static_configs": [{"targets": list(targets)}],
                }
            ],
        }
        # JSON is YAML: no YAML writer needed.
        (self.dir / "prometheus.yml").write_text(json.dumps(config))
        self.port = free_port()
        self.log = (self.dir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--enable-feature=exemplar-storage",
                "--web.enable-lifecycle",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as reply:
            return json.loads(reply.read())

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as reply:
                    return bool(reply.status == 200)
            except urllib.error.HTTPError as exc:
                # 503 while it starts: the error holds the response and its socket, which
                # would otherwise be collected unclosed (a ResourceWarning, an error here).
                exc.close()
                return False

        poll(ready, timeout, "prometheus to be ready")

    def wait_targets_up(self, timeout: float = 30.0) -> None:
        def up() -> bool:
            targets = self.get("/api/v1/targets")["data"]["activeTargets"]
            return bool(targets) and all(t["health"] == "up" for t in targets)

        poll(up, timeout, "every scrape target to be up")

    def query(self, expr: str) -> dict[str, Any]:
        """An instant query; the API's whole answer (status, data / errorType, error)."""
        try:
            answer: dict[str, Any] = self.get("/api/v1/query", query=expr)
        except urllib.error.HTTPError as exc:  # 400 for a parse error, with a JSON body
            answer = json.loads(exc.read())
        return answer

    def log_tail(self) -> str:
        self.log.flush()
        return (self.dir / "prometheus.log").read_text()[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class OtlpReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """A real OTLP/gRPC trace receiver on a free loopback port, keeping what it gets."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self._lock:
            self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[tuple[dict[str, Any], trace_pb2.Span]]:
        """(resource attributes, span) for every span received so far."""
        with self._lock:
            requests = list(self.requests)
        found = []
        for request in requests:
            for rs in request.resource_spans:
                resource = {a.key: _any_value(a.value) for a in rs.resource.attributes}
                for ss in rs.scope_spans:
                    found.extend((resource, span) for span in ss.spans)
        return found

    def stop(self) -> None:
        self.server.stop(grace=None)


def attributes(span: trace_pb2.Span) -> dict[str, Any]:
    return {a.key: _any_value(a.value) for a in span.attributes}


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None
