"""Stored bytes as a person reads them: decoded by content type, JSON pretty-printed.

The gateway never parses states, so what a state holds is whatever a client sent: the
console and the admin commands decode it here for display only (the console's templates
escape every string it produces). Decoding never raises: bytes that do not decode as
their content type says are shown as bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
from dataclasses import dataclass
from typing import Any

__all__ = ["DISPLAY_LIMIT", "Decoded", "decode"]

#: Characters of a pretty-printed value shown on a page; the rest is cut (the raw
#: bytes stay downloadable).
DISPLAY_LIMIT = 512 * 1024
#: Bytes of a binary value shown as hex.
_HEX_LIMIT = 1024
_LANGGRAPH = "application/x-langgraph;serde="


@dataclass(frozen=True, slots=True)
class Decoded:
    """A stored value, decoded for display.

    Attributes:
        kind: ``json`` (``value`` is the decoded value), ``text`` or ``binary``.
        value: the decoded value (for ``binary``: None).
        text: what the page shows: pretty JSON, the text, or a hex dump.
        truncated: whether ``text`` was cut at ``DISPLAY_LIMIT``.
        size: the stored size in bytes.
        digest: SHA-256 of the stored bytes, in hex.
        content_type: as stored.
    """

    kind: str
    value: Any
    text: str
    truncated: bool
    size: int
    digest: str
    content_type: str

    def comparable(self) -> Any:
        """What a diff compares: the decoded value, or a summary of the bytes."""
        if self.kind == "json":
            return self.value
        if self.kind == "text":
            return self.text if not self.truncated else self._summary()
        return self._summary()

    def _summary(self) -> str:
        return f"<{self.size} bytes {self.content_type}, sha256 {self.digest[:16]}>"


def _media_type(content_type: str) -> str:
    return content_type.partition(";")[0].strip().lower()


def _is_json(content_type: str) -> bool:
    media = _media_type(content_type)
    return (
        media == "application/json"
        or media.endswith("+json")
        or content_type.replace(" ", "").lower() == _LANGGRAPH + "json"
    )


def _is_msgpack(content_type: str) -> bool:
    media = _media_type(content_type)
    return media in ("application/msgpack", "application/x-msgpack") or (
        content_type.replace(" ", "").lower() == _LANGGRAPH + "msgpack"
    )


def _plain(value: Any) -> Any:
    """A decoded MessagePack value made JSON-printable (bytes and odd keys as text)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return value


def _unpack_msgpack(data: bytes) -> Any:
    """MessagePack, as LangGraph's serializer writes it: its extension types (objects
    such as messages) are unpacked too and shown as ``{"__ext__": code, "value": ...}``.
    Needs ormsgpack (installed with LangGraph); ImportError without it."""
    ormsgpack: Any = importlib.import_module("ormsgpack")

    def ext(code: int, payload: bytes) -> Any:
        try:
            inner = ormsgpack.unpackb(payload, ext_hook=ext, option=ormsgpack.OPT_NON_STR_KEYS)
        except Exception:
            inner = f"<{len(payload)} bytes>"
        return {"__ext__": code, "value": _plain(inner)}

    return _plain(ormsgpack.unpackb(data, ext_hook=ext, option=ormsgpack.OPT_NON_STR_KEYS))


def _cut(text: str) -> tuple[str, bool]:
    if len(text) <= DISPLAY_LIMIT:
        return text, False
    return text[:DISPLAY_LIMIT], True


def decode(data: bytes, content_type: str) -> Decoded:
    """Decode ``data`` for display as its ``content_type`` says."""
    digest = hashlib.sha256(data).hexdigest()
    value: Any = None
    kind = ""
    if _is_json(content_type):
        with contextlib.suppress(ValueError, RecursionError):
            value, kind = json.loads(data), "json"
    elif _is_msgpack(content_type):
        # Not installed, or not MessagePack after all: shown as bytes.
        with contextlib.suppress(Exception):
            value, kind = _unpack_msgpack(data), "json"
    if kind == "json":
        try:
            pretty = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
        except RecursionError:  # deeper than Python's stack: shown as the text it is
            kind, value = "", None
        else:
            text, truncated = _cut(pretty)
            return Decoded("json", value, text, truncated, len(data), digest, content_type)
    if _media_type(content_type).startswith("text/") or _is_json(content_type):
        text, truncated = _cut(data.decode("utf-8", errors="replace"))
        return Decoded("text", text, text, truncated, len(data), digest, content_type)
    shown = data[:_HEX_LIMIT]
    lines = [
        f"{offset:08x}  {shown[offset : offset + 16].hex(' ')}"
        for offset in range(0, len(shown), 16)
    ]
    if len(data) > _HEX_LIMIT:
        lines.append(f"... {len(data) - _HEX_LIMIT} more bytes")
    return Decoded(
        "binary", None, "\n".join(lines), len(data) > _HEX_LIMIT, len(data), digest, content_type
    )
