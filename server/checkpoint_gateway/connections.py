"""Bounds on the connections a gateway accepts, as gRPC server channel options.

A client that connects and then does nothing useful must not hold a connection, a stream
or memory for ever. Each bound below closes one way of doing that; each is a setting
(``config``), and each default says why it is that:

- ``handshake_timeout`` 10 s: a connection must complete its handshake (TLS, when on) and
  send the HTTP/2 preface and SETTINGS within it, else it is closed: a bare TCP
  connection, or one that stops halfway through the preface. A TLS handshake across a
  continent takes well under a second; grpc's own default is 120 s.
- ``max_connection_idle`` 300 s: a connection with no call in flight for this long gets
  a GOAWAY and is closed. Clients reconnect on their next call (a millisecond in a
  network); a client that opened a connection and sent nothing since is gone.
- ``max_connection_age`` 1800 s, then ``max_connection_age_grace`` 60 s: every
  connection is asked to go (GOAWAY, with grpc's 10% jitter) after half an hour, and
  closed once its calls had the grace to finish. This bounds whatever else a client can
  hold open (a stream it never finishes reading), and spreads long-lived clients over
  replicas that were added since they connected. The grace is twice the default deadline
  (30 s), so a call that follows it is never cut off.
- ``keepalive_time`` 60 s and ``keepalive_timeout`` 20 s: the gateway pings a connection
  that has been quiet for a minute and closes it when no answer comes within 20 s, so a
  peer that vanished (a crashed host, a dropped NAT entry) does not hold its connection
  and calls until the idle bound.
- ``min_ping_interval`` 10 s: a client may ping this often and no more (two strikes, then
  GOAWAY ``too_many_pings``). 10 s is the shortest keepalive grpc-go and grpc-java
  clients may be configured with, so no well-behaved client is cut off; a client that
  floods pings is.
- ``max_concurrent_streams`` 256: calls in flight on one connection. Well above what one
  client needs (the benchmark's 64 callers share one connection) and a bound on what one
  connection can hold; calls beyond it wait in the client, they do not fail.

A call whose request never (fully) arrives is bounded by the call's deadline instead (see
``intake``): the idle and age bounds only see connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ConnectionLimits"]


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The bounds in seconds (see the module docstring); None turns one off."""

    handshake_timeout: float = 10.0
    max_connection_idle: float | None = 300.0
    max_connection_age: float | None = 1800.0
    max_connection_age_grace: float = 60.0
    keepalive_time: float = 60.0
    keepalive_timeout: float = 20.0
    min_ping_interval: float = 10.0
    max_concurrent_streams: int = 256

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive")

    def server_options(self) -> list[tuple[str, Any]]:
        """The gRPC server channel arguments that apply these bounds."""
        options: list[tuple[str, Any]] = [
            ("grpc.server_handshake_timeout_ms", _ms(self.handshake_timeout)),
            ("grpc.keepalive_time_ms", _ms(self.keepalive_time)),
            ("grpc.keepalive_timeout_ms", _ms(self.keepalive_timeout)),
            # What closes a connection whose peer stopped answering (GOAWAY ping_timeout):
            # grpc applies keepalive_timeout only while it waits for data, and its own
            # ping timeout (60 s) otherwise; a stalled call waits for none.
            ("grpc.http2.ping_timeout_ms", _ms(self.keepalive_timeout)),
            # Keepalive pings of idle connections too, and from clients that keep theirs
            # alive between calls (within min_ping_interval).
            ("grpc.keepalive_permit_without_calls", 1),
            # The gateway's own keepalive pings continue on a connection that carries no
            # data (a stalled call): 0 = no limit. Only the sender counts these.
            ("grpc.http2.max_pings_without_data", 0),
            (
                "grpc.http2.min_recv_ping_interval_without_data_ms",
                _ms(self.min_ping_interval),
            ),
            ("grpc.http2.max_ping_strikes", 2),
            ("grpc.max_concurrent_streams", self.max_concurrent_streams),
        ]
        if self.max_connection_idle is not None:
            options.append(("grpc.max_connection_idle_ms", _ms(self.max_connection_idle)))
        if self.max_connection_age is not None:
            options.append(("grpc.max_connection_age_ms", _ms(self.max_connection_age)))
            options.append(("grpc.max_connection_age_grace_ms", _ms(self.max_connection_age_grace)))
        return options
