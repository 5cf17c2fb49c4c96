"""The saver's serializer is pluggable: LangGraph's ``EncryptedSerializer`` (AES, from
pycryptodome) through ``GatewaySaver`` and a real gateway, on every backend. The graph reads
back what it wrote; what the gateway holds is ciphertext; a saver without the key cannot
read it."""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.graph import END, START, StateGraph

from checkpoint_client import AsyncCheckpointClient, Checkpoint
from checkpoint_client.langgraph import GatewaySaver
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import Backend
from checkpoint_gateway.validation import Limits

MakeBackend = Callable[..., Awaitable[Backend]]

SECRET = "the launch code is 0000"
KEY = bytes(range(32))


class Notes(TypedDict):
    notes: Annotated[list[str], operator.add]


def _graph(saver: GatewaySaver) -> Any:
    builder = StateGraph(Notes)
    builder.add_node("note", lambda state: {"notes": [f"{SECRET}, seen"]})
    builder.add_edge(START, "note")
    builder.add_edge("note", END)
    return builder.compile(checkpointer=saver)


def _stored_bytes(checkpoints: list[Checkpoint]) -> bytes:
    """Every value the gateway holds for these checkpoints: states, channel values and
    pending writes (not metadata, which LangGraph's savers keep as plain JSON too)."""
    out = b""
    for cp in checkpoints:
        out += cp.state if isinstance(cp.state, bytes) else repr(cp.state).encode()
        for channel in cp.channels.values():
            value = channel.value
            out += value if isinstance(value, bytes) else repr(value).encode()
        for write in cp.pending_writes:
            out += write.value if isinstance(write.value, bytes) else repr(write.value).encode()
    return out


async def test_encrypted_serializer_stores_ciphertext_and_reads_back(
    make_backend: MakeBackend,
) -> None:
    backend = await make_backend(limits=Limits())
    gateway = await Gateway.start(backend, listen="127.0.0.1:0")
    target = f"127.0.0.1:{gateway.port}"
    encrypted = {"configurable": {"thread_id": "encrypted"}}
    plain = {"configurable": {"thread_id": "plain"}}
    try:
        serde = EncryptedSerializer.from_pycryptodome_aes(key=KEY)
        async with GatewaySaver(target, serde=serde, timeout=30) as saver:
            out = await _graph(saver).ainvoke({"notes": [SECRET]}, encrypted)
            assert out == {"notes": [SECRET, f"{SECRET}, seen"]}
            assert (await _graph(saver).aget_state(encrypted)).values == out
        async with GatewaySaver(target, timeout=30) as unkeyed:
            # The same graph without encryption stores the text as it is: the check below
            # can see plaintext where there is some.
            await _graph(unkeyed).ainvoke({"notes": [SECRET]}, plain)
            # Without the key, the encrypted thread cannot be read.
            with pytest.raises(NotImplementedError, match=r"msgpack\+aes"):
                await _graph(unkeyed).aget_state(encrypted)

        async with AsyncCheckpointClient(target) as raw:
            held = {}
            for name in ("encrypted", "plain"):
                page = await raw.list(name, all_namespaces=True, with_writes=True)
                assert page.checkpoints, name
                held[name] = _stored_bytes(page.checkpoints)
        assert SECRET.encode() in held["plain"]
        assert SECRET.encode() not in held["encrypted"]
    finally:
        await gateway.stop(grace=1.0)
