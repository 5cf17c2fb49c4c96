"""The settings of a PostgreSQL store: pool sizes, timeouts, placement, batching."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PostgresSettings", "check_identifier"]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,40}")


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    """Connection pool and table placement of a PostgreSQL store.

    Attributes:
        min_size: connections kept open while idle; one keeps the first call after a
            quiet spell from paying for a connection, without holding server slots.
        max_size: connections at most; bounds the load one gateway replica puts on the
            server (PostgreSQL allows 100 in all by default, shared by every replica).
        timeout: seconds a call waits for a free connection before ``ResourceExhausted``;
            rides out bursts, yet answers well before typical client deadlines.
        max_waiting: calls allowed to queue for a connection (0: no limit); set it to shed
            load immediately instead of letting a backlog build.
        max_idle: seconds an idle connection above ``min_size`` is kept; releases server
            slots after a burst.
        max_lifetime: seconds before a connection is replaced; bounds server-side memory
            growth and moves connections to a new primary or address after failover.
        reconnect_timeout: seconds the pool keeps trying to reconnect after losing the
            server before giving up on a connection; outlasts a restart or failover.
        check: test a connection (one round trip) when it is taken from the pool after
            idling ``check_after_idle`` seconds or more, so a connection the server or a
            firewall dropped while idle fails no call.
        check_after_idle: how long a connection must have idled in the pool before
            ``check`` tests it. 2: connections are dropped after idling (firewalls and
            NAT after minutes, a server restart at any time, which a retry covers), and
            one in use a moment ago is alive; not testing it saves a round trip per save
            (p50 of an unloaded save 1.48 -> 1.33 ms here). 0 tests every checkout.
        prepare_threshold: executions of a query before psycopg prepares it on the
            server (saves parsing and planning); None turns prepared statements off, which
            PgBouncer in transaction mode (before 1.21) requires.
        connect_timeout: seconds to establish one connection, and to open the pool; a
            server that does not answer fails startup instead of hanging it.
        schema: schema holding the tables; created when missing. Lowercase identifier.
        table_prefix: prefix of the table names, so several stores or applications can
            share a schema. Lowercase identifier.
        coalesce_saves: run the single saves that arrive in one event-loop iteration (from
            any RPC) as one batch: one statement and one commit for all of them. A save
            costs a round trip and a commit (a WAL flush) whether it stores one checkpoint
            or a hundred, so under load this multiplies throughput, while an unloaded save
            waits only for the current iteration to end. Each caller still gets its own
            answer after the commit, so durability, ordering and errors are unchanged; off,
            every save runs alone (still in one round trip).
        max_batch: the most saves in one coalesced batch. At 100 a batch of 1 KiB states
            is a ~100 KiB statement holding its lineage locks for a few milliseconds,
            while its commit already costs each save 1/100th; the saves beyond it wait
            for the next batch (batches are also cut at 8 MiB of state).
    """

    min_size: int = 1
    max_size: int = 10
    timeout: float = 10.0
    max_waiting: int = 0
    max_idle: float = 300.0
    max_lifetime: float = 1800.0
    reconnect_timeout: float = 300.0
    check: bool = True
    check_after_idle: float = 2.0
    prepare_threshold: int | None = 5
    connect_timeout: float = 10.0
    schema: str = "public"
    table_prefix: str = "checkpoint_"
    coalesce_saves: bool = True
    max_batch: int = 100

    def __post_init__(self) -> None:
        check_identifier(self.schema, "schema")
        check_identifier(self.table_prefix, "table_prefix")
        if self.min_size < 0:
            raise ValueError("min_size must not be negative")
        if self.max_size < max(1, self.min_size):
            raise ValueError("max_size must be at least 1 and at least min_size")
        if self.max_waiting < 0:
            raise ValueError("max_waiting must not be negative")
        if self.prepare_threshold is not None and self.prepare_threshold < 0:
            raise ValueError("prepare_threshold must be None (off) or at least 0")
        for name in ("timeout", "max_idle", "max_lifetime", "reconnect_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.check_after_idle < 0:
            raise ValueError("check_after_idle must not be negative")
        if self.connect_timeout < 1:
            raise ValueError("connect_timeout must be at least 1 second")
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")


def check_identifier(value: object, field: str) -> str:
    """Accept a schema or table prefix that needs no quoting: ``[a-z_][a-z0-9_]{0,40}``."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"{field} {value!r} is not allowed: use 1 to 41 lowercase letters, digits and "
            "underscores, not starting with a digit (e.g. 'checkpoints')"
        )
    return value
