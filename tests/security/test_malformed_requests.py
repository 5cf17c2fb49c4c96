"""Bytes that are no valid request message get INVALID_ARGUMENT with a plain message, on
every method the gateway serves, and leave no error or traceback in its log."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2

from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2 as pb
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import MemoryStore

SERVICE = pb.DESCRIPTOR.services_by_name["CheckpointService"]
METHODS = [f"/{SERVICE.full_name}/{m.name}" for m in SERVICE.methods] + [
    "/grpc.health.v1.Health/Check"
]

# Each fails to parse as any of the request types (checked below).
MALFORMED = {
    # Fields 1 and 2: ListExecutionsRequest's first string field is its second.
    "invalid UTF-8 in a string field": bytes.fromhex("0a01ff1201ff"),
    "a group start tag": bytes.fromhex("0b"),
    "a truncated tag": bytes.fromhex("ff"),
    "a truncated varint": bytes.fromhex("1080"),
    "a length past the end": bytes.fromhex("0a05"),
    "field number 0": bytes.fromhex("0001"),
    "an end-group tag alone": bytes.fromhex("0c"),
    "groups nested past the parser's limit": bytes([0x7B]) * 200 + bytes([0x7C]) * 200,
}


def test_the_payloads_are_malformed_for_every_request_type() -> None:
    from google.protobuf.message import DecodeError

    types = [m.input_type._concrete_class for m in SERVICE.methods]
    for payload in MALFORMED.values():
        for cls in [*types, health_pb2.HealthCheckRequest]:
            with pytest.raises(DecodeError):
                cls.FromString(payload)


@pytest.fixture
async def channel(caplog: pytest.LogCaptureFixture) -> AsyncIterator[grpc.aio.Channel]:
    caplog.set_level(logging.INFO)
    gw = await Gateway.start(MemoryStore(), listen="127.0.0.1:0")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
            yield channel
    finally:
        await gw.stop(grace=1)
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [r.getMessage() for r in bad]


def assert_plain(details: str | None, method: str) -> None:
    assert details == f"the request is not a valid message for {method}"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_unary_requests_are_invalid_argument(
    channel: grpc.aio.Channel, method: str, payload: bytes
) -> None:
    raw = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await raw(payload, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert_plain(err.value.details(), method)


async def test_the_gateway_keeps_serving_on_that_connection(channel: grpc.aio.Channel) -> None:
    raw = channel.unary_unary(
        "/grpc.health.v1.Health/Check", request_serializer=None, response_deserializer=None
    )
    for _ in range(20):
        with pytest.raises(grpc.aio.AioRpcError):
            await raw(bytes.fromhex("0a01ff"), timeout=10)
    reply = await raw(health_pb2.HealthCheckRequest().SerializeToString(), timeout=10)
    assert health_pb2.HealthCheckResponse.FromString(reply).status == 1


async def test_a_malformed_health_watch_request_is_invalid_argument(
    channel: grpc.aio.Channel,
) -> None:
    method = "/grpc.health.v1.Health/Watch"
    raw = channel.unary_stream(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in raw(bytes.fromhex("0a01ff"), timeout=10):
            pass
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert_plain(err.value.details(), method)


async def test_a_malformed_reflection_request_ends_the_stream(channel: grpc.aio.Channel) -> None:
    method = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
    raw = channel.stream_stream(method, request_serializer=None, response_deserializer=None)
    call = raw(iter([bytes.fromhex("0a01ff")]), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in call:
            pass
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert_plain(err.value.details(), method)


async def test_a_call_without_a_request_message_is_invalid_argument(
    channel: grpc.aio.Channel,
) -> None:
    method = f"/{SERVICE.full_name}/Latest"
    raw = channel.stream_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await raw(iter([]), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == "the call carried no request message"
