"""The connection pool's helpers: checking idle connections, naming the server without
secrets."""

from __future__ import annotations

import time
import weakref
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

__all__ = ["IdleCheck", "describe"]


class IdleCheck:
    """The pool's ``check``: a round trip, for connections idle ``after`` seconds or more.

    The store calls ``returned`` as each call gives its connection back (not the pool's
    ``reset`` callback: with one, psycopg_pool returns connections through a background
    task, a task per call and a pool that reads busy after the call ended). A connection
    the store never had, or one only the pool used, is tested.
    """

    def __init__(self, after: float) -> None:
        self._after = after
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    async def check(self, conn: AsyncConnection[Any]) -> None:
        at = self._returned.get(conn)
        if at is None or time.monotonic() - at >= self._after:
            await AsyncConnectionPool.check_connection(conn)

    def returned(self, conn: AsyncConnection[Any]) -> None:
        self._returned[conn] = time.monotonic()


def describe(conninfo: str) -> tuple[str, str | None]:
    """``(where, password)``: the server named without secrets, and the password to scrub."""
    try:
        params = conninfo_to_dict(conninfo) if conninfo else None
    except psycopg.Error:
        params = None
    if not params:
        return "the configured server", None
    host = params.get("host") or params.get("hostaddr") or "local socket"
    port = params.get("port")
    where = f"{params.get('user') or ''}{'@' if params.get('user') else ''}{host}"
    where += f":{port}" if port else ""
    where += f"/{params['dbname']}" if params.get("dbname") else ""
    password = params.get("password")
    return f"postgresql://{where}", str(password) if password else None
