"""The per-call path: interceptors resolved once per method, large states copied once.

``app.Gateway.start`` runs interceptors that choose by method alone once per method, not
per call; ``wire.split_save_request`` takes a large state out of a Save request before
protobuf parses it; the client and the servicer encode messages that carry a large state
themselves (``_convert.checkpoint_field``). Each must give what protobuf gives.
"""

from __future__ import annotations

import asyncio
import os
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from checkpoint_client import AsyncCheckpointClient, Checkpoint, Conflict
from checkpoint_client import _convert as c
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc
from checkpoint_gateway import app
from checkpoint_gateway.app import Gateway, decides_by_method
from checkpoint_gateway.backends import MemoryStore
from checkpoint_gateway.instrumented import RpcObserver
from checkpoint_gateway.intake import IntakeInterceptor, RefusalInterceptor
from checkpoint_gateway.service import CheckpointServicer
from checkpoint_gateway.wire import SPLIT_THRESHOLD, SplitSave, split_save_request

MiB = 1024 * 1024
SAVE = "/checkpoint_gateway.v1.CheckpointService/Save"


def _merged(parsed: c.pb.SaveRequest | SplitSave) -> c.pb.SaveRequest:
    if isinstance(parsed, SplitSave):
        message = c.pb.SaveRequest()
        message.CopyFrom(parsed.message)
        message.checkpoint.state = parsed.state
        return message
    return parsed


def _request(state: bytes, **fields: Any) -> c.pb.SaveRequest:
    return c.pb.SaveRequest(
        checkpoint=c.pb.Checkpoint(
            execution_id="run",
            checkpoint_id="0190a0a0-0000-7000-8000-000000000001",
            state=state,
            metadata='{"step": 1}',
            next_nodes=["tools"],
            channels=[c.pb.Channel(name="messages", version="1", value=b"[]")],
            **fields,
        ),
        expected_version=3,
    )


# -- the Save parser -------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    size=st.sampled_from([0, 10, SPLIT_THRESHOLD - 200, SPLIT_THRESHOLD, 3 * SPLIT_THRESHOLD]),
    namespace=st.text(max_size=5),
    version=st.one_of(st.none(), st.integers(0, 2**40)),
)
def test_split_parses_as_protobuf_does(size: int, namespace: str, version: int | None) -> None:
    request = _request(os.urandom(size), namespace=namespace)
    if version is None:
        request.ClearField("expected_version")
    else:
        request.expected_version = version
    raw = request.SerializeToString()
    parsed = split_save_request(raw)
    assert isinstance(parsed, SplitSave) == (len(raw) >= SPLIT_THRESHOLD and size > 0)
    assert _merged(parsed) == c.pb.SaveRequest.FromString(raw)


def test_what_protobuf_would_merge_is_parsed_whole() -> None:
    """A second checkpoint field (protobuf merges it into the first) and a second state
    (the last wins) are left to protobuf: the request is parsed whole."""
    big = _request(os.urandom(SPLIT_THRESHOLD)).SerializeToString()
    merged = big + c.pb.SaveRequest(checkpoint=c.pb.Checkpoint(node="x")).SerializeToString()
    inner = _request(os.urandom(SPLIT_THRESHOLD)).checkpoint.SerializeToString()
    inner += c.pb.Checkpoint(state=b"last wins").SerializeToString()
    twice = b"\x0a" + c._varint(len(inner)) + inner
    for raw in (merged, twice):
        parsed = split_save_request(raw)
        assert not isinstance(parsed, SplitSave)
        assert parsed == c.pb.SaveRequest.FromString(raw)
    assert c.pb.SaveRequest.FromString(merged).checkpoint.node == "x"
    assert c.pb.SaveRequest.FromString(twice).checkpoint.state == b"last wins"


