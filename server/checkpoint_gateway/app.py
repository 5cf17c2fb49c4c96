"""Assemble and run a gateway: gRPC server, servicer, health, reflection, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, cast

import grpc
import grpc.aio
from grpc_health.v1 import _async as health_aio  # what grpc_health.v1.health.aio re-exports
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from checkpoint_client import CheckpointError, CheckpointStore, DeadlineExceeded, Unavailable
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2 as pb
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc

from . import context
from . import reflection as reflection_service
from .connections import ConnectionLimits
from .intake import IntakeInterceptor, RefusalInterceptor
from .service import CheckpointServicer
from .wire import split_save_request

log = logging.getLogger("checkpoint_gateway")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CheckpointService"].full_name
HEALTH_SERVICE_NAME = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
_SERVICE_PREFIX = f"/{SERVICE_NAME}/"

#: Request parsers that replace protobuf's for some methods (large states copied once).
_DESERIALIZERS: dict[str, Callable[[bytes], Any]] = {
    f"{_SERVICE_PREFIX}Save": split_save_request,
}

#: The execution the health probe reads. Any answer (usually NotFound) proves the backend
#: reachable, so it may hold data or not.
HEALTH_PROBE_EXECUTION = "__checkpoint_gateway_health__"


async def backend_answers(store: CheckpointStore, within: float) -> bool:
    """Whether the backend behind ``store`` answers a cheap read within ``within`` s.

    The read goes through the whole store chain: while the circuit breaker is open it
    fails at once, and a successful probe is what closes a half-open breaker.
    """
    token = context.deadline.set(time.monotonic() + within)
    try:
        async with asyncio.timeout(within):
            await store.latest(HEALTH_PROBE_EXECUTION)
    except (Unavailable, DeadlineExceeded, TimeoutError):
        return False
    except CheckpointError:
        return True  # NotFound and the like: an answer
    except Exception:
        log.exception("the health probe failed with an unexpected error")
        return False
    finally:
        context.deadline.reset(token)
    return True


class ListenError(OSError):
    """The gRPC address cannot be bound (taken, not on this machine, or TLS refused)."""


_OTEL_INTERCEPTOR_MODULE = "opentelemetry.instrumentation.grpc._aio_server"


def decides_by_method(interceptor: object) -> bool:
    """Whether ``interceptor`` chooses its handler from the method name alone.

    Such an interceptor's ``intercept_service`` reads nothing of the call but
    ``handler_call_details.method``; whatever varies per call (metadata, peer,
    deadline) it reads from the servicer context inside the handler it returns. Its
    handler for a method is then the same for every call, so ``Gateway.start`` runs it
    once per method at start instead of once per call (see ``_ResolvedHandlers``). The
    gateway's own interceptors are such, and so are authentication and OpenTelemetry's
    server interceptor (its ``intercept_service`` reads the method; its span reads the
    metadata from the context). Any other interceptor is run per call by grpc, as
    interceptors are by default.
    """
    from .auth.interceptor import AuthInterceptor
    from .instrumented import RpcObserver

    known: tuple[type, ...] = (
        IntakeInterceptor,
        RefusalInterceptor,
        DrainInterceptor,
        RpcObserver,
        AuthInterceptor,
    )
    if isinstance(interceptor, known):
        return True
    # Loaded only when tracing is on; when it is not loaded, nothing is an instance of it.
    otel = sys.modules.get(_OTEL_INTERCEPTOR_MODULE)
    return otel is not None and isinstance(interceptor, otel.OpenTelemetryAioServerInterceptor)


class _MethodOnly:
    """The ``HandlerCallDetails`` an interceptor sees when it is run once per method: the
    method, and no metadata (there is no call yet); reading it is a defect, said loudly.
    An AttributeError, so that ``hasattr`` (and ``isinstance`` against grpc's
    runtime-checkable ``HandlerCallDetails``, which OpenTelemetry's filters use) answer
    False instead of raising."""

    __slots__ = ("method",)

    def __init__(self, method: str) -> None:
        self.method = method

    @property
    def invocation_metadata(self) -> Any:
        raise AttributeError(
            f"an interceptor read the metadata while choosing the handler of {self.method}; "
            "only interceptors that choose by method alone are run once per method "
            "(see app.decides_by_method)"
        )


class _Registry:
    """Stands in for the gRPC server while the services add their handlers, so that the
    interceptors can be run over each method's handler once, before the server has them."""

    def __init__(self) -> None:
        self.handlers: list[grpc.GenericRpcHandler[Any, Any]] = []

    def add_generic_rpc_handlers(
        self, handlers: Iterable[grpc.GenericRpcHandler[Any, Any]]
    ) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        """Nothing to do: the generated code adds the same handlers as a generic one."""

    def find(self, method: str) -> grpc.RpcMethodHandler[Any, Any] | None:
        """The handler of ``method``; for the checkpoint service's, with the gateway's own
        request parser where it has one, and a serializer that passes replies the
        servicer encoded itself (``bytes``) through (see ``CheckpointServicer``)."""
        details = cast(grpc.HandlerCallDetails, _MethodOnly(method))
        for generic in self.handlers:
            handler = generic.service(details)
            if handler is None:
                continue
            if method.startswith(_SERVICE_PREFIX) and handler.unary_unary is not None:
                handler = grpc.unary_unary_rpc_method_handler(
                    handler.unary_unary,
                    request_deserializer=_DESERIALIZERS.get(method, handler.request_deserializer),
                    response_serializer=_encoded(handler.response_serializer),
                )
            return handler
        return None


def _encoded(serialize: Callable[[Any], bytes] | None) -> Callable[[Any], bytes]:
    """``serialize``, except for a reply that is already encoded."""
    assert serialize is not None  # every checkpoint service method has one

    def serializer(reply: Any) -> bytes:
        return reply if isinstance(reply, bytes) else serialize(reply)

    return serializer


async def _intercepted(
    interceptors: Sequence[grpc.aio.ServerInterceptor[Any, Any]],
    details: grpc.HandlerCallDetails,
    handler: grpc.RpcMethodHandler[Any, Any] | None,
) -> grpc.RpcMethodHandler[Any, Any] | None:
    """``handler`` as ``interceptors`` (outermost first) turn it, as grpc would per call."""
    if not interceptors:
        return handler
    first, rest = interceptors[0], interceptors[1:]

    async def continuation(inner_details: grpc.HandlerCallDetails) -> Any:
        return await _intercepted(rest, inner_details, handler)

    result: grpc.RpcMethodHandler[Any, Any] | None = await first.intercept_service(
        continuation, details
    )
    return result


class _ResolvedHandlers(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """Every method's handler, intercepted once at start: a dict lookup per call.

    grpc runs a server's interceptors on every call: a coroutine per interceptor, each
    building the wrapped handler anew (closures and a method handler per call), all for
    an answer that depends on the method alone. Here that answer is computed once per
    method; the handlers it gives do per call only what must be done per call.
    """

    def __init__(self, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]) -> None:
        self._handlers = handlers

    @classmethod
    async def resolve(
        cls,
        registry: _Registry,
        methods: Iterable[str],
        interceptors: Sequence[grpc.aio.ServerInterceptor[Any, Any]],
    ) -> _ResolvedHandlers:
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        for method in methods:
            details = cast(grpc.HandlerCallDetails, _MethodOnly(method))
            handler = await _intercepted(interceptors, details, registry.find(method))
            if handler is not None:
                handlers[method] = handler
        return cls(handlers)

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        return self._handlers.get(handler_call_details.method)


def _served_methods(reflection: bool) -> list[str]:
    """The full names (``/package.Service/Method``) of every method a gateway serves."""
    services: list[tuple[str, Any]] = [
        (SERVICE_NAME, pb.DESCRIPTOR.services_by_name["CheckpointService"]),
        (HEALTH_SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"]),
    ]
    if reflection:
        descriptor = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"]
        # v1 is v1alpha's methods under another name (see reflection).
        services += [
            (reflection_service.V1ALPHA_SERVICE_NAME, descriptor),
            (reflection_service.V1_SERVICE_NAME, descriptor),
        ]
    return [
        f"/{name}/{method.name}" for name, descriptor in services for method in descriptor.methods
    ]


class DrainInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Counts in-flight checkpoint calls and, once draining, refuses new ones.

    grpc's own ``server.stop`` rejects late calls as CANCELLED, which a client cannot tell
    from its own cancellation; UNAVAILABLE says "retry, elsewhere". Health and reflection
    are left alone so probes keep answering (NOT_SERVING) while the gateway drains.
    """

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()

    async def wait_idle(self) -> None:
        """Return once no call is in flight; call it after setting ``draining``.

        Calls only count themselves (an int); the event is set by the last call to end
        while draining, so that the per-call path does not touch it."""
        if self.in_flight == 0:
            return
        self._idle.clear()
        await self._idle.wait()

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or handler.unary_unary is None or not method.startswith(_SERVICE_PREFIX):
            return handler
        inner = handler.unary_unary

        async def behavior(request: Any, context: Any) -> Any:
            if self.draining:
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE, "the gateway is shutting down; retry"
                )
            self.in_flight += 1
            try:
                return await inner(request, context)
            finally:
                self.in_flight -= 1
                if self.in_flight == 0 and self.draining:
                    self._idle.set()

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class Gateway:
    """A running gateway around a store. Build it with ``Gateway.start``.

    Attributes:
        port: the port it listens on (useful when started on port 0).
    """

    def __init__(
        self,
        server: grpc.aio.Server,
        health: health_aio.HealthServicer,
        drain: DrainInterceptor,
        store: CheckpointStore,
        port: int,
    ) -> None:
        self._server = server
        self._health = health
        self._drain = drain
        self.store = store
        self.port = port
        self._stopped = asyncio.Event()
        self._prober: asyncio.Task[None] | None = None

    async def _probe_health(self, interval: float, within: float) -> None:
        """Report NOT_SERVING while the backend does not answer, SERVING once it does.

        A probe starts every ``interval`` seconds even while earlier ones still wait on a
        hung backend (so at most ``within / interval + 1`` at once): a quick answer, such
        as the open circuit breaker's refusal, is reported without waiting for them. Only
        the newest probe that finished counts.
        """
        serving = True
        newest = 0
        lock = asyncio.Lock()

        async def probe(number: int) -> None:
            nonlocal serving, newest
            answers = await backend_answers(self.store, within)
            async with lock:
                if number < newest or answers == serving or self._stopped.is_set():
                    newest = max(newest, number)
                    return
                newest, serving = number, answers
                status = health_pb2.HealthCheckResponse.SERVING
                if not serving:
                    status = health_pb2.HealthCheckResponse.NOT_SERVING
                for service in ("", SERVICE_NAME):
                    await self._health.set(service, status)
            if serving:
                log.warning("the backend answers again: health SERVING")
            else:
                log.warning("the backend does not answer: health NOT_SERVING")

        # stop() cancels this task, and with it every probe still waiting.
        async with asyncio.TaskGroup() as probes:
            number = 0
            while not self._stopped.is_set():
                number += 1
                probes.create_task(probe(number))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(interval):
                        await self._stopped.wait()

    @classmethod
    async def start(
        cls,
        store: CheckpointStore,
        *,
        listen: str = "127.0.0.1:0",
        max_message_bytes: int = 33 * 1024 * 1024,
        max_metadata_bytes: int = 64 * 1024,
        credentials: grpc.ServerCredentials | None = None,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),  # type: ignore[type-arg]
        options: Sequence[tuple[str, Any]] = (),
        health_probe_interval: float | None = 1.0,
        health_probe_timeout: float = 5.0,
        reuse_port: bool = False,
        request_timeout: float | None = 30.0,
        connection_limits: ConnectionLimits | None = None,
        reflection: bool = True,
        local_ports: Sequence[str] = (),
    ) -> Gateway:
        """Serve ``store`` on ``listen`` (``host:port``; port 0 picks a free one).

        Args:
            max_metadata_bytes: metadata (and metadata filters) longer than this are
                refused before they are parsed; the store's limit is checked after.
            credentials: serve TLS with these (``grpc.ssl_server_credentials``); plaintext
                when None.
            interceptors: run after the drain check, in order (auth, metrics, ...); a
                request that could not be read or parsed reaches them as an ``intake.Refused``.
                When all of them choose by method alone (``decides_by_method``), each is
                run once per method at start; otherwise grpc runs them all per call.
            health_probe_interval: seconds between reads that check the backend answers
                (health NOT_SERVING while it does not); None: no probe.
            health_probe_timeout: how long one probe may wait for an answer; generous, so
                that a busy backend is not taken for a dead one.
            reuse_port: share the port with other processes that set it too (SO_REUSEPORT;
                the kernel spreads connections over them): ``serve --workers N``. Off, a
                second gateway on a taken port fails to start instead of joining silently.
            request_timeout: how long a call may take to deliver its request message
                (``--deadline-seconds``; the client's deadline when that is sooner), then
                DEADLINE_EXCEEDED; None: the client's deadline only (see ``intake``).
            connection_limits: bounds on connections (handshake, idle, age, keepalive,
                pings, streams); None: the defaults (see ``connections``).
            reflection: serve gRPC server reflection.
            local_ports: more addresses to serve without TLS, for this process's own
                clients (the web console's private ``unix:`` socket); every interceptor
                applies to their calls as to any other.
        """
        limits = connection_limits or ConnectionLimits()
        drain = DrainInterceptor()
        # Intake first, to read and parse every request itself; the refusal of what it
        # could not take in last, so drain, tracing and metrics see that call too.
        chain = [IntakeInterceptor(request_timeout), drain, *interceptors, RefusalInterceptor()]
        # When every interceptor chooses by method alone (the gateway's own always do),
        # they are run once per method here, not by grpc on every call.
        once = all(decides_by_method(interceptor) for interceptor in chain)
        server = grpc.aio.server(
            interceptors=None if once else chain,
            options=[
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.so_reuseport", 1 if reuse_port else 0),
                *limits.server_options(),
                *options,
            ],
        )
        registry = _Registry()
        target = cast(grpc.aio.Server, registry) if once else server
        pb_grpc.add_CheckpointServiceServicer_to_server(  # type: ignore[no-untyped-call]
            CheckpointServicer(
                store,
                max_response_bytes=max_message_bytes,
                max_json_length=max_metadata_bytes,
                # The registry's handlers pass encoded replies through (_Registry.find).
                encoded_replies=once,
            ),
            target,
        )
        health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, target)
        if reflection:
            reflection_service.enable([SERVICE_NAME, HEALTH_SERVICE_NAME], target)
        if once:
            resolved = await _ResolvedHandlers.resolve(registry, _served_methods(reflection), chain)
            server.add_generic_rpc_handlers((resolved,))
        try:
            if credentials is None:
                port = server.add_insecure_port(listen)
            else:
                port = server.add_secure_port(listen, credentials)
            for address in local_ports:
                server.add_insecure_port(address)
        except RuntimeError as exc:
            raise ListenError(
                f"cannot listen on {listen}: address in use or not available"
            ) from exc
        await server.start()
        for service in ("", SERVICE_NAME):
            await health.set(service, health_pb2.HealthCheckResponse.SERVING)
        gateway = cls(server, health, drain, store, port)
        if health_probe_interval is not None:
            gateway._prober = asyncio.create_task(
                gateway._probe_health(health_probe_interval, health_probe_timeout),
                name="checkpoint-gateway-health-probe",
            )
        return gateway

    async def stop(self, grace: float | None = 10.0) -> None:
        """Drain and stop: health NOT_SERVING, refuse new calls, let in-flight calls finish
        for up to ``grace`` seconds, then close the store. Safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
        await self._health.enter_graceful_shutdown()
        self._drain.draining = True
        try:
            await asyncio.wait_for(self._drain.wait_idle(), grace)
        except TimeoutError:
            log.warning(
                "grace period over with %d calls in flight; cancelling them",
                self._drain.in_flight,
            )
        await self._server.stop(0)
        await self.store.close()

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()
