"""Connections that never become useful are closed within their bound, over real sockets,
while a client's normal calls keep working: a bare TCP connection, half an HTTP/2 preface
or frame, a connection with nothing to do, one that stops answering pings, one that never
goes away, and one that floods pings (GOAWAY too_many_pings)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from checkpoint_client import Checkpoint, CheckpointClient
from checkpoint_gateway import config
from checkpoint_gateway.connections import ConnectionLimits
from tests.gateway_process import GatewayProcess

from . import h2

# The bounds of the gateway under test: short, so the test is; each is a setting.
HANDSHAKE = 1.0
IDLE = 2.0
AGE, GRACE = 6.0, 1.0
KEEPALIVE, KEEPALIVE_TIMEOUT = 1.0, 1.0
STREAMS = 50
SLACK = 2.5  # scheduling on a busy two-core machine; the bound is what is tested
SAVE = "/checkpoint_gateway.v1.CheckpointService/Save"


class Traffic:
    """Saves in a loop on their own connection for as long as a test runs."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.saved = 0
        self.failures: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with CheckpointClient(self.target, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    client.save(Checkpoint("traffic", {"n": self.saved}))
                    self.saved += 1
                except Exception as exc:
                    self.failures.append(exc)
                self._stop.wait(0.05)  # a steady trickle, not a load test

    def wait_for_a_save(self, within: float = 10.0) -> None:
        """Poll until at least one save went through (a short test may end first)."""
        deadline = time.monotonic() + within
        while self.saved == 0 and not self.failures:
            assert time.monotonic() < deadline, "no save went through"
            self._stop.wait(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    args = {
        "--handshake-timeout-seconds": HANDSHAKE,
        "--max-connection-idle-seconds": IDLE,
        "--max-connection-age-seconds": AGE,
        "--max-connection-age-grace-seconds": GRACE,
        "--keepalive-time-seconds": KEEPALIVE,
        "--keepalive-timeout-seconds": KEEPALIVE_TIMEOUT,
        "--max-concurrent-streams": STREAMS,
        # Off, so that a stalled call keeps its connection busy for the bounds below
        # (the deadline ends stalled calls on its own: test_stalled_calls).
        "--deadline-seconds": "off",
    }
    flags = [str(item) for pair in args.items() for item in pair]
    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--backend", "memory://", *flags],
        cwd=tmp_path_factory.mktemp("gw"),
    )
    try:
        gw.wait_listening()
        yield gw
    finally:
        assert gw.stop() == 0, gw.output()
    assert "Traceback" not in gw.output()


@pytest.fixture
def traffic(gateway: GatewayProcess) -> Iterator[Traffic]:
    load = Traffic(gateway.target)
    yield load
    load.wait_for_a_save()
    load.stop()
    assert load.failures == []


@pytest.fixture
def conn(gateway: GatewayProcess) -> Iterator[h2.RawConnection]:
    assert gateway.port is not None
    raw = h2.RawConnection(gateway.port)
    yield raw
    raw.close()


def test_a_bare_tcp_connection_is_closed_at_the_handshake_bound(
    conn: h2.RawConnection, traffic: Traffic
) -> None:
    closed = conn.wait_closed(HANDSHAKE + SLACK)
    assert closed is not None, "still open"
    assert closed >= HANDSHAKE * 0.9


def test_half_a_preface_is_closed_at_the_handshake_bound(
    conn: h2.RawConnection, traffic: Traffic
) -> None:
    conn.send(h2.PREFACE[:10])
    closed = conn.wait_closed(HANDSHAKE + SLACK)
    assert closed is not None, "still open"
    assert closed >= HANDSHAKE * 0.9


def test_half_a_frame_is_closed_at_the_idle_bound(conn: h2.RawConnection, traffic: Traffic) -> None:
    conn.answer_pings = True
    conn.handshake()
    conn.send(h2.frame(h2.HEADERS, h2.END_HEADERS, 1, b"\x00" * 100)[:12])  # 3 of 100 bytes
    assert conn.wait_closed(IDLE + SLACK) is not None, "still open"


def test_a_connection_without_calls_gets_goaway_at_the_idle_bound(
    conn: h2.RawConnection, traffic: Traffic
) -> None:
    conn.answer_pings = True  # alive, just idle
    conn.handshake()
    closed = conn.wait_closed(IDLE + SLACK)
    assert closed is not None, "still open"
    assert closed >= IDLE * 0.9
    goaway = conn.goaway()
    assert goaway is not None
    assert b"connection idle" in goaway.payload


def test_a_peer_that_stops_answering_pings_is_closed(
    conn: h2.RawConnection, traffic: Traffic
) -> None:
    conn.handshake()
    conn.start_call(SAVE)  # busy, so not idle; and the deadline is off
    closed = conn.wait_closed(KEEPALIVE + KEEPALIVE_TIMEOUT + SLACK)
    assert closed is not None, "still open"
    assert any(f.type == h2.PING and not f.flags & h2.ACK for f in conn.frames)
    goaway = conn.goaway()
    assert goaway is not None
    assert b"ping_timeout" in goaway.payload


def test_a_connection_that_never_goes_is_closed_at_the_age_bound(
    conn: h2.RawConnection, traffic: Traffic
) -> None:
    conn.answer_pings = True
    conn.handshake()
    conn.start_call(SAVE)  # a call that never ends, on a live connection
    # grpc adds up to 10% of jitter to the age.
    closed = conn.wait_closed(AGE * 1.1 + GRACE + SLACK)
    assert closed is not None, "still open"
    assert closed >= AGE * 0.9
    assert conn.goaway() is not None


def test_ping_flood_gets_goaway_too_many_pings(conn: h2.RawConnection, traffic: Traffic) -> None:
    conn.answer_pings = True
    conn.handshake()
    for i in range(5):
        try:
            conn.send(h2.frame(h2.PING, 0, 0, i.to_bytes(8, "big")))
        except OSError:
            break  # already closed
    closed = conn.wait_closed(SLACK)
    assert closed is not None, "still open"
    goaway = conn.goaway()
    assert goaway is not None
    assert goaway.goaway_error == h2.ENHANCE_YOUR_CALM
    assert b"too_many_pings" in goaway.payload


def test_the_stream_limit_is_advertised(conn: h2.RawConnection) -> None:
    conn.handshake()
    assert conn.server_settings()[0x3] == STREAMS  # SETTINGS_MAX_CONCURRENT_STREAMS


def test_the_defaults_are_the_documented_ones() -> None:
    defaults = ConnectionLimits()
    settings = config.Settings()
    assert (
        settings.handshake_timeout_seconds,
        settings.max_connection_idle_seconds,
        settings.max_connection_age_seconds,
        settings.max_connection_age_grace_seconds,
        settings.keepalive_time_seconds,
        settings.keepalive_timeout_seconds,
        settings.min_ping_interval_seconds,
        settings.max_concurrent_streams,
    ) == (
        defaults.handshake_timeout,
        defaults.max_connection_idle,
        defaults.max_connection_age,
        defaults.max_connection_age_grace,
        defaults.keepalive_time,
        defaults.keepalive_timeout,
        defaults.min_ping_interval,
        defaults.max_concurrent_streams,
    )
    # And the README's settings table says so.
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    flags = {
        "--handshake-timeout-seconds",
        "--max-connection-idle-seconds",
        "--max-connection-age-seconds",
        "--max-connection-age-grace-seconds",
        "--keepalive-time-seconds",
        "--keepalive-timeout-seconds",
        "--min-ping-interval-seconds",
        "--max-concurrent-streams",
    }
    for flag, _, default, _ in config.describe():
        if flag in flags:
            row = readme.split(f"| `{flag}` |", 1)[1].split("\n", 1)[0]
            assert f"| `{default.removesuffix('.0')}` |" in row, (flag, row)
