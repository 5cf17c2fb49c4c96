"""Prometheus metrics: the gateway's metric families, its registry and its /metrics server.

Every metric lives in a ``Metrics`` object with a registry of its own, so several gateways
in one process (tests) never collide, and a gateway started without metrics touches none.
Names follow Prometheus conventions: base units (seconds, bytes), ``_total`` on counters,
and labels of bounded cardinality only (operation, backend, gRPC code and method; never an
execution or checkpoint id). README (Observability) has the table of every metric.

Several worker processes (``serve --workers N``, see ``workers``) use prometheus_client's
multiprocess mode: each worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR``
(``Metrics(multiprocess=True)``) and the supervisor serves their merge
(``multiprocess_registry``). Counters and histograms add up; every gauge says how its
workers' values combine (``multiprocess_mode``); what a scrape-time callback used to read
(pools, breakers) each worker copies into real gauges every second (``publish``).

Outcomes and ``grpc_code`` values are gRPC status codes spelled as go-grpc-prometheus
spells them (``OK``, ``NotFound``, ``Unavailable``...), so the ``grpc_server_*`` families
work with the dashboards operators already have, and one vocabulary joins all families.
"""

from __future__ import annotations

import gc
import platform
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import make_server

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
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.registry import Collector

from . import __version__
from .backends._base import Backend
from .backends._states import ENCODINGS

