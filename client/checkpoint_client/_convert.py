"""The one place where protobuf messages and our models meet.

Both edges use it: the client (models -> requests, responses -> models) and the server
(requests -> models, models -> responses). Protobuf classes never reach users.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from ._codec import MAX_JSON_DEPTH, OCTET_STREAM
from ._errors import CheckpointError, InvalidArgument, error_for_code
from ._models import Channel, Checkpoint, ExecutionInfo, PendingWrite
from ._proto.checkpoint_gateway.v1 import checkpoint_pb2 as pb
from ._store import PruneStrategy

__all__ = [
    "channel_from_pb",
    "channel_to_pb",
    "checkpoint_field",
    "checkpoint_from_pb",
    "checkpoint_to_pb",
    "datetime_from_pb",
    "datetime_to_pb",
    "execution_from_pb",
    "execution_to_pb",
    "filter_from_json",
    "filter_to_json",
    "item_error_from_pb",
    "item_error_to_pb",
    "pb",
    "prune_strategy_from_pb",
    "prune_strategy_to_pb",
    "save_request",
    "write_from_pb",
    "write_to_pb",
]


def datetime_from_pb(ts: Timestamp) -> datetime | None:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return datetime.fromtimestamp(ts.seconds, UTC).replace(microsecond=ts.nanos // 1000)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def datetime_to_pb(value: datetime | None, out: Timestamp) -> None:
    """Set ``out`` to ``value`` (naive means UTC), as ``Timestamp.FromDatetime`` does, in a
    quarter of its time: no time tuple, no range check (a ``datetime`` is always within
    a Timestamp's range). Every saved checkpoint's answer carries one."""
    if value is None:
        return
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    since = value - _EPOCH
    out.seconds = since.days * 86400 + since.seconds
    out.nanos = since.microseconds * 1000


def write_to_pb(w: PendingWrite) -> pb.PendingWrite:
    return pb.PendingWrite(
        task_id=w.task_id,
        idx=w.idx,
        channel=w.channel,
        value=w.value_bytes,
        content_type=w.content_type,
        task_path=w.task_path,
    )


def write_from_pb(m: pb.PendingWrite) -> PendingWrite:
    return PendingWrite(
        m.task_id,
        m.idx,
        m.channel,
        m.value,
        content_type=m.content_type or OCTET_STREAM,
        task_path=m.task_path,
    )


def channel_to_pb(name: str, ch: Channel) -> pb.Channel:
    m = pb.Channel(name=name, version=ch.version, content_type=ch.content_type)
    if ch.value_bytes is not None:
        m.value = ch.value_bytes
    return m


def channel_from_pb(m: pb.Channel) -> Channel:
    if m.HasField("value"):
        return Channel(m.version, m.value, content_type=m.content_type or OCTET_STREAM)
    return Channel(m.version, content_type=m.content_type)


def _channels_from_pb(items: Any) -> dict[str, Channel]:
    out: dict[str, Channel] = {}
    for m in items:
        if m.name in out:
            raise InvalidArgument(f"channel {m.name!r} appears more than once")
        out[m.name] = channel_from_pb(m)
    return out


def execution_to_pb(info: ExecutionInfo) -> pb.Execution:
    m = pb.Execution(execution_id=info.execution_id)
    datetime_to_pb(info.updated_at, m.updated_at)
    return m


def execution_from_pb(m: pb.Execution) -> ExecutionInfo:
    return ExecutionInfo(m.execution_id, datetime_from_pb(m.updated_at))


def checkpoint_to_pb(cp: Checkpoint, *, with_state: bool = True) -> pb.Checkpoint:
    m = pb.Checkpoint(
        execution_id=cp.execution_id,
        namespace=cp.namespace,
        checkpoint_id=cp.checkpoint_id,
        parent_id=cp.parent_id,
        state=cp.state_bytes if with_state else b"",
        content_type=cp.content_type,
        metadata=cp.metadata_json().decode() if cp.metadata else "",
        node=cp.node,
        next_nodes=cp.next_nodes,
        version=cp.version,
        pending_writes=[write_to_pb(w) for w in cp.pending_writes],
        channels=[channel_to_pb(name, ch) for name, ch in cp.channels.items()],
    )
    datetime_to_pb(cp.created_at, m.created_at)
    return m


#: A save whose state is at least this long is encoded by ``save_request`` without
#: protobuf's copies of the state; below it they cost less than the splicing.
SPLICE_THRESHOLD = 64 * 1024

_LENGTH_DELIMITED = 2
_STATE_FIELD = pb.Checkpoint.DESCRIPTOR.fields_by_name["state"].number
_CHECKPOINT_FIELD = pb.SaveRequest.DESCRIPTOR.fields_by_name["checkpoint"].number


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field_header(number: int, length: int) -> bytes:
    """The tag and length of length-delimited field ``number``."""
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(length)


def checkpoint_field(cp: Checkpoint, field: int = 1) -> list[bytes]:
    """``cp`` encoded as length-delimited field ``field`` of a message, in parts to join:
    the state is not copied by protobuf but put after the checkpoint's other fields (they
    may come in any order on the wire), so that joining the parts is its one copy."""
    head = checkpoint_to_pb(cp, with_state=False).SerializeToString()
    state = cp.state_bytes
    if not state:
        return [_field_header(field, len(head)), head]
    state_header = _field_header(_STATE_FIELD, len(state))
    return [
        _field_header(field, len(head) + len(state_header) + len(state)),
        head,
        state_header,
        state,
    ]


def save_request(cp: Checkpoint, expected_version: int | None = None) -> pb.SaveRequest | bytes:
    """The Save request for ``cp``: a message, or for a large state its encoding.

    Protobuf copies a state three times on its way to the wire: into the checkpoint
    message, into the request (a message field is set by copy), into the encoding, each
    time into fresh memory (1.5 to 3.5 ms for 1 MiB here, against 40 us this way). A
    large state is instead encoded by ``checkpoint_field``: the same message on the wire,
    which the gateway parses as it parses any other.
    """
    if len(cp.state_bytes) < SPLICE_THRESHOLD:
        return pb.SaveRequest(checkpoint=checkpoint_to_pb(cp), expected_version=expected_version)
    parts = checkpoint_field(cp, _CHECKPOINT_FIELD)
    if expected_version is not None:
        parts.append(pb.SaveRequest(expected_version=expected_version).SerializeToString())
    return b"".join(parts)


def _json_object(text: str, field: str, max_length: int | None = None) -> dict[str, Any]:
    """Parse a JSON object sent as text, refusing more than ``max_length`` characters
    before parsing. Its depth and strings are checked where every store checks them
    (``checkpoint_gateway.validation``); too deep for the parser at all is refused here."""
    if not text:
        return {}
    if max_length is not None and len(text) > max_length:
        raise InvalidArgument(
            f"{field} is {len(text)} characters of JSON; the limit is {max_length} "
            "(max_metadata_bytes)"
        )
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidArgument(f"{field} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise InvalidArgument(f"{field} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field} must be a JSON object")
    return value


def checkpoint_from_pb(
    m: pb.Checkpoint,
    *,
    stored_fields: bool = True,
    max_metadata_length: int | None = None,
    state: bytes | None = None,
) -> Checkpoint:
    """Build a model from a message; raises InvalidArgument for malformed metadata.

    Args:
        stored_fields: read the fields a store sets (``created_at``, ``version``,
            ``pending_writes``). False for what a Save asks to store: the gateway sets
            them, so whatever a caller sent there is ignored, never parsed.
        max_metadata_length: refuse longer metadata text before parsing it.
        state: the state, when it was taken out of the message before parsing (the
            gateway does so for large ones); ``m.state`` otherwise.
    """
    return Checkpoint(
        m.execution_id,
        m.state if state is None else state,
        namespace=m.namespace,
        checkpoint_id=m.checkpoint_id,
        parent_id=m.parent_id,
        node=m.node,
        next_nodes=list(m.next_nodes),
        content_type=m.content_type or OCTET_STREAM,
        metadata=_json_object(m.metadata, "metadata", max_metadata_length),
        created_at=datetime_from_pb(m.created_at) if stored_fields else None,
        version=m.version if stored_fields else 0,
        pending_writes=[write_from_pb(w) for w in m.pending_writes] if stored_fields else (),
        channels=_channels_from_pb(m.channels),
    )


def item_error_to_pb(exc: CheckpointError, message: str) -> pb.ItemError:
    """One SaveMany item's error: its status code number and message."""
    return pb.ItemError(code=grpc.StatusCode[exc.grpc_code].value[0], message=message)


