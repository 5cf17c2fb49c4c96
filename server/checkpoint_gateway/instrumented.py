"""The observed layers of the store chain, and the gRPC interceptor that observes calls.

``InstrumentedStore`` wraps the resilient layer: one span and one set of measurements per
store operation, retries included. ``AttemptObserver`` is entered by the resilient layer
around each attempt at the backend: one span and one set of measurements per attempt, so
retries are visible (see ``chain``), without a layer (and its coroutines) of its own.
``RpcObserver`` is a gRPC server interceptor: the ``grpc_server_*`` families and one log
line per failed request, with the trace id when tracing is on.

Each takes ``metrics`` and ``tracer``, either of which may be None; with both None they
are not built at all (``chain.build``), so observing nothing costs nothing. The gateway's
own health probe (a ``latest`` every second, see ``app``) is neither counted nor traced:
it is not a request, and it would drown the ``latest`` series and the trace backend.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
import grpc.aio
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    CheckpointStore,
)

from . import context
from .app import HEALTH_PROBE_EXECUTION
from .layer import StoreLayer
from .metrics import SERVER_ERROR_CODES, Metrics, code_name
from .resilience import DEADLINE_SLACK

__all__ = ["AttemptObserver", "InstrumentedStore", "RpcObserver", "outcome_of"]

T = TypeVar("T")

log = logging.getLogger("checkpoint_gateway.rpc")

_SERVER_ERRORS = frozenset(SERVER_ERROR_CODES)
_perf = time.perf_counter


def outcome_of(exc: BaseException) -> str:
    """The gRPC code (go-grpc-prometheus spelling) a failure reaches the caller as."""
    if isinstance(exc, CheckpointError):
        return code_name(exc.grpc_code)
    if isinstance(exc, asyncio.CancelledError):
        return "Canceled"
    return "Internal"  # what the servicer answers for anything unexpected


def _outcome(exc: BaseException) -> str:
    """As ``outcome_of``, but a call cancelled because its deadline passed (the servicer
    cuts such calls off, with one timer for the whole chain) is DeadlineExceeded, as the
    caller sees it, not a cancellation. The event loop's clock runs a few milliseconds
    behind ``time.monotonic``, so its timer may fire a hair before the deadline: within
    ``DEADLINE_SLACK`` counts (as the resilient layer counts it for the breaker)."""
    outcome = outcome_of(exc)
    if outcome == "Canceled":
        deadline = context.deadline.get()
        if deadline is not None and time.monotonic() >= deadline - DEADLINE_SLACK:
            return "DeadlineExceeded"
    return outcome


def _trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span, when it is sampled."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid or not ctx.trace_flags.sampled:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def _exemplar() -> dict[str, str] | None:
    ids = _trace_ids()
    return None if ids is None else {"trace_id": ids[0], "span_id": ids[1]}


def _record_failure(span: Span, exc: BaseException, outcome: str) -> None:
    """Put a failure on a span; only the gateway's own failures make it an error span.

    A NotFound or a Conflict is an answer, not a fault: the span keeps status UNSET (as
    the gRPC instrumentation does for those codes) but still carries the exception.
    """
    span.set_attribute("checkpoint_gateway.outcome", outcome)
    span.set_attribute("error.type", type(exc).__qualname__)
    span.record_exception(exc)
    if outcome in _SERVER_ERRORS:
        span.set_status(Status(StatusCode.ERROR, f"{outcome}: {exc}"))


class _Measured:
    """Counter + histogram children per (operation, outcome), looked up once."""

    def __init__(self, metrics: Metrics, backend: str, *, attempts: bool) -> None:
        self._metrics = metrics
        self._backend = backend
        self._attempts = attempts
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def pair(self, operation: str, outcome: str) -> tuple[Any, Any]:
        key = (operation, outcome)
        found = self._children.get(key)
        if found is None:
            m = self._metrics
            if self._attempts:
                labels = (self._backend, operation, outcome)
                found = (m.attempts.labels(*labels), m.attempt_duration.labels(*labels))
            else:
                labels = (operation, self._backend, outcome)
                found = (m.operations.labels(*labels), m.operation_duration.labels(*labels))
            self._children[key] = found
        return found


class _Observer:
    """What observing a call means: a span, a counter and a histogram (either may be off)."""

    def __init__(self, *, backend: str, metrics: Metrics | None, tracer: Tracer | None) -> None:
        self._backend = backend
        self._metrics = metrics
        self._tracer = tracer
        self._measured = (
            None
            if metrics is None
            else _Measured(metrics, backend, attempts=isinstance(self, AttemptObserver))
        )
        # Label children cached by (family, operation): .labels() costs a lookup per call.
        self._children: dict[tuple[str, str], Any] = {}

    def _child(self, family: str, operation: str, *labels: str) -> Any:
        child = self._children.get((family, operation))
        if child is None:
            child = getattr(self._metrics, family).labels(*labels)
            self._children[(family, operation)] = child
        return child

    def _record(self, operation: str, outcome: str, elapsed: float) -> None:
        assert self._measured is not None
        counter, histogram = self._measured.pair(operation, outcome)
        counter.inc()
        histogram.observe(elapsed, _exemplar() if self._tracer is not None else None)


class InstrumentedStore(_Observer, StoreLayer):
    """A ``CheckpointStore`` that measures and traces each operation of ``inner``.

    One span, one count and one duration per operation, its retries included, plus the
    calls in flight and the state bytes saved and read.

    Args:
        inner: the store to observe (the resilient layer, in the gateway).
        backend: the ``backend`` label value (``Backend.name``).
        metrics: where to count; None for no metrics.
        tracer: where to make spans; None for no spans.
    """

    def __init__(
        self,
        inner: CheckpointStore,
        *,
        backend: str,
        metrics: Metrics | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        StoreLayer.__init__(self, inner)
        _Observer.__init__(self, backend=backend, metrics=metrics, tracer=tracer)

    async def _call(self, operation: str, execution_id: str, call: Callable[[], Awaitable[T]]) -> T:
        if execution_id == HEALTH_PROBE_EXECUTION:
            # The gateway's own health probe (every second) is not a request: counted, it
            # would swamp the latest/NotFound series; traced, it would be a root span each.
            return await call()
        span = None
        if self._tracer is not None:
            span = self._tracer.start_as_current_span(
                f"checkpoint.{operation}",
                kind=SpanKind.INTERNAL,
                attributes={
                    "checkpoint_gateway.operation": operation,
                    "checkpoint_gateway.backend": self._backend,
                    # Ids are fine on a span (one trace each); never on a metric label.
                    "checkpoint_gateway.execution_id": execution_id,
                },
                record_exception=False,
                set_status_on_exception=False,
            )
        measured = self._measured is not None
        gauge = self._child("in_flight", operation, operation, self._backend) if measured else None
        with span if span is not None else _NO_SPAN as current:
            if gauge is not None:
                gauge.inc()
            outcome = "OK"
            start = _perf()
            try:
                return await call()
            except BaseException as exc:
                outcome = _outcome(exc)
                if current is not None:
                    _record_failure(current, exc, outcome)
                raise
            finally:
                if gauge is not None:
                    gauge.dec()
                    self._record(operation, outcome, _perf() - start)

    def _observe_bytes(self, operation: str, size: int) -> None:
        if self._metrics is not None:
            self._child("state_bytes", operation, operation, self._backend).observe(size)

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        saved = await super().save(checkpoint, expected_version=expected_version)
        self._observe_bytes("save", len(checkpoint.state_bytes))
        return saved

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        results = await super().save_many(checkpoints, expected_versions=expected_versions)
        for checkpoint in checkpoints:
            self._observe_bytes("save_many", len(checkpoint.state_bytes))
        return results

    async def load(
        self, execution_id: str, checkpoint_id: str, *, namespace: str = ""
    ) -> Checkpoint:
        found = await super().load(execution_id, checkpoint_id, namespace=namespace)
        self._observe_bytes("load", len(found.state_bytes))
        return found

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        found = await super().latest(execution_id, namespace=namespace)
        self._observe_bytes("latest", len(found.state_bytes))
        return found


class AttemptObserver(_Observer):
    """Measures and traces each attempt the resilient layer makes at a backend call.

    ``ResilientStore`` enters ``attempt(...)`` around every try, inline (no layer of its
    own, so observing costs no extra coroutine per call): a span per attempt with its
    number, a count and a duration per attempt, and attempts 2 and later counted as
    retries.

    Args:
        backend: the ``backend`` label value and ``db.system.name`` (``Backend.name``,
            which uses the semantic conventions' names: postgresql, redis, sqlite).
        metrics: where to count; None for no metrics.
        tracer: where to make spans; None for no spans.
    """

    def attempt(self, operation: str, execution_id: str, number: int) -> _AttemptScope:
        """A context manager around one attempt (a no-op for the health probe)."""
        return _AttemptScope(self, operation, execution_id, number)


class _AttemptScope:
    __slots__ = (
        "_current",
        "_execution_id",
        "_number",
        "_observer",
        "_operation",
        "_span",
        "_start",
    )

    def __init__(
        self, observer: AttemptObserver, operation: str, execution_id: str, number: int
    ) -> None:
        self._observer = observer
        self._operation = operation
        self._execution_id = execution_id
        self._number = number
        self._span: Any = None
        self._current: Any = None
        self._start = 0.0

    def __enter__(self) -> None:
        o = self._observer
        if self._execution_id == HEALTH_PROBE_EXECUTION:
            return
        if o._metrics is not None and self._number > 1:
            o._child("retries", self._operation, o._backend, self._operation).inc()
        if o._tracer is not None:
            self._span = o._tracer.start_as_current_span(
                f"{self._operation} {o._backend}",
                kind=SpanKind.CLIENT,
                attributes={
                    "db.system.name": o._backend,
                    "db.operation.name": self._operation,
                    "checkpoint_gateway.attempt": self._number,
                },
                record_exception=False,
                set_status_on_exception=False,
            )
            self._current = self._span.__enter__()
        self._start = _perf()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._execution_id == HEALTH_PROBE_EXECUTION:
            return
        o = self._observer
        elapsed = _perf() - self._start
        outcome = "OK" if exc is None else _outcome(exc)
        if self._span is not None:
            if exc is not None:
                _record_failure(self._current, exc, outcome)
            self._span.__exit__(kind, exc, tb)
        if o._measured is not None:
            o._record(self._operation, outcome, elapsed)


_NO_SPAN = contextlib.nullcontext()


# A string: grpc's runtime classes are not generic, only grpc-stubs' are.
_Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any]"]]


class RpcObserver(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """gRPC server metrics by method and code, and one log line per failed request.

    The ``grpc_server_*`` families are go-grpc-prometheus's, for unary calls (every
    checkpoint call, and health checks); streaming calls (health Watch, reflection) pass
    through uncounted. Install it after the tracing interceptor, so that the failure log
    line and the latency exemplar carry the RPC's trace id.

    Args:
        metrics: where to count; None to log failures only.
        traced: tracing is on: add trace ids to log lines and exemplars.
    """

    def __init__(self, metrics: Metrics | None, *, traced: bool = False) -> None:
        self._metrics = metrics
        self._traced = traced
        self._methods: dict[str, tuple[str, str, Any, Any, dict[str, Any]]] = {}

    def _method(self, full: str) -> tuple[str, str, Any, Any, dict[str, Any]]:
        found = self._methods.get(full)
        if found is None:
            service, _, method = full.lstrip("/").partition("/")
            started = handling = None
            if self._metrics is not None:
                started = self._metrics.grpc_started.labels("unary", service, method)
                handling = self._metrics.grpc_handling.labels("unary", service, method)
            found = self._methods[full] = (service, method, started, handling, {})
        return found

    def _handled(self, full: str, code: str) -> Any:
        service, method, _, _, by_code = self._methods[full]
        child = by_code.get(code)
        if child is None:
            assert self._metrics is not None
            child = by_code[code] = self._metrics.grpc_handled.labels(
                "unary", service, method, code
            )
        return child

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # unknown method (grpc answers UNIMPLEMENTED) or streaming
        full: str = handler_call_details.method
        _, _, started, handling, _ = self._method(full)
        inner: Any = handler.unary_unary  # typed for sync servicer contexts by grpc-stubs

        async def behavior(request: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if started is not None:
                started.inc()
            code = grpc.StatusCode.OK
            start = _perf()
            try:
                response = await inner(request, ctx)
                code = ctx.code() or grpc.StatusCode.OK
                return response
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception:
                # An abort sets the code first; anything else grpc answers as UNKNOWN.
                code = ctx.code() or grpc.StatusCode.UNKNOWN
                raise
            finally:
                elapsed = _perf() - start
                name = code_name(code)
                if handling is not None:
                    handling.observe(elapsed, _exemplar() if self._traced else None)
                    self._handled(full, name).inc()
                if code is not grpc.StatusCode.OK:
                    self._log_failure(full, name, ctx, elapsed)
                elif log.isEnabledFor(logging.DEBUG):
                    log.debug("%s OK (%.1f ms)", full, elapsed * 1000)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _log_failure(
        self, full: str, code: str, ctx: grpc.aio.ServicerContext[Any, Any], elapsed: float
    ) -> None:
        ids = _trace_ids() if self._traced else None
        fields: dict[str, Any] = {
            "grpc_method": full,
            "grpc_code": code,
            "duration_ms": round(elapsed * 1000, 3),
        }
        if ids is not None:
            fields["trace_id"], fields["span_id"] = ids
        details = ctx.details()
        if isinstance(details, bytes):
            details = details.decode("utf-8", "replace")
        # The gateway's own failures are what an operator must see: warning. The caller's
        # mistakes (InvalidArgument...) are routine: info. NOT_FOUND is how a runtime
        # learns that a thread is new (Latest before its first save): debug.
        if code in _SERVER_ERRORS:
            level = logging.WARNING
        elif code == "NotFound":
            level = logging.DEBUG
        else:
            level = logging.INFO
        log.log(
            level,
            "%s failed: %s: %s (%.1f ms)%s",
            full,
            code,
            details or "",
            elapsed * 1000,
            f" trace_id={ids[0]}" if ids else "",
            extra=fields,
        )
