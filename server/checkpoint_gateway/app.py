"""Assemble and run a gateway: gRPC server, servicer, health, reflection, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import _async as health_aio  # what grpc_health.v1.health.aio re-exports
from grpc_health.v1 import health_pb2, health_pb2_grpc

from checkpoint_client import CheckpointError, CheckpointStore, DeadlineExceeded, Unavailable
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2 as pb
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc

from . import context
from . import reflection as reflection_service
from .connections import ConnectionLimits
from .intake import IntakeInterceptor, RefusalInterceptor
from .service import CheckpointServicer

log = logging.getLogger("checkpoint_gateway")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CheckpointService"].full_name
_SERVICE_PREFIX = f"/{SERVICE_NAME}/"

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


class DrainInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Counts in-flight checkpoint calls and, once draining, refuses new ones.

    grpc's own ``server.stop`` rejects late calls as CANCELLED, which a client cannot tell
    from its own cancellation; UNAVAILABLE says "retry, elsewhere". Health and reflection
    are left alone so probes keep answering (NOT_SERVING) while the gateway drains.
    """

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

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
            self.idle.clear()
            try:
                return await inner(request, context)
            finally:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self.idle.set()

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
        server = grpc.aio.server(
            # Intake first, to read and parse every request itself; the refusal of what
            # it could not take in last, so drain, tracing and metrics see that call too.
            interceptors=[
                IntakeInterceptor(request_timeout),
                drain,
                *interceptors,
                RefusalInterceptor(),
            ],
            options=[
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.so_reuseport", 1 if reuse_port else 0),
                *limits.server_options(),
                *options,
            ],
        )
        pb_grpc.add_CheckpointServiceServicer_to_server(  # type: ignore[no-untyped-call]
            CheckpointServicer(
                store,
                max_response_bytes=max_message_bytes,
                max_json_length=max_metadata_bytes,
            ),
            server,
        )
        health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        if reflection:
            reflection_service.enable(
                [SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name],
                server,
            )
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
            await asyncio.wait_for(self._drain.idle.wait(), grace)
        except TimeoutError:
            log.warning(
                "grace period over with %d calls in flight; cancelling them",
                self._drain.in_flight,
            )
        await self._server.stop(0)
        await self.store.close()

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()
