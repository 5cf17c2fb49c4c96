"""What the client takes: TLS credentials, metadata, a deadline per call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from checkpoint_client import AsyncCheckpointClient, Checkpoint, DeadlineExceeded, Unavailable
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import MemoryStore
from tests.certs import self_signed

from .test_gateway import GatedStore


def make_cert(directory: Path, name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for 127.0.0.1/localhost (it is its own CA): (key, cert)."""
    key, cert = self_signed(directory, name)
    return key.read_bytes(), cert.read_bytes()


async def test_tls(tmp_path: Path) -> None:
    key, cert = make_cert(tmp_path, "server")
    creds = grpc.ssl_server_credentials([(key, cert)])
    gw = await Gateway.start(MemoryStore(), credentials=creds)
    try:
        target = f"127.0.0.1:{gw.port}"
        secure = grpc.ssl_channel_credentials(root_certificates=cert)
        async with AsyncCheckpointClient(target, credentials=secure) as client:
            saved = await client.save(Checkpoint("run", {"tls": True}))
            assert (await client.load("run", saved.checkpoint_id)).state == {"tls": True}
        # A plaintext client cannot talk to a TLS gateway.
        async with AsyncCheckpointClient(target, timeout=5) as plain:
            with pytest.raises(Unavailable):
                await plain.latest("run")
    finally:
        await gw.stop(grace=1)


async def test_mutual_tls_requires_a_client_certificate(tmp_path: Path) -> None:
    key, cert = make_cert(tmp_path, "server")
    client_key, client_cert = make_cert(tmp_path, "client")
    creds = grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_cert, require_client_auth=True
    )
    gw = await Gateway.start(MemoryStore(), credentials=creds)
    try:
        target = f"127.0.0.1:{gw.port}"
        with_cert = grpc.ssl_channel_credentials(cert, client_key, client_cert)
        async with AsyncCheckpointClient(target, credentials=with_cert) as client:
            await client.save(Checkpoint("run", {}))
        without = grpc.ssl_channel_credentials(root_certificates=cert)
        async with AsyncCheckpointClient(target, credentials=without, timeout=5) as client:
            with pytest.raises(Unavailable):
                await client.latest("run")
    finally:
        await gw.stop(grace=1)


class RecordingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Test double: records the metadata of every call it sees."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        self.seen.append(dict(details.invocation_metadata))
        return await continuation(details)


async def test_metadata_is_sent_with_every_call() -> None:
    recorder = RecordingInterceptor()
    gw = await Gateway.start(MemoryStore(), interceptors=[recorder])
    try:
        async with AsyncCheckpointClient(
            f"127.0.0.1:{gw.port}", metadata=[("authorization", "Bearer t0k"), ("x-team", "a")]
        ) as client:
            await client.save(Checkpoint("run", {}))
            await client.latest("run")
        assert len(recorder.seen) == 2
        for md in recorder.seen:
            assert md["authorization"] == "Bearer t0k"
            assert md["x-team"] == "a"
    finally:
        await gw.stop(grace=1)


async def test_deadline_per_call() -> None:
    store = GatedStore()
    store.gate = asyncio.Event()  # never opened: the save can only end by its deadline
    gw = await Gateway.start(store)
    try:
        async with AsyncCheckpointClient(f"127.0.0.1:{gw.port}", timeout=0.3) as client:
            with pytest.raises(DeadlineExceeded):
                await client.save(Checkpoint("run", {}))
    finally:
        store.gate.set()
        await gw.stop(grace=1)


async def test_the_langgraph_saver_takes_the_clients_options(tmp_path: Path) -> None:
    """GatewaySaver over TLS with metadata, as a sync and as an async context manager; and
    its deadline, against a store that never answers."""
    from langgraph.graph import END, START, StateGraph

    from checkpoint_client.langgraph import GatewaySaver

    key, cert = make_cert(tmp_path, "server")
    recorder = RecordingInterceptor()
    gw = await Gateway.start(
        MemoryStore(),
        credentials=grpc.ssl_server_credentials([(key, cert)]),
        interceptors=[recorder],
    )
    options: dict[str, Any] = {
        "credentials": grpc.ssl_channel_credentials(root_certificates=cert),
        "metadata": [("x-team", "a")],
    }

    def graph(saver: GatewaySaver) -> Any:
        builder = StateGraph(dict)
        builder.add_node("step", lambda state: {"n": state.get("n", 0) + 1})
        builder.add_edge(START, "step")
        builder.add_edge("step", END)
        return builder.compile(checkpointer=saver)

    try:
        target = f"127.0.0.1:{gw.port}"
        async with GatewaySaver(target, **options) as saver:
            config = {"configurable": {"thread_id": "async"}}
            assert await graph(saver).ainvoke({"n": 1}, config) == {"n": 2}

        def sync_run() -> Any:
            with GatewaySaver(target, **options) as saver:
                config = {"configurable": {"thread_id": "sync"}}
                graph(saver).invoke({"n": 5}, config)
                return graph(saver).get_state(config).values

        assert await asyncio.to_thread(sync_run) == {"n": 6}
        assert len(recorder.seen) >= 6
        assert all(md.get("x-team") == "a" for md in recorder.seen)
    finally:
        await gw.stop(grace=1)

    store = GatedStore()
    store.gate = asyncio.Event()  # never opened: a save can only end by its deadline
    gated = await Gateway.start(store)
    try:
        async with GatewaySaver(f"127.0.0.1:{gated.port}", timeout=0.3) as saver:
            with pytest.raises(DeadlineExceeded):
                await graph(saver).ainvoke({"n": 1}, {"configurable": {"thread_id": "t"}})
    finally:
        store.gate.set()
        await gated.stop(grace=1)
