"""Pool gauges read the real pools: held connections show as in use, a queued call as
waiting, and both go back to idle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from checkpoint_client import Checkpoint
from checkpoint_gateway.backends._base import Backend, PoolStats
from tests.harness import postgres as pg
from tests.harness import redis as rd

Acquire = Callable[[], Awaitable[Any]]
Release = Callable[[Any], Awaitable[None]]


async def _held(
    store: Backend, acquire: Acquire, release: Release, limit: int, *, connections: bool = True
) -> None:
    """Hold every slot, queue one more call, and read the stats at each step.

    ``connections``: a held slot is a connection lent (not so for a cluster's gate).
    """
    await store.save(Checkpoint("pool", {"a": 1}))  # the pool has opened a connection
    held = [await acquire() for _ in range(limit)]
    busy = store.pool_stats()
    assert busy is not None
    assert busy.max_size == limit
    assert busy.in_use == (limit if connections else 0)
    assert busy.size == busy.in_use + busy.idle
    queued = asyncio.create_task(acquire())

    def waiting() -> PoolStats:
        stats = store.pool_stats()
        assert stats is not None
        return stats

    for _ in range(200):  # let the queued call reach the pool's wait; bounded
        if waiting().waiting >= 1:
            break
        await asyncio.sleep(0.005)
    assert waiting().waiting == 1
    for conn in held:
        await release(conn)
    await release(await queued)
    after = waiting()
    assert after.in_use == 0
    assert after.waiting == 0
    assert after.idle == after.size > 0


async def test_redis_pool_stats(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = rd.RedisSettings(max_connections=3, pool_timeout=10)
    store = await rd.redis_store(request, tmp_path, settings=settings)
    pool = store.client.connection_pool  # type: ignore[attr-defined, union-attr]
    try:
        await _held(store, pool.get_connection, pool.release, 3)
    finally:
        await store.close()


async def test_redis_cluster_pool_stats(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = rd.RedisSettings(max_connections=3, pool_timeout=10)
    store = await rd.redis_cluster_store(request, tmp_path, settings=settings)
    gate: asyncio.Semaphore = store._gate  # type: ignore[attr-defined]

    async def acquire() -> None:
        await gate.acquire()

    async def release(_: Any) -> None:
        gate.release()

    try:
        # A cluster's waiting are the calls awaiting its gate, which bounds the calls.
        await _held(store, acquire, release, 3, connections=False)
    finally:
        await store.close()


async def test_postgres_pool_stats(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from checkpoint_gateway.backends.postgres import PostgresSettings

    settings = PostgresSettings(min_size=1, max_size=3)
    store = await pg.postgresql(request, tmp_path, settings=settings)
    pool = store._pool  # type: ignore[attr-defined]
    try:
        await _held(store, pool.getconn, pool.putconn, 3)
    finally:
        await store.close()
