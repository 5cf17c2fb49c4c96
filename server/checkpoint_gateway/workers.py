"""``serve --workers N``: N gateway processes sharing one port, and their supervisor.

One Python process runs one event loop on one core, so a CPU-bound gateway (small calls
on a fast backend) on a multi-core host serves more with more processes. With
``--workers N`` (N > 1) the process the user started becomes a supervisor that serves no
calls itself:

1. It checks the listen address is free (a bind without SO_REUSEPORT, so a gateway
   already there fails this one, whether it has workers or not) and reserves it with a
   socket bound with SO_REUSEPORT but not listening, choosing the port when it is 0: every
   worker then binds the same concrete port.
2. It opens the backend once and closes it: migrations run here, once, and a backend that
   cannot be reached fails the start here, with one line.
3. It starts N workers: the same command line run again in a fresh interpreter (never a
   fork: grpc must not be forked once it runs) with the concrete ``--listen`` and the
   hidden ``--worker-*`` flags. Each runs the normal serve path with SO_REUSEPORT on; the
   kernel spreads new connections over their listening sockets. A gRPC channel is one
   connection, so a client's calls all go to one worker: the spread is over clients.
4. Once every worker has said on a pipe that it listens, it closes the reservation, serves
   /metrics itself (the merge of the workers' files in a private
   ``PROMETHEUS_MULTIPROC_DIR``, see ``metrics``) and logs the ``listening on`` line.
5. SIGTERM or SIGINT is forwarded to every worker, which drains as a lone gateway does;
   the supervisor exits 0 once all of them have exited 0, and removes the metrics files.

A worker that exits on its own (a crash, the OOM killer) is not restarted: the supervisor
stops the others (they drain) and exits 1 with a line naming the worker. Whatever restarts
a crashed gateway (systemd, Kubernetes) then restarts this one whole, and a crash loop
shows there instead of being hidden here. Workers hold the read end of a "lifeline" pipe
whose only write end the supervisor holds: if the supervisor dies, even by SIGKILL, they
read end of file and drain, so no worker outlives it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from . import config, metrics
from .auth import metrics_authorizer

__all__ = ["MULTIPROC_DIR_ENV", "STOP_MARGIN", "WorkerRole", "add_worker_arguments", "supervise"]

log = logging.getLogger("checkpoint_gateway")

#: Where prometheus_client's multiprocess mode keeps each process's values.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
PAGE_TOKEN_KEY_ENV = config.ENV_PREFIX + "PAGE_TOKEN_KEY"

#: Seconds, beyond ``--grace-seconds``, that stopping workers get before they are killed.
STOP_MARGIN = 15.0


@dataclass(frozen=True)
class WorkerRole:
    """A worker's place under its supervisor, from the hidden ``--worker-*`` flags.

    Attributes:
        index: 1 to N.
        ready_fd: the pipe to write "INDEX\\n" to once listening.
        lifeline_fd: the pipe whose end of file means the supervisor is gone.
    """

    index: int
    ready_fd: int
    lifeline_fd: int

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> WorkerRole | None:
        index = getattr(args, "worker_index", None)
        if index is None:
            return None
        return cls(index, args.worker_ready_fd, args.worker_lifeline_fd)

    def watch_supervisor(
        self, loop: asyncio.AbstractEventLoop, on_gone: Callable[[], None]
    ) -> None:
        """Call ``on_gone`` when the supervisor is gone. It never writes to the lifeline,
        so the pipe turns readable only at end of file: when its write end closed."""
        fd = self.lifeline_fd

        def readable() -> None:
            loop.remove_reader(fd)
            log.warning("the supervisor is gone: shutting down")
            on_gone()

        loop.add_reader(fd, readable)

    def ready(self) -> None:
        """Tell the supervisor this worker listens."""
        os.write(self.ready_fd, f"{self.index}\n".encode())
        os.close(self.ready_fd)


def add_worker_arguments(parser: argparse.ArgumentParser) -> None:
    """The hidden flags the supervisor starts a worker with (never typed by a user)."""
    for name in ("--worker-index", "--worker-ready-fd", "--worker-lifeline-fd"):
        parser.add_argument(name, type=int, default=None, help=argparse.SUPPRESS)


async def supervise(
    settings: config.Settings,
    argv: Sequence[str],
    *,
    prepare: Callable[[], Awaitable[None]],
    announce: Callable[[int], None],
) -> int:
    """Run ``settings.workers`` workers until SIGTERM or SIGINT; return the exit code.

    Args:
        argv: the command line (``serve ...``) the workers run again.
        prepare: opens the backend once and closes it (migrations, reachability).
        announce: logs the ``listening on`` line, given the port.

    Raises:
        OSError: the listen address is taken or not available, or the metrics one is.
    """
    return await _Supervisor(settings, argv).run(prepare, announce)


@dataclass
class _Worker:
    index: int
    process: asyncio.subprocess.Process
    exited: asyncio.Task[int]

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, sig: int) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class _Supervisor:
    def __init__(self, settings: config.Settings, argv: Sequence[str]) -> None:
        self.settings = settings
        self.argv = list(argv)
        self.workers: list[_Worker] = []
        self.stop_signal: int | None = None
        self.stopping = asyncio.Event()
        self.metrics_dir: str | None = None

    def _on_signal(self, sig: int) -> None:
        if self.stop_signal is None:
            self.stop_signal = sig
        self.stopping.set()
        for worker in self.workers:
            worker.signal(sig)

    def _live_pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.process.returncode is None]

    async def run(
        self, prepare: Callable[[], Awaitable[None]], announce: Callable[[int], None]
    ) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        host = self.settings.listen.rpartition(":")[0]
        reserved, port = _reserve(self.settings.listen)
        exporter: metrics.MetricsServer | None = None
        lifeline_r, lifeline_w = os.pipe()
        try:
            await prepare()
            if self.stopping.is_set():
                return 0
            if self.settings.metrics_listen:
                self.metrics_dir = tempfile.mkdtemp(prefix="checkpoint-gateway-metrics-")
                registry = metrics.multiprocess_registry(self.metrics_dir, self._live_pids)
                metrics_host, _, metrics_port = self.settings.metrics_listen.rpartition(":")
                authorize = None
                if self.settings.metrics_auth and self.settings.auth_principals_file:
                    authorize = metrics_authorizer(self.settings.auth_principals_file)
                try:
                    exporter = metrics.serve_registry(
                        registry, metrics_host, int(metrics_port), authorize=authorize
                    )
                except OSError as exc:
                    raise config.listen_error(
                        "metrics_listen", self.settings.metrics_listen, exc
                    ) from exc
            failed = await self._start(f"{host}:{port}", lifeline_r)
            os.close(lifeline_r)
            lifeline_r = -1
            if failed is not None:
                return failed
            for sock in reserved:
                sock.close()
            if exporter is not None:
                log.info("metrics on http://%s:%d/metrics", exporter.host, exporter.port)
            announce(port)
            return await self._supervise()
        finally:
            for sock in reserved:
                sock.close()
            # Only after an unexpected error are workers still running here.
            for worker in self.workers:
                worker.signal(signal.SIGKILL)
            for worker in self.workers:
                with contextlib.suppress(BaseException):
                    await worker.exited
            for fd in (lifeline_r, lifeline_w):
                if fd >= 0:
                    os.close(fd)
            if exporter is not None:
                exporter.stop()
            if self.metrics_dir is not None:
                shutil.rmtree(self.metrics_dir, ignore_errors=True)
            if self.workers:
                log.info("stopped")

    async def _start(self, listen: str, lifeline_r: int) -> int | None:
        """Start the workers and wait until each listens; None then, else the exit code."""
        env = dict(os.environ)
        # Workers sign page tokens alike, or a page token from one is refused by the next.
        env.setdefault(PAGE_TOKEN_KEY_ENV, secrets.token_hex(32))
        env.pop(MULTIPROC_DIR_ENV, None)
        if self.metrics_dir is not None:
            env[MULTIPROC_DIR_ENV] = self.metrics_dir
        ready_r, ready_w = os.pipe()
        try:
            for index in range(1, self.settings.workers + 1):
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "checkpoint_gateway.cli",
                    *self.argv,
                    "--listen",
                    listen,
                    "--worker-index",
                    str(index),
                    "--worker-ready-fd",
                    str(ready_w),
                    "--worker-lifeline-fd",
                    str(lifeline_r),
                    stdin=asyncio.subprocess.DEVNULL,
                    env=env,
                    pass_fds=(ready_w, lifeline_r),
                )
                worker = _Worker(index, process, asyncio.create_task(self._reap(process)))
                self.workers.append(worker)
                if self.stop_signal is not None:  # arrived while this one started
                    worker.signal(self.stop_signal)
        finally:
            os.close(ready_w)  # the workers hold their copies: end of file once all closed
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(ready_r, "rb", buffering=0)
        )
        try:
            all_ready = asyncio.create_task(self._all_ready(reader))
            stop = asyncio.create_task(self.stopping.wait())
            exits = {w.exited for w in self.workers}
            await asyncio.wait({all_ready, stop, *exits}, return_when=asyncio.FIRST_COMPLETED)
            all_ready.cancel()
            stop.cancel()
        finally:
            transport.close()
        for worker in self.workers:
            if worker.exited.done() and not self.stopping.is_set():
                code = worker.exited.result()
                log.error(
                    "worker %d (pid %d) %s while starting; stopping the other workers",
                    worker.index,
                    worker.pid,
                    _describe_exit(code),
                )
                await self._stop_all(signal.SIGTERM)
                return code if code > 0 else 1
        if self.stopping.is_set():
            return 0 if await self._stop_all(None) else 1
        return None

    async def _all_ready(self, reader: asyncio.StreamReader) -> None:
        ready: set[int] = set()
        while len(ready) < len(self.workers):
            line = await reader.readline()
            if not line:
                await asyncio.Event().wait()  # every worker exited: the exit tasks say how
            ready.add(int(line))

    async def _reap(self, process: asyncio.subprocess.Process) -> int:
        code = await process.wait()
        if self.metrics_dir is not None:
            # Its live gauges (in flight, pools, breaker) leave the sums; counters stay.
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(  # type: ignore[no-untyped-call]
                process.pid, self.metrics_dir
            )
        return code

    async def _supervise(self) -> int:
        """Serve until a signal (0 after a clean drain) or a worker's death (1)."""
        stop = asyncio.create_task(self.stopping.wait())
        exits = {w.exited for w in self.workers}
        await asyncio.wait({stop, *exits}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if self.stopping.is_set():
            log.info(
                "shutting down: %d workers drain in-flight calls for up to %.1fs",
                len(self.workers),
                self.settings.grace_seconds,
            )
            return 0 if await self._stop_all(None) else 1
        dead = next(w for w in self.workers if w.exited.done())
        log.error(
            "worker %d (pid %d) %s; stopping the other workers and exiting 1 (workers are "
            "not restarted: restart the gateway)",
            dead.index,
            dead.pid,
            _describe_exit(dead.exited.result()),
        )
        await self._stop_all(signal.SIGTERM)
        return 1

    async def _stop_all(self, sig: int | None) -> bool:
        """Send ``sig`` (None: the signal handler already forwarded one) and wait for every
        worker; True if each drained and exited 0 (or, not yet serving, died of the signal
        it was sent)."""
        if sig is not None:
            for worker in self.workers:
                worker.signal(sig)
        exits = [w.exited for w in self.workers]
        _, pending = await asyncio.wait(exits, timeout=self.settings.grace_seconds + STOP_MARGIN)
        clean = True
        for worker in self.workers:
            if worker.exited in pending:
                log.error("worker %d (pid %d) did not stop; killing it", worker.index, worker.pid)
                worker.signal(signal.SIGKILL)
                await worker.exited
                clean = False
                continue
            code = worker.exited.result()
            sent = {s for s in (sig, self.stop_signal) if s is not None}
            if code != 0 and -code not in sent:
                log.error("worker %d (pid %d) %s", worker.index, worker.pid, _describe_exit(code))
                clean = False
        return clean


def _reserve(listen: str) -> tuple[list[socket.socket], int]:
    """Check ``listen`` is free and hold it for the workers; (sockets, concrete port).

    Raises:
        OSError: the address is taken (by anything, a gateway with workers included) or
            not available.
    """
    host_text, _, port_text = listen.rpartition(":")
    port = int(port_text)
    try:
        found = socket.getaddrinfo(
            host_text.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        addresses = list(dict.fromkeys((family, address[0]) for family, *_, address in found))
        # Without SO_REUSEPORT: it fails where anything listens, even a group of sockets
        # that have it on (which a socket with it on would join without a word).
        probes: list[socket.socket] = []
        try:
            for family, address in addresses:
                probe = socket.socket(family, socket.SOCK_STREAM)
                probes.append(probe)
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((address, port))
                port = port or probe.getsockname()[1]
        finally:
            for probe in probes:
                probe.close()
        reserved: list[socket.socket] = []
        try:
            for family, address in addresses:
                sock = socket.socket(family, socket.SOCK_STREAM)
                reserved.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind((address, port))
        except BaseException:
            for sock in reserved:
                sock.close()
            raise
    except OSError as exc:
        raise config.listen_error("listen", listen, exc) from exc
    return reserved, port
