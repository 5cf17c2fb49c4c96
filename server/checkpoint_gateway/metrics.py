"""Prometheus metrics: the gateway's metric families, its registry and its /metrics server.

Every metric lives in a ``Metrics`` object with a registry of its own, so several gateways
in one process (tests) never collide, and a gateway started without metrics touches none.
Names follow Prometheus conventions: base units (seconds, bytes), ``_total`` on counters,
and labels of bounded cardinality only (operation, backend, gRPC code and method; never an
execution or checkpoint id). README (Observability) has the table of every metric.

Outcomes and ``grpc_code`` values are gRPC status codes spelled as go-grpc-prometheus
spells them (``OK``, ``NotFound``, ``Unavailable``...), so the ``grpc_server_*`` families
work with the dashboards operators already have, and one vocabulary joins all families.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import prometheus_client
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from . import __version__
from .backends._base import Backend

__all__ = [
    "BREAKER_STATES",
    "BYTES_BUCKETS",
    "LATENCY_BUCKETS",
    "OPERATIONS",
    "SERVER_ERROR_CODES",
    "Metrics",
    "MetricsServer",
    "code_name",
]

#: Seconds: 100 µs (an in-memory call) to 30 s (a call stuck behind a failing backend).
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

#: Bytes: 64 B to 64 MiB in steps of four (the state limit is 16 MiB by default).
BYTES_BUCKETS = tuple(float(64 * 4**i) for i in range(11))

#: The store operations, the values of the ``operation`` label.
OPERATIONS = ("save", "load", "latest", "list", "delete", "clear", "put_writes")

#: Codes that mean the gateway or its backend failed, not the caller: what alerts count.
SERVER_ERROR_CODES = (
    "Unknown",
    "DeadlineExceeded",
    "ResourceExhausted",
    "Internal",
    "Unavailable",
    "DataLoss",
)

#: ``checkpoint_gateway_circuit_breaker_state`` values.
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}

# go-grpc-prometheus spells codes as Go's codes.Code.String() does.
_GO_NAMES = {
    code: "Canceled"
    if code is grpc.StatusCode.CANCELLED
    else "".join(part.title() for part in code.name.split("_"))
    for code in grpc.StatusCode
}
_GO_NAMES[grpc.StatusCode.OK] = "OK"
_BY_NAME = {code.name: _GO_NAMES[code] for code in grpc.StatusCode}


def code_name(code: grpc.StatusCode | str) -> str:
    """``grpc.StatusCode.NOT_FOUND`` or ``"NOT_FOUND"`` -> ``"NotFound"``."""
    if isinstance(code, grpc.StatusCode):
        return _GO_NAMES[code]
    return _BY_NAME.get(code, "Unknown")


@dataclass(frozen=True, slots=True)
class MetricsServer:
    """The running /metrics HTTP server.

    Attributes:
        host: the address it listens on.
        port: the port (the chosen one when asked for port 0).
    """

    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


class Metrics:
    """Every metric the gateway exports, in a registry of its own.

    Args:
        registry: where to register; a new one when None.
        process: also export the process_* and python_* families (off in benchmarks that
            build many).
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        # Counters would otherwise add a *_created series each, doubling the series count
        # for a value nobody graphs (Prometheus tracks resets without it).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        op_labels = ("operation", "backend", "outcome")
        self.operations = Counter(
            "checkpoint_gateway_operations",
            "Store operations finished, by operation, backend and outcome (gRPC code).",
            op_labels,
            registry=r,
        )
        self.operation_duration = Histogram(
            "checkpoint_gateway_operation_duration_seconds",
            "Time to finish a store operation, retries included.",
            op_labels,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "checkpoint_gateway_operations_in_flight",
            "Store operations started and not yet finished.",
            ("operation", "backend"),
            registry=r,
        )
        self.state_bytes = Histogram(
            "checkpoint_gateway_state_bytes",
            "Size of the checkpoint state written (save) or read (load, latest).",
            ("operation", "backend"),
            buckets=BYTES_BUCKETS,
            registry=r,
        )
        attempt_labels = ("backend", "operation", "outcome")
        self.attempts = Counter(
            "checkpoint_gateway_backend_attempts",
            "Calls to the backend, first tries and retries, by outcome (gRPC code).",
            attempt_labels,
            registry=r,
        )
        self.attempt_duration = Histogram(
            "checkpoint_gateway_backend_attempt_duration_seconds",
            "Time of one call to the backend.",
            attempt_labels,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "checkpoint_gateway_backend_retries",
            "Calls to the backend that were retries (attempt 2 and later).",
            ("backend", "operation"),
            registry=r,
        )
        rpc_labels = ("grpc_type", "grpc_service", "grpc_method")
        self.grpc_started = Counter(
            "grpc_server_started",
            "RPCs started on the server.",
            rpc_labels,
            registry=r,
        )
        self.grpc_handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, regardless of success or failure.",
            (*rpc_labels, "grpc_code"),
            registry=r,
        )
        self.grpc_handling = Histogram(
            "grpc_server_handling_seconds",
            "Response latency of RPCs handled by the server.",
            rpc_labels,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        Info("checkpoint_gateway_build", "The running gateway's version.", registry=r).info(
            {
                "version": __version__,
                "python_version": platform.python_version(),
                "grpc_version": grpc.__version__,
            }
        )
        self._backends = _BackendCollector()
        r.register(self._backends)
        if process and r is not prometheus_client.REGISTRY:
            prometheus_client.ProcessCollector(registry=r)
            prometheus_client.PlatformCollector(registry=r)
            prometheus_client.GCCollector(registry=r)

    def watch_backend(self, backend: Backend) -> None:
        """Export ``backend``'s pool gauges, and start its series at zero.

        A series that appears only on its first increment makes ``rate()`` miss that
        increment and leaves dashboards empty until something happens; a retry counter
        that reads 0 says "no retries", which an absent one does not.
        """
        name = backend.name
        self._backends.add_pool(name, backend.pool_stats)
        for operation in OPERATIONS:
            self.operations.labels(operation, name, "OK")
            self.operation_duration.labels(operation, name, "OK")
            self.in_flight.labels(operation, name)
            self.attempts.labels(name, operation, "OK")
            self.attempt_duration.labels(name, operation, "OK")
            self.retries.labels(name, operation)
        for operation in ("save", "load", "latest"):
            self.state_bytes.labels(operation, name)

    def watch_breaker(self, backend: str, state: Callable[[], str]) -> None:
        """Export a circuit breaker's state (``closed``, ``half_open`` or ``open``)."""
        self._backends.add_breaker(backend, state)

    def init_grpc_service(self, service: str) -> None:
        """Start the gRPC series of every method of ``service`` (a full name registered
        with protobuf, e.g. ``checkpoint_gateway.v1.CheckpointService``) at zero, as
        go-grpc-prometheus's InitializeMetrics does (see ``watch_backend`` for why)."""
        from google.protobuf import descriptor_pool

        descriptor = descriptor_pool.Default().FindServiceByName(service)
        for method in descriptor.methods:
            self.grpc_started.labels("unary", service, method.name)
            self.grpc_handling.labels("unary", service, method.name)
            self.grpc_handled.labels("unary", service, method.name, "OK")

    def serve(self, host: str, port: int) -> MetricsServer:
        """Serve /metrics over HTTP on ``host:port`` (port 0: a free one) in a thread.

        Raises:
            OSError: the address is taken or not available.
        """
        server, thread = prometheus_client.start_http_server(
            port, addr=host.strip("[]"), registry=self.registry
        )
        return MetricsServer(host, int(server.server_port), server, thread)


class _BackendCollector(Collector):
    """Gauges read at scrape time: pool state and breaker state of each backend."""

    def __init__(self) -> None:
        self._pools: dict[str, Callable[[], Any]] = {}
        self._breakers: dict[str, Callable[[], str]] = {}

    def add_pool(self, backend: str, stats: Callable[[], Any]) -> None:
        self._pools[backend] = stats

    def add_breaker(self, backend: str, state: Callable[[], str]) -> None:
        self._breakers[backend] = state

    def describe(self) -> Iterable[Metric]:
        # Names are fixed; an empty description keeps the registry from calling collect()
        # (and the backends) at registration time.
        return []

    def collect(self) -> Iterator[Metric]:
        families = {
            key: GaugeMetricFamily(f"checkpoint_gateway_pool_{key}", text, labels=["backend"])
            for key, text in (
                ("connections", "Connections the backend's pool holds open."),
                ("connections_in_use", "Pool connections lent to calls."),
                ("connections_idle", "Pool connections open and free."),
                ("connections_max", "Connections the pool may open at most."),
                ("waiting", "Calls waiting for a pool connection."),
            )
        }
        for backend, read in self._pools.items():
            stats = read()
            if stats is None:
                continue  # a backend without a pool (memory, file, sqlite) exports none
            families["connections"].add_metric([backend], stats.size)
            families["connections_in_use"].add_metric([backend], stats.in_use)
            families["connections_idle"].add_metric([backend], stats.idle)
            families["connections_max"].add_metric([backend], stats.max_size)
            families["waiting"].add_metric([backend], stats.waiting)
        yield from families.values()
        breaker = GaugeMetricFamily(
            "checkpoint_gateway_circuit_breaker_state",
            "Circuit breaker in front of the backend: 0 closed, 1 half-open, 2 open.",
            labels=["backend"],
        )
        for backend, state in self._breakers.items():
            breaker.add_metric([backend], BREAKER_STATES.get(state(), 2))
        yield breaker
