"""A call that opens and never delivers its request (headers only, or half a message) is
ended by the call's deadline (``--deadline-seconds``), while other calls go on; before,
grpc waited for the message as long as the client kept the stream open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest

from checkpoint_client import AsyncCheckpointClient, Checkpoint
from tests.gateway_process import GatewayProcess

from . import h2

DEADLINE = 2.0  # --deadline-seconds of the gateway under test
SLACK = 3.0  # scheduling on a busy two-core machine; the bound is what is tested
SAVE = "/checkpoint_gateway.v1.CheckpointService/Save"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayProcess]:
    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--backend", "memory://", "--deadline-seconds", "2"],
        cwd=tmp_path,
    )
    try:
        gw.wait_listening()
        yield gw
    finally:
        assert gw.stop() == 0, gw.output()
    assert "Traceback" not in gw.output()


async def _never() -> AsyncIterator[bytes]:
    await asyncio.Event().wait()  # headers go out; the message never does
    yield b""


async def test_calls_that_never_send_their_request_are_ended(gateway: GatewayProcess) -> None:
    async with grpc.aio.insecure_channel(gateway.target) as channel:
        stalled = channel.stream_unary(SAVE, request_serializer=None, response_deserializer=None)
        started = time.monotonic()
        calls = [asyncio.ensure_future(stalled(_never())) for _ in range(100)]  # no timeout
        async with AsyncCheckpointClient(gateway.target, timeout=10) as client:
            # Meanwhile the gateway serves everyone else, on its own connection and this one.
            for i in range(20):
                assert (await client.save(Checkpoint("run", {"i": i}))).version == i + 1
        results = await asyncio.gather(*calls, return_exceptions=True)
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE + SLACK
    for result in results:
        assert isinstance(result, grpc.aio.AioRpcError), result
        assert result.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "no request message arrived" in (result.details() or "")


@pytest.mark.parametrize(
    "message",
    [b"", b"\x00\x00\x00\x00\x64" + b"x" * 10],
    ids=["headers only", "half a message"],
)
def test_a_raw_stream_without_its_message_is_ended(gateway: GatewayProcess, message: bytes) -> None:
    assert gateway.port is not None
    conn = h2.RawConnection(gateway.port)
    try:
        conn.handshake()
        conn.start_call(SAVE)
        if message:
            conn.send(h2.frame(h2.DATA, 0, 1, message))
        started = time.monotonic()
        ended = None
        while ended is None and time.monotonic() - started < DEADLINE + SLACK:
            trailers = conn.wait_for(h2.HEADERS, 1, 0.2)
            if trailers is not None and trailers.flags & h2.END_STREAM:
                ended = trailers
            ended = ended or conn.wait_for(h2.RST_STREAM, 1, 0)
        assert ended is not None, "stream 1 is still open"
        assert time.monotonic() - started < DEADLINE + SLACK
    finally:
        conn.close()
