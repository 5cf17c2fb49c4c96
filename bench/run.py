"""The benchmark: the gateway against its ceiling and its peer, in one run.

    .venv/bin/python -m bench.run                # the full matrix, about 15 minutes on 2 cores
    .venv/bin/python -m bench.run --quick        # a 1-second smoke run over a tiny matrix
    .venv/bin/python -m bench.run --targets bare,gateway-redis,direct-redis --ops save

Figures, not pass/fail. Every cell (target x operation x state size x concurrency) runs
the same workload (see ``bench/loadgen.py``) for ``--duration`` seconds or until
``--max-requests`` requests, after an unmeasured warm-up of the same shape, from a load
generator in a process of its own. The targets:

(a) ``bare``: a grpc.aio server of our proto that does no work (``bench/bare_server.py``):
    the ceiling for any Python gRPC service on this machine.
(b) ``gateway-<backend>``: ``checkpoint-gateway serve`` as a subprocess, metrics on,
    tracing off, on memory, SQLite, PostgreSQL and Redis.
(c) ``direct-<backend>``: the same backend opened exactly as the gateway opens it (same
    driver, pool and limits), called in the load generator's process. In-process on
    purpose: that is how a program uses a backend without the gateway, so gateway/(c) is
    what the gateway's hop and chain cost over calling the store yourself. The load
    generator still runs in its own process, apart from the orchestrator's bookkeeping.
(d) ``langgraph-postgresql``: LangGraph's AsyncPostgresSaver in-process on the same
    PostgreSQL server (a database of its own), with a pool the size of ours; needs the
    ``bench`` extra (``pip install -e '.[bench]'``), skipped with a line when missing.

save_many cells (batches of ``loadgen.BATCH`` = 100 checkpoints per call; no LangGraph
cells: it has no batch API) count checkpoints, not calls: their ops/s, CPU per request
and errors are per checkpoint, their latencies per call (JSON: ``items_per_op`` 100,
``calls``), and ``--max-requests`` caps their checkpoints at 10 times the figure (2,000
calls). The full run has them at 1 KiB only (``--save-many-sizes``: 1KiB, or every size
of ``--sizes`` when that is given), at every concurrency: 27 cells, about 1.5 minutes.

Measured per cell: successful ops/s, p50 and p99 latency, CPU per request of the server
process (the gateway or bare server; for (c) and (d) the load generator, where the store
runs), of the client process (remote targets only), and of the database server processes
(PostgreSQL: the postmaster and all its children; Redis: redis-server), the server's RSS at
the end of the cell, and for gateway rows the throughput ratios /(a), /(c) and /(d).

PostgreSQL and Redis are throwaway servers on free loopback ports (``tests/harness``),
PostgreSQL with its defaults (fsync and synchronous commit on), Redis without persistence.
Results go to ``--out`` (JSON, default ``bench/results/latest.json``) and, as a markdown
table, next to it (``.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import shlex
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc

from bench import loadgen, procstat, report
from bench.servers import BareServer, Gateway, Postgres, Redis, scratch
from checkpoint_gateway.config import parse_size

BACKENDS = ("memory", "sqlite", "postgresql", "redis")
TARGETS = (
    "bare",
    *(f"gateway-{b}" for b in BACKENDS),
    *(f"direct-{b}" for b in BACKENDS),
    "langgraph-postgresql",
)
DEFAULTS: dict[str, Any] = {
    "duration": 2.0,
    "warmup": 0.25,
    "max_requests": 20_000,
    "sizes": "1KiB,64KiB,1MiB",
    "concurrency": "1,16,64",
    "ops": ",".join(loadgen.OPS),
    "targets": ",".join(TARGETS),
    "save_many_sizes": "1KiB",
}
QUICK: dict[str, Any] = {
    "duration": 1.0,
    "warmup": 0.1,
    "max_requests": 2_000,
    "sizes": "1KiB",
    "concurrency": "1",
    "ops": "save",
    "targets": "bare,gateway-memory",
    "save_many_sizes": "1KiB",
}
SAVE_MANY_CAP = 10
"""A save_many cell may store this many times ``--max-requests`` checkpoints (2,000 calls
of 100 by default): at the request cap, a save_many cell of the bare server would last a
quarter of a second."""
COMMAND_TIMEOUT = 600.0  # one loader command; a cell is bounded far below this


class TargetFailed(Exception):
    """A target could not be started or measured; the run goes on without it."""


@dataclass(frozen=True)
class Settings:
    duration: float
    warmup: float
    max_requests: int
    sizes: list[int]
    save_many_sizes: list[int]
    concurrency: list[int]
    ops: list[str]
    targets: list[str]
    out: Path


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_args(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=(__doc__ or "").split("\n", 1)[0]
    )
    parser.add_argument("--quick", action="store_true", help="a 1-second smoke run: " + str(QUICK))
    parser.add_argument("--duration", type=float, help=f"seconds per cell ({DEFAULTS['duration']})")
    parser.add_argument("--warmup", type=float, help=f"seconds of warm-up ({DEFAULTS['warmup']})")
    parser.add_argument(
        "--max-requests", type=int, help=f"request cap per cell ({DEFAULTS['max_requests']})"
    )
    parser.add_argument("--sizes", help=f"state sizes ({DEFAULTS['sizes']})")
    parser.add_argument(
        "--save-many-sizes",
        help="the state sizes of the save_many cells, among --sizes "
        f"({DEFAULTS['save_many_sizes']}; every size of --sizes when --sizes is given)",
    )
    parser.add_argument("--concurrency", help=f"concurrent callers ({DEFAULTS['concurrency']})")
    parser.add_argument("--ops", help=f"operations ({DEFAULTS['ops']})")
    parser.add_argument("--targets", help=f"targets ({DEFAULTS['targets']})")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "results" / "latest.json"
    )
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    value = {
        key: getattr(args, key) if getattr(args, key) is not None else preset[key]
        for key in DEFAULTS
    }
    if args.save_many_sizes is None and args.sizes is not None:
        value["save_many_sizes"] = args.sizes
    try:
        sizes = [parse_size(s) for s in _split(value["sizes"])]
        save_many_sizes = [parse_size(s) for s in _split(value["save_many_sizes"])]
        concurrency = [int(c) for c in _split(value["concurrency"])]
    except ValueError as exc:
        parser.error(str(exc))
    ops = _split(value["ops"])
    targets = _split(value["targets"])
    for name, chosen, known in (("--ops", ops, loadgen.OPS), ("--targets", targets, TARGETS)):
        unknown = [x for x in chosen if x not in known]
        if unknown:
            parser.error(f"{name}: unknown {', '.join(unknown)}; expected {', '.join(known)}")
    if value["duration"] <= 0 or value["max_requests"] < 1 or any(c < 1 for c in concurrency):
        parser.error("--duration, --max-requests and --concurrency must be positive")
    return Settings(
        duration=value["duration"],
        warmup=value["warmup"],
        max_requests=value["max_requests"],
        sizes=sizes,
        save_many_sizes=[size for size in sizes if size in save_many_sizes],
        concurrency=concurrency,
        ops=[op for op in loadgen.OPS if op in ops],
        targets=[t for t in TARGETS if t in targets],
        out=args.out,
    )


class Loader:
    """A load generator process (``bench.loadgen``) and the pipe that drives it."""

    def __init__(self, spec: loadgen.Spec, state_bytes: int) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process holding grpc
        self._conn, child = context.Pipe()
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self._process = context.Process(
            target=loadgen.serve, args=(child, spec, prefix), daemon=True
        )
        self._process.start()
        child.close()
        assert self._process.pid is not None
        self.pid = self._process.pid
        self.call("open", state_bytes)

    def call(self, *message: Any) -> Any:
        self._conn.send(message)
        if not self._conn.poll(COMMAND_TIMEOUT):
            raise TargetFailed(f"the load generator did not answer {message[0]!r} in time")
        status, value = self._conn.recv()
        if status != "ok":
            raise TargetFailed(f"{message[0]} failed in the load generator:\n{value}")
        return value

    def close(self) -> None:
        with contextlib.suppress(TargetFailed, OSError, EOFError):
            self.call("close")
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()


class Bench:
    def __init__(self, settings: Settings, work: Path) -> None:
        self.settings = settings
        self.work = work
        self.rows: list[report.Row] = []
        self.skipped: dict[str, str] = {}
        self.postgres: Postgres | None = None
        self.redis: Redis | None = None

    def backend_url(self, target: str, backend: str) -> str:
        if backend == "memory":
            return "memory://"
        if backend == "sqlite":
            return f"sqlite:///{self.work / (target + '.db')}"
        if backend == "postgresql":
            assert self.postgres is not None
            if target.startswith("langgraph"):
                return self.postgres.langgraph_url
            return self.postgres.url
        assert self.redis is not None
        return self.redis.url

    def db_roots(self, backend: str) -> tuple[list[int], list[int]]:
        """(processes, process trees) of the database behind ``backend``."""
        if backend == "postgresql" and self.postgres is not None:
            return [], [self.postgres.postmaster_pid]
        if backend == "redis" and self.redis is not None:
            return [self.redis.pid], []
        return [], []

    @contextlib.contextmanager
    def databases(self) -> Iterator[None]:
        wanted = {t.split("-", 1)[-1] for t in self.settings.targets}
        try:
            if "postgresql" in wanted:
                try:
                    self.postgres = Postgres()
                except BaseException as exc:  # the harness reports with pytest.fail
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    self._skip_all("postgresql", f"no PostgreSQL server: {exc}")
            if "redis" in wanted:
                try:
                    self.redis = Redis()
                except BaseException as exc:
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    self._skip_all("redis", f"no Redis server: {exc}")
            yield
        finally:
            if self.redis is not None:
                self.redis.stop()
            if self.postgres is not None:
                self.postgres.stop()

    def _skip_all(self, backend: str, reason: str) -> None:
        for target in self.settings.targets:
            if target.endswith("-" + backend):
                self.skipped[target] = reason

    def run(self) -> None:
        with self.databases():
            for target in self.settings.targets:
                if target in self.skipped:
                    print(f"skipped {target}: {self.skipped[target]}", file=sys.stderr)
                    continue
                if target.startswith("langgraph"):
                    try:
                        import langgraph.checkpoint.postgres.aio  # noqa: F401
                    except ImportError as exc:
                        self.skipped[target] = (
                            f"LangGraph is not installed ({exc}); pip install -e '.[bench]'"
                        )
                        print(f"skipped {target}: {self.skipped[target]}", file=sys.stderr)
                        continue
                try:
                    self.run_target(target)
                except TargetFailed as exc:
                    self.skipped[target] = str(exc)
                    print(f"FAILED {target}: {exc}", file=sys.stderr)

    def run_target(self, target: str) -> None:
        group, _, backend = target.partition("-")
        gateway: Gateway | None = None
        try:
            if group == "gateway":
                try:
                    gateway = Gateway(self.backend_url(target, backend), cwd=self.work)
                except (RuntimeError, TimeoutError) as exc:
                    raise TargetFailed(f"the gateway did not start: {exc}") from exc
            for size in self.settings.sizes:
                bare = BareServer(size) if group == "bare" else None
                try:
                    server = bare or gateway
                    if server is not None:
                        spec = loadgen.Spec("grpc", server.target)
                    else:
                        spec = loadgen.Spec(group, self.backend_url(target, backend))
                    loader = Loader(spec, size)
                    try:
                        for op in self.ops(spec.kind, size):
                            for concurrency in self.settings.concurrency:
                                self.cell(target, backend, server, loader, op, size, concurrency)
                    finally:
                        loader.close()
                finally:
                    if bare is not None:
                        bare.stop()
        finally:
            if gateway is not None:
                gateway.stop()

    def ops(self, kind: str, size: int) -> list[str]:
        """The operations measured on a target of ``kind`` at state size ``size``."""
        return [
            op
            for op in self.settings.ops
            if loadgen.supports(kind, op)
            and (op != "save_many" or size in self.settings.save_many_sizes)
        ]

    def cell(
        self,
        target: str,
        backend: str,
        server: Gateway | BareServer | None,
        loader: Loader,
        op: str,
        size: int,
        concurrency: int,
    ) -> None:
        s = self.settings
        server_pid = server.pid if server is not None else loader.pid
        db_pids, db_trees = self.db_roots(backend)
        # Warm-up, not kept: connections, pools, prepared statements. Capped in requests
        # too, or a warm-up of 1 MiB pages would take longer than the cell.
        # The caps count items: a save_many call is BATCH of them.
        items = loadgen.items_per_op(op)
        cap = s.max_requests * (SAVE_MANY_CAP if op == "save_many" else 1)
        warmup_cap = min(cap, max(4 * concurrency, 50) * items)
        loader.call("run", op, concurrency, s.warmup, warmup_cap)
        if op in ("save", "save_many"):
            loader.call("clear")
        meters = {
            "server": procstat.CpuMeter([server_pid]),
            "client": procstat.CpuMeter([loader.pid] if server is not None else []),
            "db": procstat.CpuMeter(db_pids, db_trees),
        }
        for meter in meters.values():
            meter.start()
        result = loader.call("run", op, concurrency, s.duration, cap)
        cpu = {name: meter.stop() for name, meter in meters.items()}
        rss = procstat.rss_bytes(server_pid)
        if op in ("save", "save_many"):
            loader.call("clear")
        done = max(result["requests"], 1)
        group = target.partition("-")[0]
        row: report.Row = {
            "target": target,
            "group": group,
            "backend": backend or None,
            "op": op,
            "state_bytes": size,
            "concurrency": concurrency,
            **result,
            "server_cpu_us": round(cpu["server"] / done * 1e6),
            "client_cpu_us": round(cpu["client"] / done * 1e6) if server is not None else None,
            "db_cpu_us": round(cpu["db"] / done * 1e6) if db_pids or db_trees else None,
            "rss_mib": round(rss / 2**20),
        }
        self.rows.append(row)
        print(report.line(row), file=sys.stderr, flush=True)


def _versions(bench: Bench) -> dict[str, str]:
    versions = {"python": platform.python_version(), "grpcio": grpc.__version__}
    if bench.postgres is not None:
        versions["postgresql"] = bench.postgres.version
    if bench.redis is not None:
        versions["redis"] = bench.redis.version
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        versions["langgraph-checkpoint-postgres"] = version("langgraph-checkpoint-postgres")
    return versions


def _invocation() -> list[str]:
    """How this run was started: ``-m bench.run ...`` or ``bench/run.py ...``."""
    if __package__:
        return ["-m", "bench.run", *sys.argv[1:]]
    return sys.argv


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    per_size = [
        sum(op != "save_many" or size in settings.save_many_sizes for op in settings.ops)
        for size in settings.sizes
    ]
    cells = sum(per_size) * len(settings.concurrency)
    print(
        f"{len(settings.targets)} targets x {cells} cells, {settings.duration:g} s each "
        f"(+{settings.warmup:g} s warm-up), at most {settings.max_requests} requests per cell",
        file=sys.stderr,
    )
    print(report.header(), file=sys.stderr)
    begin = time.monotonic()
    with scratch() as work:
        bench = Bench(settings, work)
        bench.run()
        versions = _versions(bench)
    report.add_ratios(bench.rows)
    print(report.table(bench.rows, TARGETS))
    if any(row["op"] == "save_many" for row in bench.rows):
        print(report.SAVE_MANY_NOTE)
    for target, reason in bench.skipped.items():
        print(f"skipped {target}: {reason.splitlines()[0]}")
    document = {
        "command": shlex.join([sys.executable, *_invocation()]),
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(time.monotonic() - begin, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "loadavg_at_start": load_before,
            **versions,
        },
        "settings": {
            "duration_s": settings.duration,
            "warmup_s": settings.warmup,
            "max_requests": settings.max_requests,
            "sizes": settings.sizes,
            "save_many_sizes": settings.save_many_sizes,
            "save_many_batch": loadgen.BATCH,
            "concurrency": settings.concurrency,
            "ops": settings.ops,
            "targets": settings.targets,
            "list_limit": loadgen.LIST_LIMIT,
            "seed": {"lineages": loadgen.SEED_LINEAGES, "depth": loadgen.SEED_DEPTH},
        },
        "results": bench.rows,
        "skipped": bench.skipped,
    }
    settings.out.parent.mkdir(parents=True, exist_ok=True)
    settings.out.write_text(json.dumps(document, indent=2) + "\n")
    settings.out.with_suffix(".md").write_text(report.markdown(bench.rows, TARGETS) + "\n")
    print(f"wrote {settings.out} ({time.monotonic() - begin:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
