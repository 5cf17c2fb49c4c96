"""Backend servers a test owns and may kill -9, stop, continue and restart.

They reuse the session harness's helpers (tests/harness) but live for one test, so
killing one never disturbs another test. A restart keeps the port and the data
directory: the server comes back with what it had acknowledged, as after a crash.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.harness.postgres import LocalServer
from tests.harness.redis import _free_port, _Server, _server_binary

STOP_TIMEOUT = 10.0


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` (by parent pid in /proc), deepest last."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name (2nd field) is in parentheses and may hold spaces.
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, ppid in parents.items() if ppid == pid]
        found += children
        frontier += children
    return found


def _gone(pid: int) -> bool:
    """True when ``pid`` has exited (a zombie counts: it holds no port or memory)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def _wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT
    while not all(_gone(p) for p in pids):
        if time.monotonic() > deadline:
            raise TimeoutError(f"processes {pids} still run {STOP_TIMEOUT}s after SIGKILL")
        time.sleep(0.01)


class KillablePostgres(LocalServer):
    """A throwaway PostgreSQL server (see ``tests.harness.postgres.LocalServer``)."""

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def processes(self) -> list[int]:
        """The postmaster and every backend and worker it forked."""
        root = self.postmaster_pid()
        return [root, *_descendants(root)]

    def kill9(self) -> None:
        """SIGKILL the postmaster and all its children at once: a crash, no shutdown."""
        pids = self.processes()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _wait_gone(pids)

    def restart(self) -> None:
        """Start again on the same port and data directory (crash recovery runs)."""
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.dir}",
                "-c max_connections=200",
            ]
        )
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "start")
        self._wait_ready()


class KillableRedis(_Server):
    """A throwaway redis-server with the append-only file on and fsynced before every
    reply (``appendfsync always``): what a deployment must run for every acknowledged
    save to survive a crash of Redis. With Redis's default ``everysec``, Redis answers
    while the file write waits behind a slow fsync (for up to two seconds), and a kill
    then loses acknowledged saves: this test saw 106 of 4672 lost that way."""

    def __init__(self, root: Path) -> None:
        self.binary = _server_binary("redis-server", "")
        self.extra = ("--appendonly", "yes", "--appendfsync", "always")
        super().__init__(self.binary, root, _free_port(), *self.extra)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ready(self) -> None:
        self.wait_ready(time.monotonic() + 30)

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=STOP_TIMEOUT)

    def pause(self) -> None:
        """SIGSTOP: the server keeps its sockets but answers nothing (a hung backend)."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        """Start again on the same port and directory; it reloads the append-only file."""
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", str(self.dir), "--logfile", str(self.log), *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.ready()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.resume()  # a stopped process would never act on SIGTERM
        super().stop()
