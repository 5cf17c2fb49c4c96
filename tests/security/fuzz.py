"""The fuzz harness's table: every RPC of ``CheckpointService``, how to make requests for
it, and what an acknowledged answer must satisfy.

To fuzz a new RPC, add a row to ``RPCS``: its name (as in the proto), a strategy of
request messages, and, when it acknowledges a write, a ``check`` that reads the write
back. ``test_every_rpc_is_fuzzed`` fails until the row exists.

Requests are mostly well-formed, over a few ids so that they meet each other (a Load
finds a save, a Save conflicts with one), with hostile values mixed in: ids with control
characters, path tricks and lone surrogates, JSON nested too deeply or with surrogate
escapes, out-of-range timestamps and versions, over-limit sizes. Raw-bytes requests are
valid requests mutated (a byte flipped, cut short, spliced) or plain random bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import strategies as st

from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["CheckpointService"]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

# What the gateway under fuzz is started with (small, so that limits are met often).
LIMIT_FLAGS = [
    "--max-id-length", "64",
    "--max-metadata-bytes", "2048",
    "--max-state-bytes", "4096",
    "--max-batch-items", "8",
    "--max-page-size", "20",
    "--default-page-size", "5",
]  # fmt: skip

# -- values ------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "",
    " ",
    "..",
    "../../escape",
    "/etc/passwd",
    "a/b\\c",
    "%2e%2e%2f",
    "CON",
    "nul\x00byte",
    "tab\tnew\nline",
    "\x7f\x85\u2028",
    "x" * 65,  # one over --max-id-length
    "é漢字🙂",
    "v1.MTp4",
    "{}",
    "'; DROP TABLE checkpoints; --",
    "*",
    "{tag}",
]


def _sendable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-_.:"


def texts(*common: str, hostile: bool = False) -> st.SearchStrategy[str]:
    """Mostly one of ``common`` (so that requests meet), else a plain id; with ``hostile``
    also the hostile texts and arbitrary Unicode."""
    valid = st.one_of(
        st.sampled_from(common),
        st.sampled_from(common),
        st.text(_ID_ALPHABET, min_size=1, max_size=12),
    )
    if not hostile:
        return valid
    return st.one_of(
        valid,
        st.sampled_from([t for t in HOSTILE_TEXT if _sendable(t)]),
        st.text(max_size=12).filter(_sendable),
    )


@dataclass(frozen=True)
class Values:
    """The strategies for each kind of field: all valid, or with hostile values mixed in."""

    execution_id: st.SearchStrategy[str]
    namespace: st.SearchStrategy[str]
    checkpoint_id: st.SearchStrategy[str]
    node: st.SearchStrategy[str]
    task: st.SearchStrategy[str]
    channel: st.SearchStrategy[str]
    content_type: st.SearchStrategy[str]
    metadata: st.SearchStrategy[str]
    metadata_filter: st.SearchStrategy[str]
    state: st.SearchStrategy[bytes]


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10).filter(_sendable),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=6).filter(_sendable), inner, max_size=3),
    ),
    max_leaves=8,
)


def _nested(depth: int) -> str:
    return '{"a":' + "[" * depth + "]" * depth + "}"


HOSTILE_JSON = [
    _nested(63),
    _nested(64),
    _nested(1000),
    '{"a":"\\ud800"}',
    '{"\\udc00":1}',
    '{"a":"\\u0000"}',
    '{"a":1e400}',
    '{"a":' + "9" * 5000 + "}",
    '{"a":1' + "0" * 30 + "}",
    "[]",
    "null",
    "{",
    '{"a":1,"a":2}',
    '{"a": ' + " " * 3000 + "1}",  # over --max-metadata-bytes as text only
    json.dumps({"k": "v" * 3000}),
]

_CONTENT_TYPES = ["", "application/json", "application/octet-stream", "text/plain; x=1"]
_BAD_CONTENT_TYPES = ["json", "a/", "text/plain\n", "a" * 300 + "/b"]
_metadata = st.dictionaries(st.text(max_size=8).filter(_sendable), json_values, max_size=4)
_filters = st.dictionaries(st.sampled_from(["k", "source", "step"]), json_scalars, max_size=3)


def values(hostile: bool) -> Values:
    """Valid values only, or (``hostile``) valid and hostile ones mixed."""
    never: st.SearchStrategy[Any] = st.nothing()
    return Values(
        execution_id=texts("run-a", "run-b", hostile=hostile),
        namespace=texts("", "", "sub", hostile=hostile),
        checkpoint_id=texts("", "c1", "c2", "c3", hostile=hostile),
        node=texts("", "agent", "tools", hostile=hostile),
        task=texts("t1", "t2", hostile=hostile),
        channel=texts("messages", "tasks", hostile=hostile),
        content_type=st.one_of(
            st.sampled_from(_CONTENT_TYPES),
            st.sampled_from(_BAD_CONTENT_TYPES) if hostile else never,
            st.text(max_size=20).filter(_sendable) if hostile else never,
        ),
        metadata=st.one_of(
            st.just(""),
            _metadata.map(json.dumps),
            st.sampled_from(HOSTILE_JSON) if hostile else never,
        ),
        metadata_filter=st.one_of(
            st.just(""),
            _filters.map(json.dumps),
            st.sampled_from(HOSTILE_JSON) if hostile else never,
        ),
        # Around --max-state-bytes when hostile.
        state=st.one_of(
            st.binary(max_size=64), st.binary(min_size=4090, max_size=4100) if hostile else never
        ),
    )


VALID, HOSTILE = values(hostile=False), values(hostile=True)
#: Two requests in three are valid, so that they get stored, found and conflict.
kinds = st.sampled_from([VALID, VALID, HOSTILE])

timestamps = st.one_of(
    st.none(),
    st.sampled_from(
        [
            Timestamp(seconds=253402300800),
            Timestamp(seconds=5, nanos=-1),
            Timestamp(seconds=INT64[1]),
            Timestamp(seconds=INT64[0]),
            Timestamp(seconds=1, nanos=10**9),
        ]
    ),
    st.builds(
        Timestamp,
        seconds=st.integers(*INT64),
        nanos=st.integers(*INT32),
    ),
)


@st.composite
def writes(draw: st.DrawFn, v: Values) -> pb.PendingWrite:
    return pb.PendingWrite(
        task_id=draw(v.task),
        idx=draw(st.one_of(st.sampled_from([0, 1, -1]), st.integers(*INT32))),
        channel=draw(v.channel),
        value=draw(st.binary(max_size=64)),
        content_type=draw(v.content_type),
        task_path=draw(st.sampled_from(["", "p"])),
    )


@st.composite
def channels(draw: st.DrawFn, v: Values) -> pb.Channel:
    m = pb.Channel(
        name=draw(v.channel),
        version=draw(st.one_of(st.sampled_from(["1", "2"]), v.checkpoint_id)),
        content_type=draw(v.content_type),
    )
    if draw(st.booleans()):  # a value; else a reference to one stored
        m.value = draw(st.binary(max_size=64))
    return m


@st.composite
def checkpoints(draw: st.DrawFn, v: Values) -> pb.Checkpoint:
    m = pb.Checkpoint(
        execution_id=draw(v.execution_id),
        namespace=draw(v.namespace),
        checkpoint_id=draw(v.checkpoint_id),
        parent_id=draw(v.checkpoint_id),
        state=draw(v.state),
        content_type=draw(v.content_type),
        metadata=draw(v.metadata),
        node=draw(v.node),
        next_nodes=draw(st.lists(v.node.filter(bool), max_size=3)),
        # What the gateway sets: ignored on input, whatever it holds.
        version=draw(st.one_of(st.just(0), st.integers(*INT64))),
        pending_writes=draw(st.lists(writes(HOSTILE), max_size=2)),
        channels=draw(st.lists(channels(v), max_size=3)),
    )
    created_at = draw(timestamps)
    if created_at is not None:
        m.created_at.CopyFrom(created_at)
    return m


@st.composite
def save_requests(draw: st.DrawFn, v: Values | None = None) -> pb.SaveRequest:
    v = v or draw(kinds)
    request = pb.SaveRequest(checkpoint=draw(checkpoints(v)))
    expected = draw(st.one_of(st.none(), st.none(), st.integers(0, 3), st.integers(*INT64)))
    if expected is not None:
        request.expected_version = expected
    return request


@st.composite
def save_many_requests(draw: st.DrawFn) -> pb.SaveManyRequest:
    # Mostly valid items, some hostile: each must fail alone.
    return pb.SaveManyRequest(saves=draw(st.lists(save_requests(), max_size=10)))


#: Where the saves before put most of their checkpoints: writes and loads aim there.
_saved_ids = st.sampled_from(["c1", "c2", "c3"])
_saved_lineages = st.sampled_from([("run-a", ""), ("run-b", ""), ("run-a", "sub")])


@st.composite
def load_requests(draw: st.DrawFn) -> pb.LoadRequest:
    v = draw(kinds)
    if v is VALID and draw(st.booleans()):
        (execution_id, namespace), checkpoint_id = draw(_saved_lineages), draw(_saved_ids)
        return pb.LoadRequest(
            execution_id=execution_id, namespace=namespace, checkpoint_id=checkpoint_id
        )
    return pb.LoadRequest(
        execution_id=draw(v.execution_id),
        namespace=draw(v.namespace),
        checkpoint_id=draw(v.checkpoint_id),
    )


@st.composite
def latest_requests(draw: st.DrawFn) -> pb.LatestRequest:
    v = draw(kinds)
    return pb.LatestRequest(execution_id=draw(v.execution_id), namespace=draw(v.namespace))


@st.composite
def list_requests(draw: st.DrawFn) -> pb.ListRequest:
    v = draw(kinds)
    hostile = v is HOSTILE
    return pb.ListRequest(
        execution_id=draw(v.execution_id),
        namespace=draw(v.namespace),
        page_size=draw(st.integers(*INT32) if hostile else st.integers(0, 30)),
        page_token=draw(page_tokens if hostile else st.just("")),
        before=draw(st.one_of(st.just(""), st.just(""), st.just(""), v.checkpoint_id)),
        metadata_filter=draw(v.metadata_filter),
        all_namespaces=draw(st.booleans()),
        include_writes=draw(st.booleans()),
    )


@st.composite
def search_requests(draw: st.DrawFn) -> pb.SearchRequest:
    v = draw(kinds)
    hostile = v is HOSTILE
    return pb.SearchRequest(
        metadata_filter=draw(v.metadata_filter),
        page_size=draw(st.integers(*INT32) if hostile else st.integers(0, 30)),
        page_token=draw(page_tokens if hostile else st.just("")),
        include_writes=draw(st.booleans()),
    )


@st.composite
def list_namespaces_requests(draw: st.DrawFn) -> pb.ListNamespacesRequest:
    v = draw(kinds)
    hostile = v is HOSTILE
    return pb.ListNamespacesRequest(
        execution_id=draw(v.execution_id),
        page_size=draw(st.integers(*INT32) if hostile else st.integers(0, 30)),
        page_token=draw(page_tokens if hostile else st.just("")),
    )


@st.composite
def list_executions_requests(draw: st.DrawFn) -> pb.ListExecutionsRequest:
    v = draw(kinds)
    hostile = v is HOSTILE
    return pb.ListExecutionsRequest(
        page_size=draw(st.integers(*INT32) if hostile else st.integers(0, 30)),
        page_token=draw(page_tokens if hostile else st.just("")),
    )


@st.composite
def ancestors_requests(draw: st.DrawFn) -> pb.AncestorsRequest:
    v = draw(kinds)
    hostile = v is HOSTILE
    if v is VALID and draw(st.booleans()):
        (execution_id, namespace), checkpoint_id = draw(_saved_lineages), draw(_saved_ids)
    else:
        execution_id, namespace = draw(v.execution_id), draw(v.namespace)
        checkpoint_id = draw(v.checkpoint_id)
    return pb.AncestorsRequest(
        execution_id=execution_id,
        namespace=namespace,
        checkpoint_id=checkpoint_id,
        include_self=draw(st.booleans()),
        channels=draw(st.lists(v.channel, max_size=3)),
        include_state=draw(st.booleans()),
        page_size=draw(st.integers(*INT32) if hostile else st.integers(0, 30)),
        page_token=draw(page_tokens if hostile else st.just("")),
    )


@st.composite
def copy_requests(draw: st.DrawFn) -> pb.CopyExecutionRequest:
    v = draw(kinds)
    return pb.CopyExecutionRequest(
        source_execution_id=draw(v.execution_id),
        target_execution_id=draw(st.one_of(v.execution_id, texts("copy-1", "copy-2"))),
    )


@st.composite
def delete_where_requests(draw: st.DrawFn) -> pb.DeleteWhereRequest:
    v = draw(kinds)
    request = pb.DeleteWhereRequest(metadata_filter=draw(v.metadata_filter))
    execution_id = draw(st.one_of(st.none(), v.execution_id))
    if execution_id is not None:
        request.execution_id = execution_id
    return request


@st.composite
def prune_requests(draw: st.DrawFn) -> pb.PruneRequest:
    v = draw(kinds)
    return pb.PruneRequest(
        execution_ids=draw(st.lists(v.execution_id, max_size=10)),
        strategy=draw(st.one_of(st.sampled_from([0, 1, 2]), st.integers(*INT32))),
    )


@st.composite
def delete_requests(draw: st.DrawFn) -> pb.DeleteRequest:
    v = draw(kinds)
    return pb.DeleteRequest(
        execution_id=draw(v.execution_id),
        namespace=draw(v.namespace),
        checkpoint_id=draw(v.checkpoint_id),
    )


@st.composite
def clear_requests(draw: st.DrawFn) -> pb.ClearRequest:
    v = draw(kinds)
    request = pb.ClearRequest(execution_id=draw(v.execution_id))
    namespace = draw(st.one_of(st.none(), v.namespace))
    if namespace is not None:
        request.namespace = namespace
    return request


@st.composite
def put_writes_requests(draw: st.DrawFn) -> pb.PutWritesRequest:
    v = draw(kinds)
    if v is VALID and draw(st.booleans()):
        (execution_id, namespace), checkpoint_id = draw(_saved_lineages), draw(_saved_ids)
    else:
        execution_id, namespace = draw(v.execution_id), draw(v.namespace)
        checkpoint_id = draw(v.checkpoint_id)
    return pb.PutWritesRequest(
        execution_id=execution_id,
        namespace=namespace,
        checkpoint_id=checkpoint_id,
        writes=draw(st.lists(writes(v), max_size=4)),
    )


page_tokens = st.one_of(
    st.just(""),
    st.sampled_from(["v1.", "v1.MTp4", "garbage", "v1." + "A" * 200]),
    st.text(max_size=20).filter(_sendable),
)

# -- acknowledged writes read back exactly ------------------------------------------------

Call = Callable[[str, Message, type[Message]], tuple[Any, Message | None]]
"""(method, request, response type) -> (status code, response or None)."""


def _check_saved(call: Call, sent: pb.Checkpoint, saved: pb.SaveResponse) -> None:
    code, reply = call(
        "Load",
        pb.LoadRequest(
            execution_id=sent.execution_id,
            namespace=sent.namespace,
            checkpoint_id=saved.checkpoint_id,
        ),
        pb.LoadResponse,
    )
    assert reply is not None, f"an acknowledged save does not load: {code}"
    assert isinstance(reply, pb.LoadResponse)
    got = reply.checkpoint
    if sent.checkpoint_id:
        assert saved.checkpoint_id == sent.checkpoint_id
    assert (got.execution_id, got.namespace, got.checkpoint_id) == (
        sent.execution_id,
        sent.namespace,
        saved.checkpoint_id,
    )
    assert (got.parent_id, got.node, list(got.next_nodes)) == (
        sent.parent_id,
        sent.node,
        list(sent.next_nodes),
    )
    assert got.state == sent.state
    assert got.content_type == (sent.content_type or "application/octet-stream")
    assert json.loads(got.metadata or "{}") == json.loads(sent.metadata or "{}")
    assert got.version == saved.version
    assert got.created_at == saved.created_at
    assert {c.name: c.version for c in got.channels} == {c.name: c.version for c in sent.channels}
    for c in got.channels:  # every channel comes back with its value
        assert c.HasField("value")


def check_save(call: Call, request: Message, response: Message) -> None:
    assert isinstance(request, pb.SaveRequest)
    assert isinstance(response, pb.SaveResponse)
    _check_saved(call, request.checkpoint, response)


def check_save_many(call: Call, request: Message, response: Message) -> None:
    assert isinstance(request, pb.SaveManyRequest)
    assert isinstance(response, pb.SaveManyResponse)
    assert len(response.results) == len(request.saves)
    for item, result in zip(request.saves, response.results, strict=True):
        if result.WhichOneof("result") == "saved":
            _check_saved(call, item.checkpoint, result.saved)
        else:
            assert result.error.code not in (2, 13), result.error  # UNKNOWN, INTERNAL


def check_put_writes(call: Call, request: Message, response: Message) -> None:
    assert isinstance(request, pb.PutWritesRequest)
    code, reply = call(
        "Load",
        pb.LoadRequest(
            execution_id=request.execution_id,
            namespace=request.namespace,
            checkpoint_id=request.checkpoint_id,
        ),
        pb.LoadResponse,
    )
    if reply is None:
        return  # writes may come before their checkpoint: nothing to read back yet
    assert isinstance(reply, pb.LoadResponse), code
    stored = {(w.task_id, w.idx): w for w in reply.checkpoint.pending_writes}
    last = {(w.task_id, w.idx): w for w in request.writes}
    for key, w in last.items():
        got = stored[key]  # stored, never lost
        if w.idx < 0:  # a special write replaces: the request's last one is there
            assert (got.channel, got.value, got.task_path) == (w.channel, w.value, w.task_path)
            assert got.content_type == (w.content_type or "application/octet-stream")


# -- the table ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rpc:
    """One RPC to fuzz: ``requests`` makes its requests; ``check`` (optional) verifies
    an OK answer, reading back what it acknowledged."""

    name: str
    requests: st.SearchStrategy[Message]
    check: Callable[[Call, Message, Message], None] | None = None

    @property
    def method(self) -> str:
        return f"/{SERVICE.full_name}/{self.name}"

    @property
    def request_type(self) -> type[Message]:
        cls: type[Message] = SERVICE.methods_by_name[self.name].input_type._concrete_class
        return cls

    @property
    def response_type(self) -> type[Message]:
        cls: type[Message] = SERVICE.methods_by_name[self.name].output_type._concrete_class
        return cls


# Saves first: the RPCs after them find what they stored; Clear last.
RPCS = [
    Rpc("Save", save_requests(), check_save),
    Rpc("SaveMany", save_many_requests(), check_save_many),
    Rpc("PutWrites", put_writes_requests(), check_put_writes),
    Rpc("Load", load_requests()),
    Rpc("Latest", latest_requests()),
    Rpc("List", list_requests()),
    Rpc("Search", search_requests()),
    Rpc("ListNamespaces", list_namespaces_requests()),
    Rpc("ListExecutions", list_executions_requests()),
    Rpc("Ancestors", ancestors_requests()),
    Rpc("CopyExecution", copy_requests()),
    Rpc("Delete", delete_requests()),
    Rpc("DeleteWhere", delete_where_requests()),
    Rpc("Prune", prune_requests()),
    Rpc("Clear", clear_requests()),
]


# -- raw bytes ----------------------------------------------------------------------------


@st.composite
def raw_requests(draw: st.DrawFn, rpc: Rpc) -> bytes:
    """Bytes for ``rpc``'s method: a valid request mutated, or random bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=64))
    data = bytearray(draw(rpc.requests).SerializeToString())
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["flip", "cut", "splice", "insert", "varint"]))
        at = draw(st.integers(0, len(data)))
        if how == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at:]
        elif how == "splice":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif how == "insert":  # a field with a random tag and wire type
            data[at:at] = bytes([draw(st.integers(0, 255))]) + draw(st.binary(max_size=4))
        else:  # an overlong varint
            data[at:at] = b"\xff" * draw(st.integers(1, 11))
    return bytes(data)
