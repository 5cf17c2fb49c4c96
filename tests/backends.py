"""Every backend the suites run against, by name.

A factory gets the pytest request (to reach session fixtures such as a throwaway
PostgreSQL server), a fresh temporary directory and backend options (``limits``,
``retention``, ``clock``), and returns a new, empty store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends._base import Backend

from .backends_types import Factory
from .harness import postgres as _postgres
from .harness import redis as _redis


async def memory(request: pytest.FixtureRequest, tmp: Path, **options: Any) -> Backend:
    return await open_backend("memory://", **options)


async def file(request: pytest.FixtureRequest, tmp: Path, **options: Any) -> Backend:
    return await open_backend(f"file://{tmp}/store", **options)


async def sqlite(request: pytest.FixtureRequest, tmp: Path, **options: Any) -> Backend:
    return await open_backend(f"sqlite:///{tmp}/store.db", **options)


BACKENDS: dict[str, Factory] = {
    "memory": memory,
    "file": file,
    "sqlite": sqlite,
}

# Server-backed backends live with the harness that starts their servers.
BACKENDS.update(_postgres.BACKENDS)
BACKENDS.update(_redis.BACKENDS)
