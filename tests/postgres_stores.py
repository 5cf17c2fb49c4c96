"""Fixtures for the PostgreSQL backend's own tests (a pytest plugin, see tests/conftest.py):
stores in fresh schemas, dropped afterwards, and a plain connection to look underneath."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from checkpoint_gateway.backends.postgres import PostgresSettings, PostgresStore
from tests.harness.postgres import drop_schema, new_schema

OpenStore = Callable[..., Awaitable[PostgresStore]]


@pytest.fixture
async def open_store(postgres_url: str) -> AsyncIterator[OpenStore]:
    """Open stores in fresh schemas (or a given one); all closed and dropped at the end.
    ``config={...}`` goes to ``PostgresSettings``, anything else to the store."""
    made: list[PostgresStore] = []

    async def make(*, schema: str | None = None, **options: Any) -> PostgresStore:
        settings = PostgresSettings(schema=schema or new_schema(), **options.pop("config", {}))
        store = await PostgresStore.open(postgres_url, settings=settings, **options)
        made.append(store)
        return store

    try:
        yield make
    finally:
        for store in made:
            await store.close()
        for schema in {s.settings.schema for s in made}:
            await asyncio.to_thread(drop_schema, postgres_url, schema)


@pytest.fixture
def sync_conn(postgres_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every statement psycopg sends from now on (queries, not BEGIN/COMMIT)."""
    sent: list[object] = []
    original = psycopg.AsyncCursor.execute

    async def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", counting)
    return sent


def table(store: PostgresStore, name: str) -> sql.Identifier:
    """One of the store's tables, schema-qualified: ``table(store, "checkpoints")``."""
    return sql.Identifier(store.settings.schema, store.settings.table_prefix + name)
