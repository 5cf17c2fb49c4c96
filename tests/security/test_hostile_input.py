"""Hostile requests get INVALID_ARGUMENT (or are stored, when harmless), never INTERNAL,
on every backend and through a real gateway: the fields the gateway sets, JSON nested
too deeply, lone surrogates, and SaveMany items carrying any of these."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import grpc.aio
import pytest

from checkpoint_client import Checkpoint, CheckpointStore, InvalidArgument
from checkpoint_client import _convert as c
from checkpoint_client._codec import MAX_JSON_DEPTH
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends import Backend

INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]

# created_at values a Save might carry: out of datetime's range, invalid, extreme.
HOSTILE_TIMESTAMPS = [
    {"seconds": 253402300800},  # year 10000
    {"seconds": 5, "nanos": -1},
    {"seconds": 2**63 - 1},
    {"seconds": -(2**63)},
    {"seconds": 1, "nanos": 10**9},
]


def nested(depth: int, leaf: str = "1") -> str:
    """JSON text of arrays and objects ``depth`` levels deep, as one object."""
    inner = leaf
    for i in range(depth - 1):
        inner = f"[{inner}]" if i % 2 else f'{{"k":{inner}}}'
    return f'{{"a":{inner}}}'


# Metadata JSON text that must be refused with INVALID_ARGUMENT.
BAD_METADATA = {
    "nested 1000 deep": nested(1000),
    "nested 100000 deep": '{"a":' + "[" * 100_000 + "]" * 100_000 + "}",
    f"nested {MAX_JSON_DEPTH + 1} deep": nested(MAX_JSON_DEPTH + 1),
    "lone high surrogate": '{"a":"\\ud800"}',
    "lone low surrogate in a key": '{"\\udc00":1}',
    "lone surrogate deep inside": '{"a":[{"b":"x\\udfffy"}]}',
    "not an object": "[1]",
    "not JSON": "{",
    "a number beyond 4300 digits": '{"a":' + "9" * 5000 + "}",
}


@pytest.fixture
async def stub(
    make_backend: Callable[..., Awaitable[Backend]], caplog: pytest.LogCaptureFixture
) -> AsyncIterator[pb_grpc.CheckpointServiceStub]:
    """A raw stub on a real gateway (port 0) over the test's backend. At the end: the
    gateway logged no error and no traceback."""
    caplog.set_level(logging.INFO)
    gw = await Gateway.start(await make_backend(), listen="127.0.0.1:0", max_metadata_bytes=4096)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gw.port}") as channel:
            yield pb_grpc.CheckpointServiceStub(channel)
    finally:
        await gw.stop(grace=1)
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [r.getMessage() for r in bad]


async def code_of(call: Any) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


# -- fields the gateway sets are ignored on input --------------------------------------------


@pytest.mark.parametrize("created_at", HOSTILE_TIMESTAMPS, ids=str)
async def test_save_ignores_created_at_version_and_pending_writes(
    stub: pb_grpc.CheckpointServiceStub, created_at: dict[str, int]
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    message = c.pb.Checkpoint(
        execution_id="run",
        checkpoint_id="a",
        created_at=created_at,
        version=2**63 - 1,
        pending_writes=[c.pb.PendingWrite(task_id="\x00", idx=-1, content_type="nope")],
    )
    reply = await stub.Save(c.pb.SaveRequest(checkpoint=message), timeout=10)
    assert reply.version == 1
    stored = c.datetime_from_pb(reply.created_at)
    assert stored is not None
    assert before <= stored <= datetime.now(UTC) + timedelta(seconds=5)
    loaded = (await stub.Load(c.pb.LoadRequest(execution_id="run", checkpoint_id="a"))).checkpoint
    assert loaded.version == 1
    assert loaded.created_at == reply.created_at
    assert list(loaded.pending_writes) == []
    # A loaded checkpoint sent back as it is: the same save again, not a conflict.
    again = await stub.Save(c.pb.SaveRequest(checkpoint=loaded), timeout=10)
    assert (again.checkpoint_id, again.version) == ("a", 1)


# -- JSON: depth, surrogates, size ------------------------------------------------------------


@pytest.mark.parametrize("text", BAD_METADATA.values(), ids=BAD_METADATA.keys())
async def test_bad_metadata_is_invalid_argument(
    stub: pb_grpc.CheckpointServiceStub, text: str
) -> None:
    message = c.pb.Checkpoint(execution_id="run", metadata=text)
    assert await code_of(stub.Save(c.pb.SaveRequest(checkpoint=message), timeout=10)) == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    reply = await stub.List(c.pb.ListRequest(execution_id="run"), timeout=10)
    assert list(reply.checkpoints) == []


async def test_metadata_at_the_depth_limit_round_trips(
    stub: pb_grpc.CheckpointServiceStub,
) -> None:
    text = nested(MAX_JSON_DEPTH, '"\\u00e9\\ud83d\\ude00"')  # a valid surrogate pair
    message = c.pb.Checkpoint(execution_id="run", checkpoint_id="deep", metadata=text)
    await stub.Save(c.pb.SaveRequest(checkpoint=message), timeout=10)
    loaded = await stub.Load(c.pb.LoadRequest(execution_id="run", checkpoint_id="deep"))
    assert json.loads(loaded.checkpoint.metadata) == json.loads(text)


async def test_metadata_text_over_the_limit_is_refused_before_parsing(
    stub: pb_grpc.CheckpointServiceStub,
) -> None:
    # 4096 is the gateway's max_metadata_bytes here; whitespace counts before parsing.
    text = '{"a":' + " " * 5000 + "1}"
    message = c.pb.Checkpoint(execution_id="run", metadata=text)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Save(c.pb.SaveRequest(checkpoint=message), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_metadata_bytes" in (err.value.details() or "")


@pytest.mark.parametrize(
    "text",
    [
        nested(1000),
        '{"a":' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"a":"\\ud800"}',
        '{"a":"x\\udc00"}',
        '{"\\ud800":1}',
        '{"a":' + " " * 5000 + "1}",
    ],
    ids=["deep", "very deep", "high surrogate", "low surrogate", "surrogate key", "too long"],
)
async def test_bad_list_filters_are_invalid_argument(
    stub: pb_grpc.CheckpointServiceStub, text: str
) -> None:
    await stub.Save(c.pb.SaveRequest(checkpoint=c.pb.Checkpoint(execution_id="run")))
    request = c.pb.ListRequest(execution_id="run", metadata_filter=text)
    assert await code_of(stub.List(request, timeout=10)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_in_process_metadata_is_checked_the_same_way(store: CheckpointStore) -> None:
    deep: Any = 1
    for _ in range(1000):
        deep = [deep]
    for metadata in ({"a": deep}, {"a": "\ud800"}, {"\udc00": 1}, {"a": {"b": ["x\udfff"]}}):
        with pytest.raises(InvalidArgument):
            await store.save(Checkpoint("run", {}, metadata=metadata))
    with pytest.raises(InvalidArgument):
        await store.list("run", metadata_filter={"a": "\ud800"})
    assert (await store.list("run")).checkpoints == []


# -- SaveMany: each bad item fails alone ------------------------------------------------------


async def test_save_many_items_fail_alone(stub: pb_grpc.CheckpointServiceStub) -> None:
    def item(cid: str, **fields: Any) -> c.pb.SaveRequest:
        return c.pb.SaveRequest(
            checkpoint=c.pb.Checkpoint(execution_id="run", checkpoint_id=cid, **fields)
        )

    bad = {f"bad{i}": text for i, text in enumerate(BAD_METADATA.values())}
    items = [item("ok0")]
    for cid, text in bad.items():
        items.append(item(cid, metadata=text))
        items.append(item(f"ok-after-{cid}"))
    items += [item(f"ts{i}", created_at=ts, version=-1) for i, ts in enumerate(HOSTILE_TIMESTAMPS)]
    items.append(item("ok-last", pending_writes=[c.pb.PendingWrite(task_id="\ud7ff")]))

    reply = await stub.SaveMany(c.pb.SaveManyRequest(saves=items), timeout=30)
    assert len(reply.results) == len(items)
    version = 0
    for request, result in zip(items, reply.results, strict=True):
        cid = request.checkpoint.checkpoint_id
        if cid in bad:
            assert result.WhichOneof("result") == "error", cid
            assert result.error.code == INVALID, (cid, result.error)
        else:
            assert result.WhichOneof("result") == "saved", (cid, result.error)
            version += 1
            assert result.saved.version == version  # consecutive, in request order
    listed = await stub.List(c.pb.ListRequest(execution_id="run", page_size=100), timeout=10)
    assert len(listed.checkpoints) == version


async def test_a_save_many_of_only_bad_items_answers_each(
    stub: pb_grpc.CheckpointServiceStub,
) -> None:
    items = [
        c.pb.SaveRequest(checkpoint=c.pb.Checkpoint(execution_id="run", metadata=text))
        for text in BAD_METADATA.values()
    ]
    reply = await stub.SaveMany(c.pb.SaveManyRequest(saves=items), timeout=30)
    assert [r.error.code for r in reply.results] == [INVALID] * len(items)
