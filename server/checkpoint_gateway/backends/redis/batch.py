"""Pipelining: saves cut into chunks, and commands packed in RESP by hand."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence

from checkpoint_client import (
    Checkpoint,
)

__all__ = ["PIPELINE_BYTES", "chunks", "pack"]

#: State bytes per pipeline at most (one big state still goes alone): keeps one write
#: and the replies it waits for well inside ``socket_timeout``.
PIPELINE_BYTES = 8 * 1024 * 1024


def chunks(
    items: builtins.list[tuple[Checkpoint, int | None]], max_items: int, max_bytes: int
) -> Iterator[builtins.list[tuple[Checkpoint, int | None]]]:
    """Consecutive runs of ``items``, each at most ``max_items`` long and, unless a single
    item is heavier, at most ``max_bytes`` of state."""
    chunk: builtins.list[tuple[Checkpoint, int | None]] = []
    weight = 0
    for item in items:
        size = len(item[0].state_bytes)
        if chunk and (len(chunk) >= max_items or weight + size > max_bytes):
            yield chunk
            chunk, weight = [], 0
        chunk.append(item)
        weight += size
    if chunk:
        yield chunk


SMALL = 16 * 1024  # values up to this are copied into one buffer; larger ones sent as is


def pack(parts: Sequence[bytes | str | int]) -> list[bytes]:
    """One command in RESP (an array of bulk strings), as buffers to write in order;
    integers are sent as their decimal text, as redis-py sends them.

    Values over ``SMALL`` bytes go out as buffers of their own instead of being copied.
    """
    data = [
        p.encode() if isinstance(p, str) else b"%d" % p if isinstance(p, int) else p for p in parts
    ]
    head = b"*%d\r\n" % len(data)
    if max(map(len, data)) <= SMALL:
        return [head + b"".join([b"$%d\r\n%b\r\n" % (len(d), d) for d in data])]
    out: list[bytes] = []
    pending = [head]
    for d in data:
        if len(d) > SMALL:
            pending.append(b"$%d\r\n" % len(d))
            out += [b"".join(pending), d]
            pending = [b"\r\n"]
        else:
            pending.append(b"$%d\r\n%b\r\n" % (len(d), d))
    out.append(b"".join(pending))
    return out
