"""Page tokens: opaque to callers, a signed keyset cursor inside.

A token carries the position the next page starts after (the sort key of the last item
served: a version, or ``(created_at, ..., version)``), and a MAC over that position,
the kind of listing and the query that made it (execution, namespace, filter...). So a
token passed to another query, or to another kind of listing, or edited by hand, is
rejected with ``InvalidArgument`` instead of silently skipping or repeating items, and a
forged one never reaches a backend's query. Every number in it is checked to fit a
signed 64-bit integer and every string to be a valid id before it is used.

The key is a gateway setting (``--page-token-key``): replicas behind one address must
share it, or a page token from one is refused by the next. Without one a process uses a
random key, and its tokens do not outlive it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from typing import Any

from checkpoint_client import InvalidArgument

__all__ = ["MAX_TOKEN_LENGTH", "PageTokens"]

_PREFIX = "v2."
_MAC_BYTES = 16
#: Longest token accepted: a cursor holds at most a few ids of ``max_id_length``
#: characters, JSON-escaped and base64-encoded.
MAX_TOKEN_LENGTH = 8192
_INT64 = 2**63


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PageTokens:
    """Makes and checks the page tokens of one gateway (or of replicas sharing ``key``).

    Args:
        key: the MAC key; None for a random one (tokens then die with the process).
    """

    def __init__(self, key: bytes | str | None = None) -> None:
        if key is None:
            raw = os.urandom(32)
        elif isinstance(key, str):
            raw = hashlib.sha256(key.encode()).digest()
        else:
            raw = hashlib.sha256(key).digest()
        self._key = raw

    def _mac(self, kind: str, scope: Sequence[Any], body: bytes) -> bytes:
        context = json.dumps([kind, list(scope)], sort_keys=True, ensure_ascii=True).encode()
        return hmac.new(self._key, context + b"\x00" + body, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, kind: str, scope: Sequence[Any], position: Sequence[int | str]) -> str:
        """A token for the page after ``position`` of the ``kind`` listing of ``scope``."""
        body = json.dumps(list(position), ensure_ascii=True, separators=(",", ":")).encode()
        return f"{_PREFIX}{_b64(body)}.{_b64(self._mac(kind, scope, body))}"

    def decode(self, token: object, kind: str, scope: Sequence[Any]) -> list[int | str]:
        """The position a token carries, or ``InvalidArgument`` when it is malformed,
        forged, or was made by another listing."""
        if not isinstance(token, str) or not token.startswith(_PREFIX):
            raise InvalidArgument("page_token is malformed")
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidArgument("page_token is too long")
        body_text, dot, mac_text = token[len(_PREFIX) :].partition(".")
        try:
            body = _unb64(body_text)
            mac = _unb64(mac_text)
        except (binascii.Error, ValueError):
            raise InvalidArgument("page_token is malformed") from None
        if not dot or not hmac.compare_digest(mac, self._mac(kind, scope, body)):
            # Edited, made with another key, or made by another query: which one is not
            # worth telling a caller that may be probing.
            raise InvalidArgument(
                "page_token does not belong to this listing (or was made by a gateway "
                "with another page token key)"
            )
        try:
            position = json.loads(body)
        except ValueError:
            raise InvalidArgument("page_token is malformed") from None
        if not isinstance(position, list) or not all(_bounded(p) for p in position):
            raise InvalidArgument("page_token is malformed")
        return position


def _bounded(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    return isinstance(value, str) and len(value) <= 4096
