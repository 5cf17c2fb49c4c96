"""The type of a backend factory (see tests/backends.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from checkpoint_gateway.backends._base import Backend

Factory = Callable[..., Awaitable[Backend]]
