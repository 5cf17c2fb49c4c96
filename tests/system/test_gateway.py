"""The gateway around a store: health, reflection, error mapping, drain, response size."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from checkpoint_client import (
    AsyncCheckpointClient,
    Checkpoint,
    InternalError,
    NotFound,
    Unavailable,
    iter_checkpoints,
)
from checkpoint_client import _convert as c
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import MemoryStore


class GatedStore(MemoryStore):
    """Test double: a memory store whose saves can be held at a gate, or made to fail
    with an unexpected exception (a stand-in for a defective backend)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()
        self.fail_with: BaseException | None = None
        self.closed = False

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        if self.fail_with is not None:
            raise self.fail_with
        if self.gate is not None:
            self.entered.set()
            await self.gate.wait()
        return await super()._save(checkpoint, expected_version)

    async def close(self) -> None:
        self.closed = True
        await super().close()


async def _call_until_refused(client: AsyncCheckpointClient) -> None:
    while True:
        with pytest.raises(NotFound):
            await client.latest("run")


@pytest.fixture
async def gated() -> Any:
    store = GatedStore()
    gw = await Gateway.start(store)
    yield store, gw
    await gw.stop(grace=1)


async def test_health_serving_then_not_serving_on_stop(gated: Any) -> None:
    _, gw = gated
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "checkpoint_gateway.v1.CheckpointService"):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=5)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_services() -> None:
    async def start() -> Gateway:
        return await Gateway.start(MemoryStore())

    loop = asyncio.new_event_loop()
    gw = loop.run_until_complete(start())
    try:
        # The reflection client is synchronous; serve from a thread meanwhile.
        import threading

        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        with grpc.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
            services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
        assert {"checkpoint_gateway.v1.CheckpointService", "grpc.health.v1.Health"} <= services
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
    finally:
        loop.run_until_complete(gw.stop(grace=1))
        loop.close()


async def test_unexpected_errors_are_internal_without_details(gated: Any) -> None:
    store, gw = gated
    store.fail_with = RuntimeError("password=hunter2 at /secret/path")
    async with AsyncCheckpointClient(f"127.0.0.1:{gw.port}") as client:
        with pytest.raises(InternalError) as err:
            await client.save(Checkpoint("run", {}))
        assert re.fullmatch(r"internal error \(error id [0-9a-f]{16}\)", str(err.value))
        assert "hunter2" not in str(err.value)
        # The gateway keeps serving.
        with pytest.raises(NotFound):
            await client.latest("run")


async def test_drain_finishes_in_flight_calls_and_refuses_new_ones(gated: Any) -> None:
    store, gw = gated
    store.gate = asyncio.Event()
    target = f"127.0.0.1:{gw.port}"
    async with AsyncCheckpointClient(target) as client:
        in_flight = asyncio.create_task(client.save(Checkpoint("run", {"x": 1})))
        await store.entered.wait()
        stopping = asyncio.create_task(gw.stop(grace=10))
        async with AsyncCheckpointClient(target, timeout=5) as late:
            # Poll until the gateway stops accepting: NotFound while it still serves.
            with pytest.raises(Unavailable):
                await _call_until_refused(late)
        assert not in_flight.done()
        store.gate.set()
        saved = await in_flight
        assert saved.version == 1
        await stopping
    assert store.closed


async def test_list_pages_are_cut_to_fit_the_message_limit() -> None:
    store = MemoryStore()
    gw = await Gateway.start(store, max_message_bytes=300 * 1024)
    try:
        for i in range(10):
            await store.save(Checkpoint("run", bytes([i]) * (100 * 1024)))
        async with AsyncCheckpointClient(f"127.0.0.1:{gw.port}") as client:
            page = await client.list("run", limit=10)
            assert 1 <= len(page.checkpoints) < 3
            assert page.next_page_token
            versions = [cp.version async for cp in iter_checkpoints(client, "run", page_size=10)]
            assert versions == list(range(10, 0, -1))
    finally:
        await gw.stop(grace=1)


async def test_raw_requests_with_missing_fields_are_invalid_not_internal(gated: Any) -> None:
    _, gw = gated
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
        stub = pb_grpc.CheckpointServiceStub(channel)
        calls = [
            stub.Save(c.pb.SaveRequest(), timeout=5),
            stub.Load(c.pb.LoadRequest(execution_id="run"), timeout=5),
            stub.Latest(c.pb.LatestRequest(), timeout=5),
            stub.List(c.pb.ListRequest(execution_id="run", page_size=-1), timeout=5),
            stub.List(c.pb.ListRequest(execution_id="run", metadata_filter="{bad"), timeout=5),
            stub.List(c.pb.ListRequest(execution_id="run", metadata_filter="[1]"), timeout=5),
            stub.Delete(c.pb.DeleteRequest(execution_id="run"), timeout=5),
            stub.Clear(c.pb.ClearRequest(), timeout=5),
            stub.PutWrites(
                c.pb.PutWritesRequest(
                    execution_id="run", checkpoint_id="x", writes=[c.pb.PendingWrite()]
                ),
                timeout=5,
            ),
            stub.Save(
                c.pb.SaveRequest(
                    checkpoint=c.pb.Checkpoint(execution_id="run", metadata="not json")
                ),
                timeout=5,
            ),
            stub.Save(
                c.pb.SaveRequest(checkpoint=c.pb.Checkpoint(execution_id="run", metadata="[1, 2]")),
                timeout=5,
            ),
            stub.Save(
                c.pb.SaveRequest(
                    checkpoint=c.pb.Checkpoint(execution_id="run"), expected_version=-1
                ),
                timeout=5,
            ),
        ]
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
        reply = await stub.List(c.pb.ListRequest(execution_id="run"), timeout=5)
        assert len(reply.checkpoints) == 0


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
async def test_reflection_answers_under_v1_and_v1alpha(version: str) -> None:
    """Current grpcurl asks ``grpc.reflection.v1`` first; older tools ask v1alpha."""
    from grpc_reflection.v1alpha import reflection_pb2

    gw = await Gateway.start(MemoryStore())
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
            call = channel.stream_stream(
                f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )
            requests = [
                reflection_pb2.ServerReflectionRequest(list_services=""),
                reflection_pb2.ServerReflectionRequest(
                    file_containing_symbol="checkpoint_gateway.v1.CheckpointService"
                ),
            ]
            replies = [reply async for reply in call(iter(requests), timeout=10)]
        services = {s.name for s in replies[0].list_services_response.service}
        assert {
            "checkpoint_gateway.v1.CheckpointService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        } <= services
        files = replies[1].file_descriptor_response.file_descriptor_proto
        assert files, replies[1]
    finally:
        await gw.stop(grace=1)
