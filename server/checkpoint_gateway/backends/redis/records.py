"""What goes into the scripts and what comes back: ids as key parts, pending writes and
channel references as stored, and checkpoints out of script replies (see the package
docstring for the layout)."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from checkpoint_client import Channel, Checkpoint, InternalError, PendingWrite

from .._base import Position, from_us

__all__ = [
    "Blobs",
    "LightRow",
    "b64",
    "blobs_of",
    "channel_args",
    "from_fields",
    "light_rows",
    "record",
    "records",
    "references",
    "time_bound",
    "unb64",
    "write_args",
    "writes",
]

#: Channel values of a reply by (namespace tag, "name\\0version"): (content type, value).
Blobs = dict[tuple[bytes, bytes], tuple[str, bytes]]


@lru_cache(maxsize=4096)
def b64(text: str) -> str:
    """An id as a key part: unpadded URL-safe base64, whose alphabet has no ``{``, ``}``
    or ``:``, so no id can move a hash tag or make two keys collide."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@lru_cache(maxsize=4096)
def unb64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)).decode()


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode()


def from_fields(
    execution_id: str, namespace: str, checkpoint_id: str, fields: Sequence[bytes | None]
) -> Checkpoint:
    """A checkpoint (without channels and writes) from its hash fields in script order:
    state, content_type, metadata, parent_id, node, next_nodes, created_at, version."""
    state, content_type, metadata, parent_id, node, next_nodes, created_at, version = fields
    return Checkpoint(
        execution_id,
        state or b"",
        namespace=namespace,
        checkpoint_id=checkpoint_id,
        parent_id=_text(parent_id),
        node=_text(node),
        next_nodes=json.loads(next_nodes or b"[]"),
        content_type=_text(content_type),
        metadata=json.loads(metadata or b"{}"),
        created_at=from_us(int(created_at or 0)),
        version=int(version or 0),
    )


def write_args(writes: Sequence[PendingWrite], stored_at: int) -> list[Any]:
    """PUT_WRITES arguments: per write its field (JSON ``[task_id, idx]``), its value (a
    JSON header ``[channel, content_type, task_path, stored_at µs]``, a newline, the
    bytes) and whether it replaces (``idx < 0``) or is stored only when absent."""
    args: list[Any] = []
    for w in writes:
        # The header is ASCII JSON (newlines escaped), so the first newline ends it.
        head = json.dumps([w.channel, w.content_type, w.task_path, stored_at]).encode()
        args += [
            json.dumps([w.task_id, w.idx], ensure_ascii=False),
            head + b"\n" + w.value_bytes,
            "1" if w.idx < 0 else "0",
        ]
    return args


def writes(flat: Sequence[bytes] | None) -> tuple[PendingWrite, ...]:
    """Pending writes from a flat HGETALL reply, sorted by (task_id, idx). Headers of
    writes stored before channels existed have no stored_at; nothing here needs it."""
    out = []
    for i in range(0, len(flat or ()), 2):
        assert flat is not None
        task_id, idx = json.loads(flat[i])
        head, _, value = flat[i + 1].partition(b"\n")
        channel, content_type, task_path = json.loads(head)[:3]
        out.append(
            PendingWrite(
                task_id, idx, channel, value, content_type=content_type, task_path=task_path
            )
        )
    out.sort(key=lambda w: (w.task_id, w.idx))
    return tuple(out)


def channel_args(cp: Checkpoint) -> list[Any]:
    """SAVE arguments for the channels: name, version, whether the value is sent, its
    content type and bytes (empty for a reference)."""
    args: list[Any] = []
    for name, ch in cp.channels.items():
        if ch.value_bytes is None:
            args += [name, ch.version, "0", "", b""]
        else:
            args += [name, ch.version, "1", ch.content_type, ch.value_bytes]
    return args


def _refs(refs: bytes) -> list[bytes]:
    """The "name\\0version" fields of a checkpoint's channel references."""
    parts = refs.split(b"\0")
    return [parts[i] + b"\0" + parts[i + 1] for i in range(0, len(parts) - 1, 2)]


def references(refs: bytes) -> dict[str, Channel]:
    """A stored checkpoint's channels as references (no values)."""
    out = {}
    for field in _refs(refs):
        name, _, version = field.partition(b"\0")
        out[name.decode()] = Channel(version.decode())
    return out


def blobs_of(flat: Sequence[Any]) -> Blobs:
    """Channel values from a reply's flat list of (tag, field, content type, value)."""
    out: Blobs = {}
    for i in range(0, len(flat), 4):
        out[(flat[i], flat[i + 1])] = (_text(flat[i + 2]), flat[i + 3])
    return out


def record(execution_id: str, rec: Sequence[Any], blobs: Blobs) -> Checkpoint:
    """A checkpoint from a script's record: ``{tag, id, fields, refs, writes | nil}``, with
    its channel values (from ``blobs``) and writes (when the record has them)."""
    tag, cid, fields, refs, flat = rec
    cp = from_fields(execution_id, unb64(tag), cid.decode(), fields)
    channels = {}
    for field in _refs(refs or b""):
        held = blobs.get((tag, field))
        name, _, version = field.partition(b"\0")
        if held is None or held[1] is None:
            raise InternalError(
                f"channel {name.decode()!r} version {version.decode()!r} of checkpoint "
                f"{cp.checkpoint_id!r} has no stored value"
            )
        content_type, value = held
        channels[name.decode()] = Channel(version.decode(), value, content_type=content_type)
    changes: dict[str, Any] = {}
    if channels:
        changes["channels"] = channels
    if flat:
        changes["pending_writes"] = writes(flat)
    return cp.replace(**changes) if changes else cp


def records(execution_id: str, recs: Sequence[Any], flat_blobs: Sequence[Any]) -> list[Checkpoint]:
    blobs = blobs_of(flat_blobs)
    return [record(execution_id, rec, blobs) for rec in recs]


# -- the time index ------------------------------------------------------------------------


def time_member(namespace: str, version: int, checkpoint_id: str = "") -> bytes:
    """A checkpoint's member in its execution's time index; without an id, the bound just
    below every member of ``(namespace, version)``."""
    head = namespace.encode() + b"\0" + b"%020d" % version + b"\0"
    return head + checkpoint_id.encode() if checkpoint_id else head


def time_bound(execution_id: str, after: Position | None) -> tuple[str, bytes]:
    """Where a walk of an execution's time index starts to stay strictly below ``after``:
    the highest score (inclusive) and, at that score, the member bound ('' for none)."""
    if after is None:
        return "+inf", b""
    created, eid, namespace, version = after
    if execution_id < eid:
        return str(created), b""
    if execution_id > eid:
        return f"({created}", b""
    return str(created), time_member(namespace, version)


@dataclass(frozen=True, slots=True)
class LightRow:
    """A checkpoint as a listing first sees it: where it sorts, how much it weighs and
    (when filtering) its metadata."""

    position: Position
    b64ns: str
    checkpoint_id: str
    weight: int
    metadata: bytes | None
    member: bytes  # where a walk continues after it


def light_rows(execution_id: str, flat: Sequence[Any]) -> list[LightRow]:
    """Rows of LIST_EXECUTION in light or meta mode: created_at, member, weight,
    metadata."""
    out = []
    for i in range(0, len(flat), 4):
        score, member, weight, metadata = flat[i : i + 4]
        ns_raw, version, cid = member.split(b"\0", 2)
        namespace = ns_raw.decode()
        out.append(
            LightRow(
                (int(float(score)), execution_id, namespace, int(version)),
                b64(namespace),
                cid.decode(),
                int(weight),
                metadata,
                member,
            )
        )
    return out
