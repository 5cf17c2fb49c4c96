"""Console sessions: the bearer token a person signed in with, kept on the server.

The browser holds only a random session id (256 bits) in an HttpOnly, SameSite=Strict
cookie; the token stays here, in memory, and goes nowhere but into the gateway calls made
for that session. A session ends when its owner signs out, after ``idle_seconds``
without a request, when the gateway stops accepting its token (revoked, expired JWT), or
when the gateway restarts (sessions are not stored).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from checkpoint_client import AsyncCheckpointClient

__all__ = ["ClientFactory", "Session", "Sessions"]

#: Makes a client that calls the gateway with (token, tenant to act in or "").
ClientFactory = Callable[[str | None, str], AsyncCheckpointClient]

#: Clients (one gRPC channel each) a session keeps, one per tenant an admin looks at.
_CLIENTS_PER_SESSION = 4


class Session:
    """One signed-in browser.

    Attributes:
        id: the cookie's value.
        csrf: the token every form that posts must carry.
        last_seen: monotonic time of its latest request.
    """

    def __init__(self, token: str | None, factory: ClientFactory, now: float) -> None:
        self.id = secrets.token_urlsafe(32)
        self.csrf = secrets.token_urlsafe(32)
        self.last_seen = now
        self._token = token
        self._factory = factory
        self._clients: OrderedDict[str, AsyncCheckpointClient] = OrderedDict()

    def client(self, tenant: str = "") -> AsyncCheckpointClient:
        """The client that calls the gateway as this session's principal, in ``tenant``
        (``""``: the principal's own)."""
        found = self._clients.get(tenant)
        if found is not None:
            self._clients.move_to_end(tenant)
            return found
        client = self._factory(self._token, tenant)
        self._clients[tenant] = client
        return client

    def evicted_clients(self) -> list[AsyncCheckpointClient]:
        """Take out the clients beyond the per-session bound (the caller closes them)."""
        out = []
        while len(self._clients) > _CLIENTS_PER_SESSION:
            out.append(self._clients.popitem(last=False)[1])
        return out

    async def close(self) -> None:
        """Close every client of the session."""
        clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            await client.close()


class Sessions:
    """The signed-in sessions, at most ``max_sessions`` (the oldest go first).

    Args:
        factory: makes the gateway clients of a session.
        idle_seconds: a session unused this long has ended.
        max_sessions: bound on the sessions kept in memory.
        clock: monotonic time (tests inject one).
    """

    def __init__(
        self,
        factory: ClientFactory,
        *,
        idle_seconds: float,
        max_sessions: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._factory = factory
        self._idle = idle_seconds
        self._max = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def new(self, token: str | None) -> Session:
        """A session not yet kept (``add`` it once its token proved good)."""
        return Session(token, self._factory, self._clock())

    async def add(self, session: Session) -> None:
        """Keep ``session``; the oldest one ends when there are too many."""
        self._sessions[session.id] = session
        while len(self._sessions) > self._max:
            _, oldest = self._sessions.popitem(last=False)
            await oldest.close()

    async def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (its idle time restarts), or None."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_seen > self._idle:
            await self.end(session_id)
            return None
        session.last_seen = now
        self._sessions.move_to_end(session_id)
        return session

    async def end(self, session_id: str) -> None:
        """End a session (sign-out, or its token is no longer accepted)."""
        session = self._sessions.pop(session_id, None)
        if session is not None:
            await session.close()

    async def close(self) -> None:
        """End every session."""
        while self._sessions:
            _, session = self._sessions.popitem()
            await session.close()
