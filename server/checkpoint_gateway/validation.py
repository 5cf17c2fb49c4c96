"""Request validation shared by every backend, so in-process and remote callers get the
same ``InvalidArgument`` for the same bad input, before anything is written."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checkpoint_client import Channel, Checkpoint, InvalidArgument, PendingWrite
from checkpoint_client._codec import check_json

MiB = 1024 * 1024

# C0/C1 control characters and lone surrogates (which cannot be encoded as UTF-8).
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_WORD = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"  # an RFC 6838 type/subtype name
_MEDIA_TYPE = re.compile(rf"{_WORD}/{_WORD}(?:\s*;\s*{_WORD}=[\x21-\x7e]{{1,100}}){{0,8}}")
_INT32 = 2**31


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one request may carry. Every field is a gateway setting."""

    max_id_length: int = 256
    max_state_bytes: int = 16 * MiB
    max_metadata_bytes: int = 64 * 1024
    max_next_nodes: int = 256
    max_writes: int = 4096
    max_channels: int = 1024
    default_page_size: int = 50
    max_page_size: int = 1000
    max_batch_items: int = 1000
    #: A page of a listing stops before it would weigh more (it holds one item at least),
    #: so that it fits one gRPC response and is bounded in memory while it is built.
    max_page_bytes: int = 32 * MiB

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.default_page_size > self.max_page_size:
            raise ValueError("default_page_size must not exceed max_page_size")


def check_batch(
    checkpoints: object, expected_versions: object, limits: Limits
) -> list[tuple[Checkpoint, int | None]]:
    """Validate the shape of a ``save_many`` call (the items are checked one by one later):
    a sequence of checkpoints within ``max_batch_items``, and as many expected versions."""
    if isinstance(checkpoints, str | bytes) or not isinstance(checkpoints, Sequence):
        raise InvalidArgument("checkpoints must be a sequence of Checkpoint")
    if len(checkpoints) > limits.max_batch_items:
        raise InvalidArgument(
            f"{len(checkpoints)} checkpoints in one call; the limit is {limits.max_batch_items}"
        )
    for i, cp in enumerate(checkpoints):
        if not isinstance(cp, Checkpoint):
            raise InvalidArgument(f"checkpoints[{i}] is a {type(cp).__name__}, not a Checkpoint")
    if expected_versions is None:
        return [(cp, None) for cp in checkpoints]
    if isinstance(expected_versions, str | bytes) or not isinstance(expected_versions, Sequence):
        raise InvalidArgument("expected_versions must be a sequence of int or None")
    if len(expected_versions) != len(checkpoints):
        raise InvalidArgument(
            f"{len(expected_versions)} expected_versions for {len(checkpoints)} checkpoints"
        )
    return list(zip(checkpoints, expected_versions, strict=True))


