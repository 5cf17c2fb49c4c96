"""Shared fixtures: a store of every backend, reached in-process and through a gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

# The harness modules hold fixtures (pytest_plugins below) and are imported early by
# tests/backends.py; let pytest rewrite their asserts all the same.
pytest.register_assert_rewrite("tests.harness")

from checkpoint_client import AsyncCheckpointClient, CheckpointClient, CheckpointStore
from checkpoint_gateway.app import Gateway
from checkpoint_gateway.backends._base import Backend
from checkpoint_gateway.validation import Limits

from .adapters import SyncAsAsync
from .backends import BACKENDS

pytest_plugins = ["tests.harness.postgres", "tests.harness.redis", "tests.postgres_stores"]

MODES = ("direct", "async-client", "sync-client")

# Small limits so that over-limit tests are cheap; the same for every mode.
TEST_LIMITS = Limits(
    max_state_bytes=256 * 1024,
    max_metadata_bytes=4096,
    max_page_size=100,
    max_batch_items=20,
    max_page_bytes=1024 * 1024,
)


@pytest.fixture
async def make_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Backend]]]:
    """Build stores of the test's backend with options; all closed at the end."""
    name = request.param
    made: list[Backend] = []

    async def make(**options: Any) -> Backend:
        options.setdefault("limits", TEST_LIMITS)
        sub = tmp_path / f"s{len(made)}"
        sub.mkdir()
        store = await BACKENDS[name](request, sub, **options)
        made.append(store)
        return store

    try:
        yield make
    finally:
        for store in made:
            await store.close()


@pytest.fixture
def backend_id(request: pytest.FixtureRequest) -> str:
    """The name the test's backend is parametrized by, for reports: ``redis-cluster``
    where the store's own ``name`` says ``redis``."""
    return str(request.node.callspec.params["make_backend"])


@pytest.fixture
async def backend(make_backend: Callable[..., Awaitable[Backend]]) -> Backend:
    return await make_backend()


@pytest.fixture
async def make_store(
    request: pytest.FixtureRequest, make_backend: Callable[..., Awaitable[Backend]]
) -> AsyncIterator[Callable[..., Awaitable[CheckpointStore]]]:
    """Build stores under test with backend options: a backend directly, or through a
    real gateway on port 0 with the async or the sync client; all closed at the end."""
    mode = request.param
    opened: list[tuple[CheckpointStore, Gateway]] = []

    async def make(**options: Any) -> CheckpointStore:
        backend = await make_backend(**options)
        if mode == "direct":
            return backend
        gw = await Gateway.start(backend, listen="127.0.0.1:0")
        target = f"127.0.0.1:{gw.port}"
        client: CheckpointStore
        if mode == "async-client":
            client = AsyncCheckpointClient(target, timeout=30)
        else:
            client = SyncAsAsync(await asyncio.to_thread(CheckpointClient, target, timeout=30))
        opened.append((client, gw))
        return client

    try:
        yield make
    finally:
        for client, gw in reversed(opened):
            await client.close()
            await gw.stop(grace=1.0)


@pytest.fixture
async def store(make_store: Callable[..., Awaitable[CheckpointStore]]) -> CheckpointStore:
    """The store under test: a backend directly, or through a real gateway on port 0."""
    return await make_store()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize every test that builds a backend over all backends, and every test
    that uses ``store`` (or ``make_store``) over the access modes too."""
    names = list(BACKENDS)
    if "make_backend" in metafunc.fixturenames:
        metafunc.parametrize("make_backend", names, indirect=True)
    if "make_store" in metafunc.fixturenames:
        metafunc.parametrize("make_store", MODES, indirect=True)