__all__ = [
    "BREAKER_STATES",
    "PUBLISH_INTERVAL",
    "BYTES_BUCKETS",
    "DENIED_REASONS",
    "LATENCY_BUCKETS",
    "LIMITED_REASONS",
    "OPERATIONS",
    "SERVER_ERROR_CODES",
    "Metrics",
    "MetricsServer",
    "code_name",
    "multiprocess_registry",
    "serve_registry",
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
OPERATIONS = (
    "save",
    "save_many",
    "load",
    "latest",
    "list",
    "delete",
    "clear",
    "put_writes",
    "search",
    "namespaces",
    "executions",
    "delete_where",
    "copy_execution",
    "prune",
    "ancestors",
)

#: ``checkpoint_gateway_auth_denied_total`` reasons: no credential, one that is not valid,
#: a role the call needs is missing, another tenant asked for.
DENIED_REASONS = ("missing", "invalid", "role", "tenant")
#: ``checkpoint_gateway_limited_total`` reasons.
LIMITED_REASONS = ("in_flight", "rate")

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

#: Seconds between a worker's copies of its pool and breaker state (multiprocess mode).
PUBLISH_INTERVAL = 1.0

_POOL_GAUGES = (
    ("connections", "Connections the backend's pool holds open."),
    ("connections_in_use", "Pool connections lent to calls."),
    ("connections_idle", "Pool connections open and free."),
    ("connections_max", "Connections the pool may open at most."),
    ("waiting", "Calls waiting for a pool connection."),
)
_BREAKER_HELP = "Circuit breaker in front of the backend: 0 closed, 1 half-open, 2 open."

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
        multiprocess: this is one worker of several (``serve --workers N``): values go to
            the files in ``PROMETHEUS_MULTIPROC_DIR``, which must have been set before
            prometheus_client was imported, and the supervisor exports them. Pool and
            breaker gauges are then real gauges that ``publish`` sets; build info and the
            process families are the supervisor's to export.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        process: bool = True,
        multiprocess: bool = False,
    ) -> None:
        if multiprocess and not getattr(prometheus_values.ValueClass, "_multiprocess", False):
            raise RuntimeError(
                "multiprocess metrics need PROMETHEUS_MULTIPROC_DIR set before "
                "prometheus_client is imported"
            )
        self.multiprocess = multiprocess
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
            multiprocess_mode="livesum",  # the gateway's calls: every live worker's
        )
        self.state_bytes = Histogram(
            "checkpoint_gateway_state_bytes",
            "Size of the checkpoint state written (save) or read (load, latest).",
            ("operation", "backend"),
            buckets=BYTES_BUCKETS,
            registry=r,
        )
        self.state_saved_bytes = Counter(
            "checkpoint_gateway_state_saved_bytes",
            "Bytes of the states saved, as clients sent them.",
            ("backend",),
            registry=r,
        )
        self.state_stored_bytes = Counter(
            "checkpoint_gateway_state_stored_bytes",
            "Bytes written to the backend for those states: a delta or snapshot and its "
            "frame, or the state as it came (saved / stored is the compression ratio).",
            ("backend",),
            registry=r,
        )
        self.state_encodings = Counter(
            "checkpoint_gateway_state_encodings",
            "States saved, by how they were stored: plain (as they came), snapshot or delta.",
            ("backend", "encoding"),
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
        self.auth_denied = Counter(
            "checkpoint_gateway_auth_denied",
            "Calls refused by authentication or authorization, by reason.",
            ("reason",),
            registry=r,
        )
        self.limited = Counter(
            "checkpoint_gateway_limited",
            "Calls refused by a per-principal limit, by reason.",
            ("reason",),
            registry=r,
        )
        for reason in DENIED_REASONS:
            self.auth_denied.labels(reason)
        for reason in LIMITED_REASONS:
            self.limited.labels(reason)
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
        self._backends = _BackendCollector()
        self._published: dict[str, Gauge] = {}
        self._gc: _GcCounters | None = None
        if multiprocess:
            # Each worker has its own pools (summed: what the gateway holds) and its own
            # breaker (the worst one: any open breaker fails that worker's share of calls).
            for key, text in _POOL_GAUGES:
                self._published[key] = Gauge(
                    f"checkpoint_gateway_pool_{key}",
                    text,
                    ("backend",),
                    registry=r,
                    multiprocess_mode="livesum",
                )
            self._published["breaker"] = Gauge(
                "checkpoint_gateway_circuit_breaker_state",
                _BREAKER_HELP,
                ("backend",),
                registry=r,
                multiprocess_mode="livemax",
            )
            if process:
                # The process_* families the supervisor reads from /proc; the garbage
                # collector's counts only this process knows: counters, so they add up.
                self._gc = _GcCounters(r)
            return
        _register_build_info(r)
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
        saved = self.state_saved_bytes.labels(name)
        stored = self.state_stored_bytes.labels(name)
        encodings = {kind: self.state_encodings.labels(name, kind) for kind in ENCODINGS}

        def observe(raw: int, written: int, encoding: str) -> None:
            saved.inc(raw)
            stored.inc(written)
            encodings[encoding].inc()

        backend.states.observer = observe

    def watch_breaker(self, backend: str, state: Callable[[], str]) -> None:
        """Export a circuit breaker's state (``closed``, ``half_open`` or ``open``)."""
        self._backends.add_breaker(backend, state)

    def publish(self) -> None:
        """Multiprocess mode: copy the watched pools' and breakers' state into the shared
        gauges (the supervisor's scrape cannot call into this process); a worker calls
        this every ``PUBLISH_INTERVAL``. Single-process mode reads them at scrape time, so
        this does nothing there."""
        if not self.multiprocess:
            return
        pools, breakers = self._backends.read()
        for backend, stats in pools.items():
            for key, _ in _POOL_GAUGES:
                self._published[key].labels(backend).set(stats[key])
        for backend, state in breakers.items():
            self._published["breaker"].labels(backend).set(state)
        if self._gc is not None:
            self._gc.publish()

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

    def serve(
        self, host: str, port: int, *, authorize: Callable[[str], bool] | None = None
    ) -> MetricsServer:
        """Serve /metrics over HTTP on ``host:port`` (port 0: a free one) in a thread.

        Raises:
            OSError: the address is taken or not available.
        """
        return serve_registry(self.registry, host, port, authorize=authorize)


def serve_registry(
    registry: CollectorRegistry,
    host: str,
    port: int,
    *,
    authorize: Callable[[str], bool] | None = None,
) -> MetricsServer:
    """Serve ``registry`` as /metrics over HTTP on ``host:port`` (port 0: a free one) in a
    thread. With ``authorize``, a request needs ``Authorization: Bearer <token>`` with a
    token it accepts (else 401, and a scraper knows to send one).

    Raises:
        OSError: the address is taken or not available.
    """
    if authorize is None:
        server, thread = prometheus_client.start_http_server(
            port, addr=host.strip("[]"), registry=registry
        )
        return MetricsServer(host, int(server.server_port), server, thread)
    exposition = prometheus_client.make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        scheme, _, token = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
        if scheme.lower() != "bearer" or not token or not authorize(token.strip()):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"a bearer token of a principal with the metrics role is needed\n"]
        result: Iterable[bytes] = exposition(environ, start_response)
        return result

    family = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0][0]

    class _Server(ThreadingWSGIServer):
        address_family = family

    httpd = make_server(
        host.strip("[]"), port, app, server_class=_Server, handler_class=_SilentHandler
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True, name="metrics")
    thread.start()
    return MetricsServer(host, int(httpd.server_port), httpd, thread)