_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def item_error_from_pb(m: pb.ItemError) -> CheckpointError:
    """The exception a SaveMany item's error stands for."""
    name = _CODE_NAMES.get(m.code, "UNKNOWN")
    return error_for_code(name)(m.message or name)


def filter_to_json(metadata_filter: Mapping[str, Any] | None) -> str:
    if not metadata_filter:
        return ""
    try:
        return json.dumps(dict(metadata_filter), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"metadata_filter is not JSON-serializable: {exc}") from exc


def filter_from_json(text: str, max_length: int | None = None) -> dict[str, Any] | None:
    return _json_object(text, "metadata_filter", max_length) or None


_STRATEGIES: dict[str, pb.PruneStrategy] = {
    "keep_latest": pb.PRUNE_STRATEGY_KEEP_LATEST,
    "delete": pb.PRUNE_STRATEGY_DELETE_ALL,
}


def prune_strategy_to_pb(strategy: str) -> pb.PruneStrategy:
    try:
        return _STRATEGIES[strategy]
    except (KeyError, TypeError):
        raise InvalidArgument(
            f"strategy must be one of {', '.join(map(repr, _STRATEGIES))}, not {strategy!r}"
        ) from None


def prune_strategy_from_pb(value: pb.PruneStrategy) -> PruneStrategy:
    if value == pb.PRUNE_STRATEGY_UNSPECIFIED:
        return "keep_latest"
    for name, number in _STRATEGIES.items():
        if number == value:
            return cast(PruneStrategy, name)
    raise InvalidArgument(f"unknown prune strategy {value}")
