"""Target (a), the ceiling: a grpc.aio server of our own proto that does no work.

It answers every CheckpointService RPC at once with a canned reply: ``Save`` with an id,
version and timestamp; ``SaveMany`` with one such result per item; ``Load`` and ``Latest``
with one checkpoint whose state is ``--state-bytes`` long; ``List`` with ``page_size`` such
checkpoints. So what it costs is what gRPC and protobuf cost to carry the same messages as
the gateway, and nothing else: no validation, no store chain, no backend, no
interceptors. No Python gRPC service on this machine answers these calls faster.

    python -m bench.bare_server --state-bytes 1024 [--listen 127.0.0.1:0]

Prints ``listening on HOST:PORT`` on stdout once it serves, stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from typing import Any

import grpc
import grpc.aio
from google.protobuf.timestamp_pb2 import Timestamp

from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2 as pb
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc
from checkpoint_gateway import loop as event_loop

MAX_MESSAGE_BYTES = 33 * 1024 * 1024  # the gateway's default (2 x 16 MiB states + 1 MiB)


class BareService(pb_grpc.CheckpointServiceServicer):
    """Every RPC answered from replies built once at start."""

    def __init__(self, state_bytes: int) -> None:
        now = Timestamp()
        now.FromNanoseconds(time.time_ns())
        self._checkpoint = pb.Checkpoint(
            execution_id="bare",
            checkpoint_id="0190a0a0-0000-7000-8000-000000000000",
            state=os.urandom(state_bytes),
            content_type="application/octet-stream",
            metadata='{"source":"loop","step":1}',
            node="agent",
            next_nodes=["tools"],
            created_at=now,
            version=1,
        )
        self._save = pb.SaveResponse(
            checkpoint_id=self._checkpoint.checkpoint_id, version=1, created_at=now
        )
        self._one = pb.LoadResponse(checkpoint=self._checkpoint)
        self._latest = pb.LatestResponse(checkpoint=self._checkpoint)
        self._pages: dict[int, pb.ListResponse] = {}
        self._batches: dict[int, pb.SaveManyResponse] = {}

    async def Save(self, request: Any, context: Any) -> Any:
        return self._save

    async def SaveMany(self, request: Any, context: Any) -> Any:
        count = len(request.saves)
        reply = self._batches.get(count)
        if reply is None:
            result = pb.SaveResult(saved=self._save)
            reply = self._batches[count] = pb.SaveManyResponse(results=[result] * count)
        return reply

    async def Load(self, request: Any, context: Any) -> Any:
        return self._one

    async def Latest(self, request: Any, context: Any) -> Any:
        return self._latest

    async def List(self, request: Any, context: Any) -> Any:
        size = request.page_size or 50
        page = self._pages.get(size)
        if page is None:
            page = self._pages[size] = pb.ListResponse(checkpoints=[self._checkpoint] * size)
        return page

    async def Delete(self, request: Any, context: Any) -> Any:
        return pb.DeleteResponse(deleted=False)

    async def Clear(self, request: Any, context: Any) -> Any:
        return pb.ClearResponse(deleted=0)

    async def PutWrites(self, request: Any, context: Any) -> Any:
        return pb.PutWritesResponse(stored=len(request.writes))


async def serve(listen: str, state_bytes: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The same message limits and port options as the gateway's server.
    server = grpc.aio.server(
        options=[
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ]
    )
    pb_grpc.add_CheckpointServiceServicer_to_server(  # type: ignore[no-untyped-call]
        BareService(state_bytes), server
    )
    port = server.add_insecure_port(listen)
    await server.start()
    print(f"listening on {listen.rpartition(':')[0]}:{port}", flush=True)
    await stop.wait()
    await server.stop(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--state-bytes", type=int, default=1024)
    parser.add_argument(
        "--event-loop",
        default="auto",
        choices=event_loop.CHOICES,
        help="the same choice as the gateway's (auto: uvloop when installed), so the "
        "ceiling runs on the loop the gateway runs on",
    )
    args = parser.parse_args()
    event_loop.run(lambda: serve(args.listen, args.state_bytes), args.event_loop)
    sys.exit(0)


if __name__ == "__main__":
    main()
