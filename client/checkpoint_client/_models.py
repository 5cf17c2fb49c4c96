"""The data model: a checkpoint, its channels and pending writes, and pages of listings."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import _codec
from ._errors import InvalidArgument

__all__ = [
    "Channel",
    "Checkpoint",
    "CheckpointPage",
    "ExecutionInfo",
    "ExecutionPage",
    "NamespacePage",
    "PendingWrite",
]

_UNSET: Any = object()


class Channel:
    """A named part of a checkpoint's state, stored once per version.

    The checkpoints of a lineage that carry the same ``(name, version)`` share one stored
    value, so a save sends and stores only the channels that changed (as LangGraph's
    channel blobs do). ``value`` follows the rule of a checkpoint's state: bytes pass
    through with their ``content_type``, anything else is stored as JSON.

    Without a value (``Channel(version)``, or ``reference()``) a channel refers to the
    value stored earlier in the lineage under the same name and version; saving one that
    refers to nothing raises ``NotFound``. Loads always return channels with values.

    Example:
        >>> Channel("3", ["hi", "hello"]).value
        ['hi', 'hello']
    """

    __slots__ = ("_value", "content_type", "value_bytes", "version")

    version: str
    value_bytes: bytes | None
    content_type: str

    def __init__(
        self, version: str, value: Any = _UNSET, *, content_type: str | None = None
    ) -> None:
        self.version = version
        if value is _UNSET:
            self.value_bytes, self.content_type = None, content_type or ""
        else:
            self.value_bytes, self.content_type = _codec.encode(
                value, content_type, what=f"channel version {version!r}"
            )
        self._value = _UNSET

    @property
    def has_value(self) -> bool:
        """Whether the channel carries its value (False: a reference to a stored one)."""
        return self.value_bytes is not None

    @property
    def value(self) -> Any:
        """The value: decoded JSON for ``application/json``, otherwise the exact bytes."""
        if self.value_bytes is None:
            raise ValueError(f"channel version {self.version!r} is a reference, with no value")
        if self._value is _UNSET:
            self._value = _codec.decode(self.value_bytes, self.content_type)
        return self._value

    def reference(self) -> Channel:
        """This version without its value: "the value already stored" (a reference carries
        no content type: the stored value has its own)."""
        return Channel(self.version)

    def _key(self) -> tuple[Any, ...]:
        return (self.version, self.value_bytes, self.content_type)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Channel):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        if self.value_bytes is None:
            return f"Channel(version={self.version!r}, <reference>)"
        return (
            f"Channel(version={self.version!r}, "
            f"value=<{len(self.value_bytes)} bytes {self.content_type}>)"
        )


class PendingWrite:
    """A write a task made against a checkpoint (LangGraph ``put_writes``).

    Keyed by ``(task_id, idx)`` within its checkpoint. ``value`` follows the same rule as a
    checkpoint's state: bytes pass through, anything else is stored as JSON.
    """

    __slots__ = ("_value", "channel", "content_type", "idx", "task_id", "task_path", "value_bytes")

    task_id: str
    idx: int
    channel: str
    value_bytes: bytes
    content_type: str
    task_path: str

    def __init__(
        self,
        task_id: str,
        idx: int,
        channel: str,
        value: Any = None,
        *,
        content_type: str | None = None,
        task_path: str = "",
    ) -> None:
        self.task_id = task_id
        self.idx = idx
        self.channel = channel
        self.value_bytes, self.content_type = _codec.encode(
            value, content_type, what=f"write {channel!r}"
        )
        self.task_path = task_path
        self._value = _UNSET

    @property
    def value(self) -> Any:
        """The value: decoded JSON for ``application/json``, otherwise the exact bytes."""
        if self._value is _UNSET:
            self._value = _codec.decode(self.value_bytes, self.content_type)
        return self._value

    def _key(self) -> tuple[Any, ...]:
        return (
            self.task_id,
            self.idx,
            self.channel,
            self.value_bytes,
            self.content_type,
            self.task_path,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PendingWrite):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"PendingWrite(task_id={self.task_id!r}, idx={self.idx}, channel={self.channel!r}, "
            f"value=<{len(self.value_bytes)} bytes {self.content_type}>)"
        )


class Checkpoint:
    """One snapshot of an agent graph: its state, where it is, and where it goes next.

    Addressed by ``(execution_id, namespace, checkpoint_id)``. A store fills in
    ``checkpoint_id`` (when empty), ``version`` and ``created_at`` on save.

    ``state`` may be any JSON-serializable value (stored as ``application/json`` and read
    back decoded) or bytes with any ``content_type`` (stored and read back untouched).
    ``state_bytes`` is always the exact stored bytes.

    Example:
        >>> cp = Checkpoint("run-1", {"messages": ["hi"]}, node="agent", next_nodes=["tools"])
        >>> cp.state
        {'messages': ['hi']}
    """

    __slots__ = (
        "_state",
        "channels",
        "checkpoint_id",
        "content_type",
        "created_at",
        "execution_id",
        "metadata",
        "namespace",
        "next_nodes",
        "node",
        "parent_id",
        "pending_writes",
        "state_bytes",
        "version",
    )

    execution_id: str
    namespace: str
    checkpoint_id: str
    parent_id: str
    node: str
    next_nodes: tuple[str, ...]
    state_bytes: bytes
    content_type: str
    metadata: dict[str, Any]
    created_at: datetime | None
    version: int
    pending_writes: tuple[PendingWrite, ...]
    channels: dict[str, Channel]

    def __init__(
        self,
        execution_id: str,
        state: Any = None,
        *,
        namespace: str = "",
        checkpoint_id: str = "",
        parent_id: str = "",
        node: str = "",
        next_nodes: Sequence[str] = (),
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
        version: int = 0,
        pending_writes: Sequence[PendingWrite] = (),
        channels: Mapping[str, Channel] | None = None,
    ) -> None:
        self.execution_id = execution_id
        self.namespace = namespace
        self.checkpoint_id = checkpoint_id
        self.parent_id = parent_id
        self.node = node
        if isinstance(next_nodes, str):
            raise InvalidArgument("next_nodes must be a sequence of node names, not a string")
        self.next_nodes = tuple(next_nodes)
        self.state_bytes, self.content_type = _codec.encode(state, content_type, what="state")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidArgument(f"metadata must be a mapping, not {type(metadata).__name__}")
        self.metadata = dict(metadata or {})
        self.created_at = created_at
        self.version = version
        self.pending_writes = tuple(pending_writes)
        if channels is not None and not isinstance(channels, Mapping):
            raise InvalidArgument(f"channels must be a mapping, not {type(channels).__name__}")
        self.channels = dict(channels or {})
        self._state = _UNSET

    @property
    def state(self) -> Any:
        """The state: decoded JSON for ``application/json``, otherwise the exact bytes."""
        if self._state is _UNSET:
            self._state = _codec.decode(self.state_bytes, self.content_type)
        return self._state

    def metadata_json(self) -> bytes:
        """Metadata as compact JSON with sorted keys (how stores persist it)."""
        return _codec.dumps(self.metadata, what="metadata", sort_keys=True)

    def replace(self, **changes: Any) -> Checkpoint:
        """Return a copy with some fields changed. ``state`` is taken as bytes unchanged."""
        fields: dict[str, Any] = {
            "namespace": self.namespace,
            "checkpoint_id": self.checkpoint_id,
            "parent_id": self.parent_id,
            "node": self.node,
            "next_nodes": self.next_nodes,
            "content_type": self.content_type,
            "metadata": self.metadata,
            "created_at": self.created_at,
            "version": self.version,
            "pending_writes": self.pending_writes,
            "channels": self.channels,
        }
        fields.update(changes)
        execution_id = fields.pop("execution_id", self.execution_id)
        state = fields.pop("state", self.state_bytes)
        return Checkpoint(execution_id, state, **fields)

    def same_content(self, other: Checkpoint) -> bool:
        """True when ``other`` carries what a save of ``self`` would store.

        Used to tell a retried save (same id, same content: a no-op) from an id reused for
        something else (a conflict). Store-assigned fields are not compared; channels are
        compared by name and version (a stored version never changes its value, and a
        retry may send references where the first attempt sent values).
        """
        return (
            self.channel_versions() == other.channel_versions()
            and self.parent_id == other.parent_id
            and self.node == other.node
            and self.next_nodes == other.next_nodes
            and self.state_bytes == other.state_bytes
            and self.content_type == other.content_type
            and _json_equal(self.metadata, other.metadata)
        )

    def channel_versions(self) -> dict[str, str]:
        """Each channel's version, by name."""
        return {name: ch.version for name, ch in self.channels.items()}

    def _key(self) -> tuple[Any, ...]:
        return (
            self.execution_id,
            self.namespace,
            self.checkpoint_id,
            self.parent_id,
            self.node,
            self.next_nodes,
            self.state_bytes,
            self.content_type,
            self.metadata_json(),
            self.created_at,
            self.version,
            self.pending_writes,
            sorted(self.channels.items()),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Checkpoint):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]  # metadata is a mutable dict

    def __repr__(self) -> str:
        return (
            f"Checkpoint(execution_id={self.execution_id!r}, namespace={self.namespace!r}, "
            f"checkpoint_id={self.checkpoint_id!r}, version={self.version}, "
            f"node={self.node!r}, state=<{len(self.state_bytes)} bytes {self.content_type}>"
            f"{f', channels={sorted(self.channels)}' if self.channels else ''})"
        )


def _json_equal(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@dataclass(frozen=True, slots=True)
class CheckpointPage:
    """One page of a listing, newest first.

    Attributes:
        checkpoints: the checkpoints on this page.
        next_page_token: pass it back as ``page_token`` for the next page; ``None`` at the end.
    """

    checkpoints: list[Checkpoint]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """An execution (thread) that holds checkpoints.

    Attributes:
        execution_id: its id.
        updated_at: when its newest checkpoint was saved.
    """

    execution_id: str
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExecutionPage:
    """One page of executions, the most recently saved to first.

    Attributes:
        executions: the executions on this page.
        next_page_token: pass it back as ``page_token`` for the next page; ``None`` at the end.
    """

    executions: list[ExecutionInfo]
    next_page_token: str | None


@dataclass(frozen=True, slots=True)
class NamespacePage:
    """One page of an execution's namespaces, in code point order.

    Attributes:
        namespaces: the namespaces on this page.
        next_page_token: pass it back as ``page_token`` for the next page; ``None`` at the end.
    """

    namespaces: list[str]
    next_page_token: str | None
