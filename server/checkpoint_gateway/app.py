"""Assemble and run a gateway: gRPC server, servicer, health, reflection, shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import _async as health_aio  # what grpc_health.v1.health.aio re-exports
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from checkpoint_client import CheckpointStore
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2 as pb
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc

from .service import CheckpointServicer

log = logging.getLogger("checkpoint_gateway")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CheckpointService"].full_name


class Gateway:
    """A running gateway around a store. Build it with ``Gateway.start``.

    Attributes:
        port: the port it listens on (useful when started on port 0).
    """

    def __init__(
        self,
        server: grpc.aio.Server,
        health: health_aio.HealthServicer,
        store: CheckpointStore,
        port: int,
    ) -> None:
        self._server = server
        self._health = health
        self.store = store
        self.port = port
        self._stopped = asyncio.Event()

    @classmethod
    async def start(
        cls,
        store: CheckpointStore,
        *,
        listen: str = "127.0.0.1:0",
        max_message_bytes: int = 33 * 1024 * 1024,
        options: Sequence[tuple[str, Any]] = (),
    ) -> Gateway:
        """Serve ``store`` on ``listen`` (``host:port``; port 0 picks a free one)."""
        server = grpc.aio.server(
            options=[
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.so_reuseport", 0),
                *options,
            ]
        )
        pb_grpc.add_CheckpointServiceServicer_to_server(  # type: ignore[no-untyped-call]
            CheckpointServicer(store, max_response_bytes=max_message_bytes), server
        )
        health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health, server)
        reflection.enable_server_reflection(
            [
                SERVICE_NAME,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        port = server.add_insecure_port(listen)
        if port == 0:
            raise OSError(f"cannot listen on {listen}")
        await server.start()
        for service in ("", SERVICE_NAME):
            await health.set(service, health_pb2.HealthCheckResponse.SERVING)
        return cls(server, health, store, port)

    async def stop(self, grace: float | None = 10.0) -> None:
        """Drain and stop: health NOT_SERVING, refuse new calls, let in-flight calls finish
        for up to ``grace`` seconds, then close the store. Safe to call twice."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        await self._health.enter_graceful_shutdown()
        await self._server.stop(grace)
        await self.store.close()

    async def wait_for_termination(self) -> None:
        await self._server.wait_for_termination()
