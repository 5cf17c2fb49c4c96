"""Time-ordered checkpoint ids (UUIDv7, RFC 9562)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._models import Checkpoint

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_checkpoint_id() -> str:
    """Return a UUIDv7 string; ids made in one process sort in the order they were made.

    The 12-bit ``rand_a`` field is a counter within one millisecond (RFC 9562 method 1), so
    ids stay ordered even when many are made in the same millisecond.
    """
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms, _counter = ms, int.from_bytes(os.urandom(2)) & 0x3FF
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _counter = _last_ms + 1, 0
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def with_id(checkpoint: Checkpoint) -> Checkpoint:
    """``checkpoint``, given a new id when its ``checkpoint_id`` is empty.

    Callers choose ids before a call leaves them, so that a retried save is idempotent.
    """
    if checkpoint.checkpoint_id:
        return checkpoint
    return checkpoint.replace(checkpoint_id=new_checkpoint_id())
