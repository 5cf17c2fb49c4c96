"""Large states between the wire and the store chain, copied once.

A Save request's state is most of its bytes. Parsed as protobuf does it, a 1 MiB state is
copied twice on its way in: into the parsed message (upb's arena), then out of it into the
``bytes`` the store chain needs (each read of a ``bytes`` field copies). ``SaveRequests``
parses large requests itself instead: it finds the state in the request's bytes, slices
it out (the one copy), and lets protobuf parse the rest, which is small. The request
bytes are then free as soon as the call has its state, instead of the arena's copy living
as long as the call: one state's worth of memory per call in flight, not two.
``Gateway.start`` makes ``split_save_request`` the deserializer of Save.

The result is exactly what parsing the whole request gives: the slicing applies only to
a request whose ``checkpoint`` field appears once and whose ``state`` appears once in it
(protobuf merges repeated message fields and keeps the last of repeated scalars; such
requests, and anything the scanner does not understand, are parsed whole, as before,
malformed ones included, so their errors stay protobuf's).
"""

from __future__ import annotations

from dataclasses import dataclass

from checkpoint_client._convert import _varint as _encode_varint
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2 as pb

__all__ = ["SPLIT_THRESHOLD", "SplitSave", "split_save_request"]

#: Requests at least this long are split. Below it a copy costs less than the scan.
SPLIT_THRESHOLD = 64 * 1024

_LENGTH_DELIMITED = 2
_CHECKPOINT_FIELD = 1  # SaveRequest.checkpoint
_STATE_FIELD = 5  # Checkpoint.state


@dataclass(frozen=True, slots=True)
class SplitSave:
    """A Save request whose state was taken out before parsing: ``message`` carries every
    other field, ``state`` the state's bytes."""

    message: pb.SaveRequest
    state: bytes


class _Unsplittable(Exception):
    """The request is not one this module splits: parse it whole."""


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    value = 0
    shift = 0
    while pos < end and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise _Unsplittable


def _find(data: bytes, start: int, end: int, field: int) -> tuple[int, int, int]:
    """The one occurrence of length-delimited ``field`` in the message at
    ``data[start:end]``: (start of its tag, start of its value, end of its value)."""
    found: tuple[int, int, int] | None = None
    pos = start
    while pos < end:
        tag_start = pos
        key, pos = _varint(data, pos, end)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, pos = _varint(data, pos, end)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        elif wire_type == _LENGTH_DELIMITED:
            length, pos = _varint(data, pos, end)
            if number == field:
                if found is not None:
                    raise _Unsplittable  # repeated: protobuf merges or keeps the last
                found = (tag_start, pos, pos + length)
            pos += length
        else:  # groups, or invalid
            raise _Unsplittable
        if number == field and wire_type != _LENGTH_DELIMITED:
            raise _Unsplittable
    if pos != end or found is None:
        raise _Unsplittable
    return found


def split_save_request(raw: bytes) -> pb.SaveRequest | SplitSave:
    """Parse a Save request, its state sliced out once when it is large (see module doc).

    Raises what ``SaveRequest.FromString`` raises for a malformed request.
    """
    if len(raw) < SPLIT_THRESHOLD:
        return pb.SaveRequest.FromString(raw)
    try:
        cp_tag, cp_start, cp_end = _find(raw, 0, len(raw), _CHECKPOINT_FIELD)
        state_tag, state_start, state_end = _find(raw, cp_start, cp_end, _STATE_FIELD)
    except _Unsplittable:
        return pb.SaveRequest.FromString(raw)
    checkpoint = raw[cp_start:state_tag] + raw[state_end:cp_end]
    rest = b"".join(
        (
            raw[:cp_tag],
            _encode_varint(_CHECKPOINT_FIELD << 3 | _LENGTH_DELIMITED),
            _encode_varint(len(checkpoint)),
            checkpoint,
            raw[cp_end:],
        )
    )
    return SplitSave(pb.SaveRequest.FromString(rest), raw[state_start:state_end])