@pytest.mark.parametrize("cut", [1, 7, 100, SPLIT_THRESHOLD // 2])
def test_a_truncated_request_fails_as_protobuf_fails(cut: int) -> None:
    raw = _request(os.urandom(SPLIT_THRESHOLD * 2)).SerializeToString()[:-cut]
    with pytest.raises(DecodeError):
        c.pb.SaveRequest.FromString(raw)
    with pytest.raises(DecodeError):
        split_save_request(raw)


def test_split_copies_the_state_once() -> None:
    """Python allocates one state's worth parsing a large request: the state's slice.
    (protobuf's arena is not traced; its copy is the one this avoids.)"""
    raw = _request(os.urandom(4 * MiB)).SerializeToString()
    tracemalloc.start()
    try:
        parsed = split_save_request(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(parsed, SplitSave)
    assert len(parsed.state) == 4 * MiB
    assert peak < 4.25 * MiB


# -- the client's and the servicer's encodings ----------------------------------------------


@pytest.mark.parametrize("size", [0, 100, c.SPLICE_THRESHOLD, MiB])
@pytest.mark.parametrize("expected", [None, 0, 7])
def test_the_clients_save_request_is_protobufs(size: int, expected: int | None) -> None:
    cp = Checkpoint(
        "run",
        os.urandom(size),
        checkpoint_id="abc",
        parent_id="p",
        node="agent",
        next_nodes=["tools"],
        metadata={"step": 2},
    )
    built = c.save_request(cp, expected)
    encoded = built if isinstance(built, bytes) else built.SerializeToString()
    assert isinstance(built, bytes) == (size >= c.SPLICE_THRESHOLD)
    reference = c.pb.SaveRequest(checkpoint=c.checkpoint_to_pb(cp), expected_version=expected)
    assert c.pb.SaveRequest.FromString(encoded) == reference


def _handler(servicer: CheckpointServicer, method: str) -> grpc.RpcMethodHandler[Any, Any]:
    registry = app._Registry()
    pb_grpc.add_CheckpointServiceServicer_to_server(servicer, registry)  # type: ignore[no-untyped-call]
    handler = registry.find(method)
    assert handler is not None
    return handler


class _Context:
    """Enough of a servicer context for the servicer's handlers."""

    def time_remaining(self) -> float:
        return 10.0

    def done(self) -> bool:
        return False

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise AssertionError(f"aborted: {code} {details}")


class _Recording(MemoryStore):
    """Remembers the state objects it was asked to save."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bytes] = []

    async def save(self, checkpoint: Checkpoint, *, expected_version: int | None = None) -> Any:
        self.seen.append(checkpoint.state_bytes)
        return await super().save(checkpoint, expected_version=expected_version)


async def test_a_large_state_reaches_the_store_as_the_object_parsed_from_the_wire() -> None:
    """Between the parser and the backend no layer copies the state: the store gets the
    very bytes object sliced from the request, and Python allocates one state's worth
    for the whole call."""
    store = _Recording()
    from checkpoint_gateway import chain, config
    from checkpoint_gateway.metrics import Metrics

    observed = chain.build(store, config.Settings(), metrics=Metrics(process=False))
    handler = _handler(CheckpointServicer(observed, max_response_bytes=64 * MiB), SAVE)
    message = _request(os.urandom(2 * MiB))
    message.ClearField("expected_version")
    raw = message.SerializeToString()
    request = handler.request_deserializer(raw)  # type: ignore[misc]
    assert isinstance(request, SplitSave)
    tracemalloc.start()
    try:
        reply = await handler.unary_unary(request, _Context())  # type: ignore[misc]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reply.version == 1
    assert store.seen[0] is request.state
    assert peak < 0.5 * MiB  # no copy of the state anywhere on the way


@pytest.mark.parametrize("method", ["Load", "Latest"])
async def test_a_reply_with_a_large_state_is_protobufs_encoding(method: str) -> None:
    store = MemoryStore()
    saved = await store.save(Checkpoint("run", os.urandom(MiB), metadata={"a": 1}))
    servicer = CheckpointServicer(store, max_response_bytes=64 * MiB, encoded_replies=True)
    handler = _handler(servicer, f"/checkpoint_gateway.v1.CheckpointService/{method}")
    request_type = getattr(c.pb, f"{method}Request")
    request = request_type(execution_id="run")
    if method == "Load":
        request.checkpoint_id = saved.checkpoint_id
    tracemalloc.start()
    try:
        reply = await handler.unary_unary(request, _Context())  # type: ignore[misc]
        encoded = handler.response_serializer(reply)  # type: ignore[misc]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(reply, bytes)
    assert peak < 1.25 * MiB  # the one join
    reply_type = getattr(c.pb, f"{method}Response")
    found = await store.load("run", saved.checkpoint_id)
    assert reply_type.FromString(encoded) == reply_type(checkpoint=c.checkpoint_to_pb(found))


# -- end to end -----------------------------------------------------------------------------


async def test_large_states_round_trip_through_a_gateway() -> None:
    """Saved by the client's encoding, parsed by the split, read back by every reply the
    servicer encodes itself; pages cut to the message limit as before."""
    gateway = await Gateway.start(MemoryStore(), max_message_bytes=3 * MiB + 512 * 1024)
    try:
        async with AsyncCheckpointClient(f"127.0.0.1:{gateway.port}") as client:
            states = [os.urandom(MiB + n) for n in range(4)]
            saved = []
            for n, state in enumerate(states):
                cp = Checkpoint("run", state, metadata={"n": n}, node="agent")
                saved.append(await client.save(cp, expected_version=n))
            with pytest.raises(Conflict):
                await client.save(Checkpoint("run", states[0]), expected_version=0)
            assert (await client.load("run", saved[1].checkpoint_id)).state == states[1]
            assert (await client.latest("run")).state == states[3]
            first = await client.list("run", limit=4)
            # Four 1 MiB states do not fit a 3.5 MiB message: the page stops early.
            assert 1 <= len(first.checkpoints) < 4
            assert first.next_page_token
            rest = await client.list("run", limit=4, page_token=first.next_page_token)
            read = [cp.state for cp in [*first.checkpoints, *rest.checkpoints]]
            assert read == states[::-1][: len(read)]
    finally:
        await gateway.stop(grace=1)


# -- interceptors once per method ------------------------------------------------------------


class _CountingObserver(RpcObserver):
    def __init__(self) -> None:
        super().__init__(None)
        self.resolved = 0

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        self.resolved += 1
        return await super().intercept_service(continuation, handler_call_details)


async def test_interceptors_that_choose_by_method_run_once_per_method() -> None:
    counting = _CountingObserver()
    gateway = await Gateway.start(
        MemoryStore(), interceptors=[counting], health_probe_interval=None
    )
    try:
        at_start = counting.resolved
        assert at_start == len(app._served_methods(True))
        async with AsyncCheckpointClient(f"127.0.0.1:{gateway.port}") as client:
            for n in range(5):
                await client.save(Checkpoint("run", {"n": n}))
            assert (await client.latest("run")).state == {"n": 4}
        assert counting.resolved == at_start
    finally:
        await gateway.stop(grace=1)


def test_which_interceptors_choose_by_method() -> None:
    from checkpoint_gateway.tracing import Tracing

    class Other(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
        async def intercept_service(self, continuation: Any, details: Any) -> Any:
            return await continuation(details)

    assert decides_by_method(IntakeInterceptor(1.0))
    assert decides_by_method(RefusalInterceptor())
    assert decides_by_method(app.DrainInterceptor())
    assert decides_by_method(RpcObserver(None))
    assert not decides_by_method(Other())
    from opentelemetry.sdk.trace import TracerProvider

    assert decides_by_method(Tracing(TracerProvider()).server_interceptor(app.SERVICE_NAME))


def test_reading_the_metadata_while_resolving_is_refused_loudly() -> None:
    details = app._MethodOnly(SAVE)
    assert details.method == SAVE
    with pytest.raises(AttributeError, match="by method alone"):
        _ = details.invocation_metadata
    assert not isinstance(details, grpc.HandlerCallDetails)


async def test_the_drain_waits_only_when_calls_are_in_flight() -> None:
    drain = app.DrainInterceptor()
    drain.draining = True
    await asyncio.wait_for(drain.wait_idle(), 1)  # none in flight: at once


class _Hung(MemoryStore):
    """A backend whose saves never answer."""

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_one_timer_cuts_a_hung_backend_off_as_two_did() -> None:
    """The servicer's timer alone bounds the resilient layer's attempt (it sets none of
    its own for the same deadline): the caller gets DEADLINE_EXCEEDED, the breaker counts
    a failure, and the metrics say DeadlineExceeded, not a cancellation."""
    from checkpoint_client import DeadlineExceeded
    from checkpoint_gateway import chain, config
    from checkpoint_gateway.metrics import Metrics
    from checkpoint_gateway.resilience import ResilientStore

    metrics = Metrics(process=False)
    store = chain.build(_Hung(), config.Settings(), metrics=metrics)
    gateway = await Gateway.start(store, health_probe_interval=None)
    try:
        async with AsyncCheckpointClient(
            f"127.0.0.1:{gateway.port}", timeout=0.4, service_config=None
        ) as client:
            with pytest.raises(DeadlineExceeded):
                await client.save(Checkpoint("run", {"n": 1}))
        resilient = store._inner  # type: ignore[attr-defined]
        assert isinstance(resilient, ResilientStore)
        assert resilient.breaker.consecutive_failures == 1
        for family, labels in (
            ("checkpoint_gateway_operations_total", ("save", "memory")),
            ("checkpoint_gateway_backend_attempts_total", ("memory", "save")),
        ):
            names = (
                ("operation", "backend")
                if family.endswith("operations_total")
                else (
                    "backend",
                    "operation",
                )
            )
            sample = dict(zip(names, labels, strict=True))
            assert (
                metrics.registry.get_sample_value(family, {**sample, "outcome": "DeadlineExceeded"})
                == 1
            )
    finally:
        await gateway.stop(grace=1)
