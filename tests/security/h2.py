"""Just enough HTTP/2, by hand, to misbehave on purpose: a raw socket that sends frames
(the preface, SETTINGS, PING, a HEADERS frame, half a DATA frame) and reads the frames the
gateway sends back, until it closes the connection."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from dataclasses import dataclass

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x6, 0x7
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
ENHANCE_YOUR_CALM = 0xB


@dataclass(frozen=True)
class Frame:
    type: int
    flags: int
    stream: int
    payload: bytes

    @property
    def goaway_error(self) -> int:
        assert self.type == GOAWAY
        return int.from_bytes(self.payload[4:8], "big")


def frame(kind: int, flags: int = 0, stream: int = 0, payload: bytes = b"") -> bytes:
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([kind, flags])
        + struct.pack(">I", stream)
        + payload
    )


def _string(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 127
    return bytes([len(data)]) + data


def headers_block(path: str, authority: str) -> bytes:
    """HPACK literals without indexing (no Huffman, no table): a gRPC call's headers."""
    fields = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]
    return b"".join(b"\x00" + _string(name) + _string(value) for name, value in fields)


class RawConnection:
    """A TCP connection to ``port`` on loopback, nothing sent yet."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.frames: list[Frame] = []
        self._buffer = b""
        self.closed_at: float | None = None
        self.opened_at = time.monotonic()
        #: ACK the gateway's PINGs as a live client does (off: a peer that has vanished).
        self.answer_pings = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def handshake(self) -> None:
        """The client preface and an empty SETTINGS, then ACK the server's SETTINGS."""
        self.send(PREFACE + frame(SETTINGS))
        deadline = time.monotonic() + 5
        while not any(f.type == SETTINGS and not f.flags & ACK for f in self.frames):
            assert time.monotonic() < deadline, "no SETTINGS from the server"
            self._read(0.1)
        self.send(frame(SETTINGS, ACK))

    def start_call(self, path: str, stream: int = 1) -> None:
        """A HEADERS frame opening a call, and no message."""
        block = headers_block(path, f"127.0.0.1:{self.port}")
        self.send(frame(HEADERS, END_HEADERS, stream, block))

    def _read(self, wait: float) -> bool:
        """Read what arrives within ``wait`` seconds; False once the peer has closed."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.closed_at = time.monotonic()
            return False
        self._buffer += data
        while len(self._buffer) >= 9:
            length = int.from_bytes(self._buffer[:3], "big")
            if len(self._buffer) < 9 + length:
                break
            kind, flags = self._buffer[3], self._buffer[4]
            stream = int.from_bytes(self._buffer[5:9], "big") & 0x7FFFFFFF
            received = Frame(kind, flags, stream, self._buffer[9 : 9 + length])
            self.frames.append(received)
            self._buffer = self._buffer[9 + length :]
            if self.answer_pings and kind == PING and not flags & ACK:
                with contextlib.suppress(OSError):  # it may have closed meanwhile
                    self.send(frame(PING, ACK, 0, received.payload))
        return True

    def server_settings(self) -> dict[int, int]:
        """The gateway's SETTINGS (read by ``handshake``), by identifier."""
        first = next(f for f in self.frames if f.type == SETTINGS and not f.flags & ACK)
        return {
            int.from_bytes(first.payload[i : i + 2], "big"): int.from_bytes(
                first.payload[i + 2 : i + 6], "big"
            )
            for i in range(0, len(first.payload), 6)
        }

    def goaway(self) -> Frame | None:
        return next((f for f in self.frames if f.type == GOAWAY), None)

    def wait_closed(self, within: float) -> float | None:
        """Seconds from opening until the gateway closed the connection, or None if it
        is still open ``within`` seconds after opening."""
        while self.closed_at is None:
            left = self.opened_at + within - time.monotonic()
            if left <= 0:
                return None
            self._read(min(left, 0.2))
        return self.closed_at - self.opened_at

    def wait_for(self, kind: int, stream: int, within: float) -> Frame | None:
        """The first frame of ``kind`` on ``stream`` (read for up to ``within`` s)."""
        deadline = time.monotonic() + within
        while True:
            for f in self.frames:
                if f.type == kind and f.stream == stream:
                    return f
            left = deadline - time.monotonic()
            if left <= 0 or (self.closed_at is not None):
                return None
            self._read(min(left, 0.2))

    def close(self) -> None:
        self.sock.close()
