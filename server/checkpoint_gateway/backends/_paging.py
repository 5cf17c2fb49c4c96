"""Page tokens: opaque to callers, a keyset cursor (the last version served) inside.

A token is bound to the query that made it (execution, namespace, filter), so a token
passed to a different query is rejected instead of silently skipping checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping

from checkpoint_client import InvalidArgument

from ..validation import Scalar

_PREFIX = "v1."


def _scope(execution_id: str, namespace: str, metadata_filter: Mapping[str, Scalar]) -> str:
    raw = json.dumps([execution_id, namespace, metadata_filter], sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def encode(
    execution_id: str, namespace: str, metadata_filter: Mapping[str, Scalar], below_version: int
) -> str:
    body = f"{below_version}:{_scope(execution_id, namespace, metadata_filter)}"
    return _PREFIX + base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode(
    token: str, execution_id: str, namespace: str, metadata_filter: Mapping[str, Scalar]
) -> int:
    """Return the version the next page starts below, or raise InvalidArgument."""
    if not isinstance(token, str) or not token.startswith(_PREFIX) or len(token) > 128:
        raise InvalidArgument("page_token is malformed")
    body = token[len(_PREFIX) :]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("ascii")
        version_text, scope = text.split(":")
        version = int(version_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument("page_token is malformed") from exc
    if version < 1:
        raise InvalidArgument("page_token is malformed")
    if scope != _scope(execution_id, namespace, metadata_filter):
        raise InvalidArgument("page_token belongs to a different listing")
    return version