def multiprocess_registry(path: str, pids: Callable[[], Iterable[int]]) -> CollectorRegistry:
    """What the supervisor of several workers exports: the merge of the workers' files in
    ``path`` (their ``PROMETHEUS_MULTIPROC_DIR``), build info, and the process families
    summed over this process and ``pids()`` (its live workers)."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    _register_build_info(registry)
    registry.register(_ProcessTreeCollector(pids))
    prometheus_client.PlatformCollector(registry=registry)
    return registry


def _constant(value: str) -> Callable[[], str]:
    return lambda: value


def _register_build_info(registry: CollectorRegistry) -> None:
    Info("checkpoint_gateway_build", "The running gateway's version.", registry=registry).info(
        {
            "version": __version__,
            "python_version": platform.python_version(),
            "grpc_version": grpc.__version__,
        }
    )


class _GcCounters:
    """GCCollector's ``python_gc_*`` families as counters a worker advances to its
    ``gc.get_stats()`` (multiprocess mode has no scrape-time callbacks)."""

    _FAMILIES = (
        ("collected", "python_gc_objects_collected", "Objects collected during gc"),
        (
            "uncollectable",
            "python_gc_objects_uncollectable",
            "Uncollectable objects found during GC",
        ),
        ("collections", "python_gc_collections", "Number of times this generation was collected"),
    )

    def __init__(self, registry: CollectorRegistry) -> None:
        self._counters = {
            key: Counter(name, text, ("generation",), registry=registry)
            for key, name, text in self._FAMILIES
        }
        self._seen: dict[tuple[str, int], int] = {}
        self.publish()

    def publish(self) -> None:
        for generation, stats in enumerate(gc.get_stats()):
            for key, counter in self._counters.items():
                value = stats[key]
                delta = value - self._seen.get((key, generation), 0)
                self._seen[(key, generation)] = value
                counter.labels(str(generation)).inc(delta)


class _ProcessTreeCollector(Collector):
    """The ``process_*`` families of a gateway made of several processes: this one and its
    workers. CPU time, memory and open descriptors add up (what the gateway uses, as one
    process would report it); the descriptor limit is the lowest, the start time the
    earliest (this process's)."""

    _LOWEST = frozenset({"process_max_fds", "process_start_time_seconds"})

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self._pids = pids

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for pid in ["self", *map(str, self._pids())]:
            # registry=None: a collector used here, never registered anywhere.
            read = prometheus_client.ProcessCollector(pid=_constant(pid), registry=None)
            for family in read.collect():  # a process gone meanwhile yields nothing
                found = merged.get(family.name)
                if found is None:
                    merged[family.name] = family
                    continue
                old, new = found.samples[0], family.samples[0]
                if family.name in self._LOWEST:
                    value = min(old.value, new.value)
                else:
                    value = old.value + new.value
                found.samples[0] = old._replace(value=value)
        yield from merged.values()


class _BackendCollector(Collector):
    """Gauges read at scrape time: pool state and breaker state of each backend."""

    def __init__(self) -> None:
        self._pools: dict[str, Callable[[], Any]] = {}
        self._breakers: dict[str, Callable[[], str]] = {}

    def add_pool(self, backend: str, stats: Callable[[], Any]) -> None:
        self._pools[backend] = stats

    def add_breaker(self, backend: str, state: Callable[[], str]) -> None:
        self._breakers[backend] = state

    def read(self) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        """({backend: pool gauge values} for backends with a pool, {backend: breaker
        state value})."""
        pools = {}
        for backend, read in self._pools.items():
            stats = read()
            if stats is None:
                continue  # a backend without a pool (memory, file, sqlite) exports none
            pools[backend] = {
                "connections": stats.size,
                "connections_in_use": stats.in_use,
                "connections_idle": stats.idle,
                "connections_max": stats.max_size,
                "waiting": stats.waiting,
            }
        breakers = {
            backend: BREAKER_STATES.get(state(), 2) for backend, state in self._breakers.items()
        }
        return pools, breakers

    def describe(self) -> Iterable[Metric]:
        # Names are fixed; an empty description keeps the registry from calling collect()
        # (and the backends) at registration time.
        return []

    def collect(self) -> Iterator[Metric]:
        pools, breakers = self.read()
        families = {
            key: GaugeMetricFamily(f"checkpoint_gateway_pool_{key}", text, labels=["backend"])
            for key, text in _POOL_GAUGES
        }
        for backend, values in pools.items():
            for key, value in values.items():
                families[key].add_metric([backend], value)
        yield from families.values()
        breaker = GaugeMetricFamily(
            "checkpoint_gateway_circuit_breaker_state", _BREAKER_HELP, labels=["backend"]
        )
        for backend, value in breakers.items():
            breaker.add_metric([backend], value)
        yield breaker
