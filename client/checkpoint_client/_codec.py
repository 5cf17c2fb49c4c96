"""How Python values become state bytes and back.

Bytes (and bytearray / memoryview) are stored exactly as given, with the content type the
caller names (default ``application/octet-stream``). Any other value is encoded as compact
UTF-8 JSON with content type ``application/json``, and JSON content comes back decoded.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._errors import InvalidArgument

JSON = "application/json"
OCTET_STREAM = "application/octet-stream"

#: How deeply JSON the gateway parses (metadata, filters) may nest: objects and arrays
#: inside one another. Far beyond what metadata needs, far below Python's recursion limit.
MAX_JSON_DEPTH = 64

_SURROGATE = re.compile(r"[\ud800-\udfff]")


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
        # A lone surrogate is a str but no Unicode text: it has no UTF-8 form.
        return text.encode()
    except RecursionError:
        raise InvalidArgument(f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from None
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise InvalidArgument(f"{what} is not JSON-serializable: {exc}") from exc


def check_json(value: Any, *, what: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise InvalidArgument when a decoded JSON value nests deeper than ``max_depth``
    (objects and arrays) or holds a string that is not Unicode text (a lone surrogate,
    which JSON's ``\\ud800`` escapes can spell but UTF-8 cannot store).

    Iterative, so that no depth of input can exhaust the stack.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidArgument(
                    f"{what} holds a string with a lone surrogate (\\ud800-\\udfff)"
                )
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                raise InvalidArgument(f"{what} nests deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    stack.append((key, depth + 1))
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