def check_name(value: object, field: str, limits: Limits, *, allow_empty: bool = False) -> str:
    """Validate an id-like string: type, length, no control characters."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string, not {type(value).__name__}")
    if not value:
        if allow_empty:
            return value
        raise InvalidArgument(f"{field} must not be empty")
    if len(value) > limits.max_id_length:
        raise InvalidArgument(
            f"{field} is {len(value)} characters; the limit is {limits.max_id_length}"
        )
    bad = _BAD_CHARS.search(value)
    if bad:
        raise InvalidArgument(
            f"{field} contains a control character ({ord(bad.group()):#04x} at {bad.start()})"
        )
    return value


def check_lineage(execution_id: object, namespace: object, limits: Limits) -> None:
    check_name(execution_id, "execution_id", limits)
    check_name(namespace, "namespace", limits, allow_empty=True)


def check_content_type(value: str, field: str) -> None:
    if len(value) > 255 or not _MEDIA_TYPE.fullmatch(value):
        raise InvalidArgument(f"{field} {value[:80]!r} is not a media type like 'application/json'")


def check_checkpoint(cp: Checkpoint, limits: Limits) -> None:
    """Validate everything a save stores."""
    check_lineage(cp.execution_id, cp.namespace, limits)
    check_name(cp.checkpoint_id, "checkpoint_id", limits, allow_empty=True)
    check_name(cp.parent_id, "parent_id", limits, allow_empty=True)
    check_name(cp.node, "node", limits, allow_empty=True)
    if len(cp.next_nodes) > limits.max_next_nodes:
        raise InvalidArgument(
            f"next_nodes has {len(cp.next_nodes)} entries; the limit is {limits.max_next_nodes}"
        )
    for i, node in enumerate(cp.next_nodes):
        check_name(node, f"next_nodes[{i}]", limits)
    check_content_type(cp.content_type, "content_type")
    size = len(cp.state_bytes)
    if len(cp.channels) > limits.max_channels:
        raise InvalidArgument(f"{len(cp.channels)} channels; the limit is {limits.max_channels}")
    for name, ch in cp.channels.items():
        check_name(name, "channel name", limits)
        if not isinstance(ch, Channel):
            raise InvalidArgument(f"channel {name!r} must be a Channel")
        check_name(ch.version, f"channel {name!r} version", limits)
        if ch.value_bytes is not None:
            check_content_type(ch.content_type, f"channel {name!r} content_type")
            size += len(ch.value_bytes)
    if size > limits.max_state_bytes:
        raise InvalidArgument(
            f"state and channels are {size} bytes; the limit is {limits.max_state_bytes} "
            "(max_state_bytes)"
        )
    # Before encoding it: too deep a value would exhaust the encoder's stack, and a lone
    # surrogate has no UTF-8 form to store.
    check_json(cp.metadata, what="metadata")
    meta = len(cp.metadata_json())
    if meta > limits.max_metadata_bytes:
        raise InvalidArgument(
            f"metadata is {meta} bytes as JSON; the limit is {limits.max_metadata_bytes} "
            "(max_metadata_bytes)"
        )


def check_expected_version(expected_version: int | None) -> None:
    if expected_version is not None and (
        isinstance(expected_version, bool)
        or not isinstance(expected_version, int)
        or expected_version < 0
    ):
        raise InvalidArgument("expected_version must be a non-negative integer")


def check_writes(writes: Sequence[PendingWrite], limits: Limits) -> None:
    if len(writes) > limits.max_writes:
        raise InvalidArgument(f"{len(writes)} writes; the limit is {limits.max_writes}")
    total = 0
    for i, w in enumerate(writes):
        if not isinstance(w, PendingWrite):
            raise InvalidArgument(f"writes[{i}] must be a PendingWrite")
        check_name(w.task_id, f"writes[{i}].task_id", limits)
        check_name(w.channel, f"writes[{i}].channel", limits)
        check_name(w.task_path, f"writes[{i}].task_path", limits, allow_empty=True)
        if isinstance(w.idx, bool) or not isinstance(w.idx, int) or not -_INT32 <= w.idx < _INT32:
            raise InvalidArgument(f"writes[{i}].idx must be a 32-bit integer")
        check_content_type(w.content_type, f"writes[{i}].content_type")
        total += len(w.value_bytes)
    if total > limits.max_state_bytes:
        raise InvalidArgument(
            f"writes carry {total} bytes; the limit is {limits.max_state_bytes} (max_state_bytes)"
        )


def check_channel_names(channels: object, limits: Limits) -> list[str]:
    """Validate a list of channel names (distinct)."""
    if channels is None:
        return []
    if isinstance(channels, str | bytes) or not isinstance(channels, Sequence):
        raise InvalidArgument("channels must be a sequence of channel names")
    if len(channels) > 64:
        raise InvalidArgument(f"{len(channels)} channels; the limit is 64")
    names = [check_name(name, "channel name", limits) for name in channels]
    if len(set(names)) != len(names):
        raise InvalidArgument("channels must not repeat a name")
    return names


def check_execution_ids(execution_ids: object, limits: Limits) -> list[str]:
    """Validate the execution ids of a call over several executions."""
    if isinstance(execution_ids, str | bytes) or not isinstance(execution_ids, Sequence):
        raise InvalidArgument("execution_ids must be a sequence of execution ids")
    if len(execution_ids) > limits.max_batch_items:
        raise InvalidArgument(
            f"{len(execution_ids)} execution ids; the limit is {limits.max_batch_items}"
        )
    return [check_name(e, f"execution_ids[{i}]", limits) for i, e in enumerate(execution_ids)]


def page_size(limit: int | None, limits: Limits) -> int:
    """The page size to serve: the default for None, lowered to the maximum when over it."""
    if limit is None:
        return limits.default_page_size
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArgument("limit must be a positive integer")
    return min(limit, limits.max_page_size)


Scalar = str | int | float | bool | None


def check_metadata_filter(
    metadata_filter: Mapping[str, Any] | None, limits: Limits
) -> dict[str, Scalar]:
    """Validate a metadata equality filter: short plain keys, scalar values."""
    if metadata_filter is None:
        return {}
    if not isinstance(metadata_filter, Mapping):
        raise InvalidArgument("metadata_filter must be a mapping of key to value")
    if len(metadata_filter) > 32:
        raise InvalidArgument("metadata_filter has more than 32 keys")
    out: dict[str, Scalar] = {}
    for key, value in metadata_filter.items():
        check_name(key, "metadata_filter key", limits)
        if '"' in key or "\\" in key:
            raise InvalidArgument(f"metadata_filter key {key!r} must not contain quotes or '\\'")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise InvalidArgument(
                f"metadata_filter[{key!r}] must be a string, number, boolean or null"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidArgument(f"metadata_filter[{key!r}] must be a finite number")
        if isinstance(value, str) and len(value) > limits.max_metadata_bytes:
            raise InvalidArgument(f"metadata_filter[{key!r}] is too long")
        if isinstance(value, str) and _SURROGATES.search(value):
            # No stored metadata can hold one (see check_checkpoint), and SQLite cannot
            # even bind it as a parameter.
            raise InvalidArgument(f"metadata_filter[{key!r}] holds a lone surrogate")
        out[key] = value
    return out


def json_scalar_equal(stored: Any, wanted: Scalar) -> bool:
    """Equality the way JSON sees it: 1 == 1.0, but true is not 1 and "1" is not 1."""
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return type(stored) is type(wanted) and stored == wanted
    if isinstance(wanted, int | float):
        return isinstance(stored, int | float) and stored == wanted
    return bool(stored == wanted) and type(stored) is type(wanted)


def matches(metadata: Mapping[str, Any], metadata_filter: Mapping[str, Scalar]) -> bool:
    return all(
        key in metadata and json_scalar_equal(metadata[key], value)
        for key, value in metadata_filter.items()
    )
