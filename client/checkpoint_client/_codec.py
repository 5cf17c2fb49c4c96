"""How Python values become state bytes and back.

Bytes (and bytearray / memoryview) are stored exactly as given, with the content type the
caller names (default ``application/octet-stream``). Any other value is encoded as compact
UTF-8 JSON with content type ``application/json``, and JSON content comes back decoded.
"""

from __future__ import annotations

import json
from typing import Any

from ._errors import InvalidArgument

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"


def encode(value: Any, content_type: str | None, *, what: str) -> tuple[bytes, str]:
    """Return ``(bytes, content_type)`` for a state or write value.

    Raises:
        InvalidArgument: the value is neither bytes nor JSON-serializable, or a non-bytes
            value was given a content type other than JSON.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value), content_type or OCTET_STREAM
    if content_type and content_type != JSON:
        raise InvalidArgument(
            f"{what} is a {type(value).__name__}, which is stored as {JSON}; "
            f"pass bytes to store it as {content_type!r}"
        )
    return dumps(value, what=what), JSON


def decode(data: bytes, content_type: str) -> Any:
    """Return the Python value for stored bytes: JSON decoded, anything else as bytes."""
    if content_type == JSON:
        return json.loads(data)
    return data


def dumps(value: Any, *, what: str, sort_keys: bool = False) -> bytes:
    """Compact JSON bytes, or InvalidArgument naming ``what`` could not be encoded."""
    try:
        text = json.dumps(
            value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, sort_keys=sort_keys
        )
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"{what} is not JSON-serializable: {exc}") from exc
    return text.encode()
