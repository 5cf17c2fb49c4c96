"""Storage backends, and the one place that turns a backend URL into a store.

    memory://                       in this process; nothing survives a restart
    file:///var/lib/checkpoints     one directory per execution, atomic file writes
    sqlite:///checkpoints.db        one SQLite file (WAL); three slashes = relative path
    postgresql://user:pw@host/db    PostgreSQL via a psycopg connection pool
    redis://host:6379/0, rediss://  Redis (TLS with rediss://)
    redis+cluster://h1:7000,h2:7001 Redis Cluster

Core code takes ready store objects; only this factory (used by the CLI) parses URLs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from ..secrets import mask_url
from ._base import Backend, Retention
from ._location import StoreLocationError
from ._states import StateStorage
from .memory import MemoryStore

__all__ = [
    "Backend",
    "BackendURLError",
    "MemoryStore",
    "Retention",
    "StateStorage",
    "StoreLocationError",
    "mask_url",
    "open_backend",
]

SCHEMES = ("memory", "file", "sqlite", "postgresql", "redis", "rediss", "redis+cluster")


class BackendURLError(ValueError):
    """The backend URL is malformed or names an unknown scheme."""


async def open_backend(url: str, **options: Any) -> Backend:
    """Build (and set up: directories, migrations) the backend a URL names.

    ``options`` go to the backend: ``limits``, ``retention``, ``clock`` and the
    backend's own settings (pool sizes, ...).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    store: Backend
    if scheme == "memory":
        store = MemoryStore(**options)
    elif scheme in ("file", "sqlite"):
        if parts.netloc not in ("", "localhost"):
            raise BackendURLError(f"{scheme}:// URL must not name a host: {mask_url(url)!r}")
        path = unquote(parts.path)
        if scheme == "sqlite":
            # SQLAlchemy's convention: sqlite:///rel.db is relative to the working
            # directory, sqlite:////abs.db is absolute.
            path = "/" + path.lstrip("/") if url.startswith("sqlite:////") else path[1:]
        if not path:
            raise BackendURLError(f"{scheme}:// URL needs a path, e.g. {scheme}:///data")
        if scheme == "file":
            from .file import FileStore

            store = await FileStore.open(path, **options)
        else:
            from .sqlite import SqliteStore

            store = await SqliteStore.open(path, **options)
    elif scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        store = await PostgresStore.open(url, **options)
    elif scheme in ("redis", "rediss", "redis+cluster", "rediss+cluster"):
        from .redis import RedisStore

        store = await RedisStore.open(url, **options)
    else:
        # Never the string itself: without a scheme it may be anything, a libpq conninfo
        # with its password included.
        given = f"scheme {parts.scheme + '://'!r}" if parts.scheme else "no scheme"
        raise BackendURLError(
            f"the backend URL has {given}; expected one of {', '.join(s + '://' for s in SCHEMES)}"
        )
    return store
