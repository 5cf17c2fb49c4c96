"""Run ``checkpoint-gateway`` as a real subprocess and find the port it listens on."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

# The installed console script, as a user runs it.
CLI = [str(Path(sys.executable).with_name("checkpoint-gateway"))]

_LISTENING = re.compile(r"listening on (\S+):(\d+),")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any CHECKPOINT_GATEWAY_* or OTEL_* variable, plus ``extra``.

    Metrics listen on a free port unless ``extra`` says otherwise: the default (9464) is
    one port, and gateways of tests running at the same time must not fight over it.
    """
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CHECKPOINT_GATEWAY_", "OTEL_"))
    }
    env["CHECKPOINT_GATEWAY_METRICS_LISTEN"] = "127.0.0.1:0"
    env.update(extra or {})
    return env


class GatewayProcess:
    """A gateway subprocess; its stderr is collected line by line in the background."""

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        command: str = "serve",
    ) -> None:
        self.proc = subprocess.Popen(
            [*CLI, command, *args],
            cwd=cwd,
            env=clean_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._pump_thread = threading.Thread(target=self._pump, daemon=True)
        self._pump_thread.start()
        self.port: int | None = None

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_listening(self, timeout: float = 30.0) -> int:
        """Block until the 'listening on' log line; return the port."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise RuntimeError(f"gateway exited early: {self.output()}")
            self.lines.append(line)
            m = _LISTENING.search(line)
            if m:
                self.port = int(m.group(2))
                return self.port
        raise TimeoutError(f"gateway did not start: {self.output()}")

    def output(self) -> str:
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)

    @property
    def target(self) -> str:
        assert self.port is not None
        return f"127.0.0.1:{self.port}"

    def health(self, service: str = "") -> int:
        with grpc.insecure_channel(self.target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            return int(reply.status)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` (if still running) and wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout)
        self._pump_thread.join(timeout)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        self.output()
        return code
