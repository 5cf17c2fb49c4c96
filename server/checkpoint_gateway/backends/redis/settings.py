"""The settings of a Redis store; each default says why it is that."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["RedisSettings"]

_PREFIX_RE = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Connection and key settings of a RedisStore. Each default says why it is that."""

    max_connections: int = 50
    """Connections (per cluster node) the store may open. 50: a command holds one only
    for a round trip, so 50 carries thousands of calls a second, and many gateway replicas
    together stay far below Redis's default ``maxclients`` of 10000."""

    socket_timeout: float = 5.0
    """Seconds a call may wait for Redis. On plain Redis that bounds the whole call (its
    round trips together, one timer per call); on a cluster, each reply. 5: the largest
    reply (a page of 16 MiB states) or a big Clear still fits, while a hung server becomes
    ``Unavailable`` well within a caller's usual deadline instead of hanging the call."""

    socket_connect_timeout: float = 2.0
    """Seconds to wait for a TCP (and TLS) connect. 2: connects take milliseconds inside a
    network, and a down server should fail fast so the caller can retry elsewhere."""

    health_check_interval: float = 30.0
    """Ping a pooled connection idle longer than this before reusing it. 30: shorter than
    the idle timeouts of common load balancers and NATs (60 s and up), so a silently
    dropped connection is noticed before a command is sent on it; costs one PING."""

    socket_keepalive: bool = True
    """TCP keepalive on every connection: detects dead peers on idle pooled connections
    at the TCP level, on top of the health check."""

    pool_timeout: float = 2.0
    """Seconds a call waits for a free connection before ``ResourceExhausted``. 2: long
    enough to ride out a burst (commands take milliseconds), short enough that an
    overloaded gateway sheds load within a caller's deadline instead of queueing."""

    coalesce_saves: bool = True
    """Send the saves that arrive in one event-loop iteration to Redis as one pipeline
    (one write, one read, one pooled connection) instead of one round trip each. Each
    save is still its own script, atomic and answered on its own; on: under concurrent
    load this is most of a save's cost in the gateway, and alone a save waits one
    iteration (microseconds). Not applied to Redis Cluster (saves there run one by one)."""

    max_batch: int = 100
    """The most saves in one pipeline (also for SaveMany). 100: large enough to carry a
    busy gateway's saves in a few pipelines, small enough that one pipeline of 1 MiB
    states stays well within ``socket_timeout``."""

    key_prefix: str = "cp:"
    """Prefix of every key. ``cp:``: short, and lets the store share a database with other
    data (and be found with ``SCAN MATCH cp:*``). 1-64 of ``A-Za-z0-9_.:/-``; braces
    would break the hash tag that keeps an execution in one cluster slot."""

    def __post_init__(self) -> None:
        count = self.max_connections
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("max_connections must be an integer of at least 1")
        for name in ("socket_timeout", "socket_connect_timeout", "pool_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        batch = self.max_batch
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError("max_batch must be an integer of at least 1")
        if not math.isfinite(self.health_check_interval) or self.health_check_interval < 0:
            raise ValueError("health_check_interval must be zero (off) or positive")
        if not isinstance(self.key_prefix, str) or not _PREFIX_RE.fullmatch(self.key_prefix):
            raise ValueError(
                f"key_prefix {self.key_prefix!r} must be 1-64 characters of A-Za-z0-9_.:/- "
                "(no braces: they would break the cluster hash tag)"
            )
