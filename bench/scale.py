"""Does an operation's cost stay flat as the store grows? The same cells on a small store
and on a big one, in one run.

    python -m bench.scale --backend postgresql --checkpoints 10000000
    python -m bench.scale --backend redis --checkpoints 1000000
    python -m bench.scale --backend sqlite --checkpoints 200000 --lineage 0   # a quick look

The store (opened in-process, exactly as the gateway opens it; PostgreSQL and Redis are
throwaway servers) is seeded with ``SaveMany`` in batches of 1,000: executions of
``--per-execution`` checkpoints (100) in one lineage, states of ``--state-bytes`` random
bytes (256, so that the disk holds 10 million), ten checkpoints per ``run_id``. The cells
run first at ``--small`` checkpoints (10,000), then again once the store holds
``--checkpoints``; PostgreSQL's big store is measured twice, right after the bulk load
(its statistics as stale as autovacuum left them) and after ``ANALYZE``. Then one lineage
of ``--lineage`` checkpoints (100,000) is added and its cells are measured against a
lineage of ``--per-execution``.

Cells (p50 of ``--samples`` calls each, or of those made in 15 s and at least 3; a
call never repeats a key it changed):

- single execution: save (1 KiB, appended to a lineage of its own), load by id, latest,
  a list page of 10;
- across executions: a page of 50 executions, a metadata search for one ``run_id``,
  delete for 10 runs (ten ``DeleteWhere`` calls, timed together), copy of a 1,000-
  checkpoint execution.

Printed: each cell's p50 on the small and the big store and their ratio (big / small).
The issue's goals: at most 1.2 for the single-execution cells, 2.0 for the others.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from checkpoint_client import Checkpoint
from checkpoint_gateway.backends import Backend, open_backend
from checkpoint_gateway.validation import Limits

from .servers import Postgres, Redis, scratch

BATCH = 1000
COPY_SIZE = 1000
RUN_SIZE = 10  # checkpoints per run_id


class Store:
    """The backend under test and how to reach its server."""

    def __init__(self, backend: Backend, pg: Postgres | None, schema: str | None) -> None:
        self.backend, self.pg, self.schema = backend, pg, schema

    def analyze(self) -> None:
        if self.pg is None or self.schema is None:
            return
        import psycopg

        with psycopg.connect(self.pg.url, autocommit=True) as conn:
            for table in ("checkpoints", "executions", "blobs", "writes"):
                conn.execute(f'ANALYZE "{self.schema}".checkpoint_{table}')


async def open_store(kind: str, work: Path) -> tuple[Store, Callable[[], None]]:
    limits = Limits(max_batch_items=BATCH, max_page_size=1000)
    if kind == "postgresql":
        from checkpoint_gateway.backends.postgres import PostgresSettings

        pg = Postgres()
        schema = f"scale_{uuid.uuid4().hex[:8]}"
        backend = await open_backend(
            pg.url, limits=limits, settings=PostgresSettings(schema=schema, max_size=8)
        )
        return Store(backend, pg, schema), pg.stop
    if kind == "redis":
        rd = Redis()
        backend = await open_backend(rd.url, limits=limits)
        return Store(backend, None, None), rd.stop
    if kind == "sqlite":
        backend = await open_backend(f"sqlite:///{work / 'scale.db'}", limits=limits)
        return Store(backend, None, None), lambda: None
    raise ValueError(kind)


async def seed(
    store: Backend,
    first: int,
    count: int,
    per_execution: int,
    state_bytes: int,
    prefix: str = "seed",
    writers: int = 4,
) -> float:
    """Checkpoints ``first`` .. ``first + count`` (numbered across the store); returns
    checkpoints per second."""
    started = time.perf_counter()
    queue: asyncio.Queue[list[Checkpoint] | None] = asyncio.Queue(maxsize=8)

    async def writer() -> None:
        while (batch := await queue.get()) is not None:
            for result in await store.save_many(batch):
                if not isinstance(result, Checkpoint):
                    raise RuntimeError(f"seeding failed: {result!r}")

    tasks = [asyncio.create_task(writer()) for _ in range(writers)]
    batch: list[Checkpoint] = []
    for n in range(first, first + count):
        execution, step = divmod(n, per_execution)
        batch.append(
            Checkpoint(
                f"{prefix}-{execution:08d}",
                os.urandom(state_bytes),
                checkpoint_id=f"c{n:010d}",
                parent_id=f"c{n - 1:010d}" if step else "",
                content_type="application/octet-stream",
                metadata={"run_id": f"run-{n // RUN_SIZE:09d}", "step": step},
            )
        )
        if len(batch) == BATCH:
            await queue.put(batch)
            batch = []
    if batch:
        await queue.put(batch)
    for _ in tasks:
        await queue.put(None)
    await asyncio.gather(*tasks)
    return count / (time.perf_counter() - started)


#: A cell stops sampling after this long (at least 3 samples): a call that scans the
#: store takes seconds on a big one, and 200 of them would take the afternoon.
CELL_SECONDS = 15.0


async def p50(call: Callable[[int], Awaitable[Any]], samples: int) -> float:
    await call(-1)  # warm
    times: list[float] = []
    ends = time.perf_counter() + CELL_SECONDS
    for i in range(samples):
        start = time.perf_counter()
        await call(i)
        times.append(time.perf_counter() - start)
        if len(times) >= 3 and start > ends:
            break
    return statistics.median(times) * 1000


async def cells(
    store: Backend, seeded: int, per_execution: int, samples: int, tag: str
) -> dict[str, float]:
    """Every cell on the store as it is now; ``tag`` keeps the keys it writes apart."""
    state = os.urandom(1024)
    probe = f"probe-{tag}"
    last = ""
    for _ in range(per_execution):
        last = (await store.save(Checkpoint(probe, state, parent_id=last))).checkpoint_id
    executions = seeded // per_execution
    out: dict[str, float] = {}

    async def save(i: int) -> None:
        await store.save(Checkpoint(f"append-{tag}", state))

    async def load(i: int) -> None:
        n = (i * 7919 + 13) % seeded
        await store.load(f"seed-{n // per_execution:08d}", f"c{n:010d}")

    async def latest(i: int) -> None:
        await store.latest(f"seed-{(i * 104729 + 7) % executions:08d}")

    async def page(i: int) -> None:
        await store.list(f"seed-{(i * 104729 + 7) % executions:08d}", limit=10)

    out["save"] = await p50(save, samples)
    out["load"] = await p50(load, samples)
    out["latest"] = await p50(latest, samples)
    out["list page"] = await p50(page, samples)

    async def executions_page(i: int) -> None:
        await store.executions(limit=50)

    async def search_run(i: int) -> None:
        run = (i * 7919 + 3) % (seeded // RUN_SIZE)
        found = await store.search({"run_id": f"run-{run:09d}"}, limit=50)
        assert len(found.checkpoints) == RUN_SIZE, (run, len(found.checkpoints))

    out["executions page"] = await p50(executions_page, samples)
    out["search run_id"] = await p50(search_run, samples)

    # Delete for 10 runs: runs of the probe's own copies, so the seeded store is kept.
    source = f"copy-source-{tag}"
    parent = ""
    rows = []
    for k in range(COPY_SIZE):
        rows.append(
            Checkpoint(
                source,
                state,
                checkpoint_id=f"{source}-{k:05d}",
                parent_id=parent,
                metadata={"run_id": f"{source}-run-{k // RUN_SIZE:04d}"},
            )
        )
        parent = rows[-1].checkpoint_id
    for i in range(0, COPY_SIZE, BATCH):
        await store.save_many(rows[i : i + BATCH])
    made: list[str] = []

    async def copy(i: int) -> None:
        made.append(f"copy-{tag}-{i + 1}")
        await store.copy_execution(source, made[-1])

    out["copy 1,000"] = await p50(copy, max(3, samples // 20))

    async def delete_runs(i: int) -> None:
        target = made[i + 1]
        gone = 0
        for r in range(10):
            gone += await store.delete_where(
                {"run_id": f"{source}-run-{r:04d}"}, execution_id=target
            )
        assert gone == 10 * RUN_SIZE, gone

    out["delete 10 runs"] = await p50(delete_runs, len(made) - 1)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"backend": args.backend, "checkpoints": args.checkpoints}
    with scratch() as work:
        holder, stop = await open_store(args.backend, work)
        store = holder.backend
        try:
            rate = await seed(store, 0, args.small, args.per_execution, args.state_bytes)
            print(f"seeded {args.small:,} at {rate:,.0f}/s", file=sys.stderr)
            holder.analyze()
            small = await cells(store, args.small, args.per_execution, args.samples, "small")
            figures["small"] = small
            rate = await seed(
                store,
                args.small,
                args.checkpoints - args.small,
                args.per_execution,
                args.state_bytes,
            )
            figures["seed_per_second"] = round(rate)
            print(f"seeded {args.checkpoints:,} at {rate:,.0f}/s", file=sys.stderr)
            big = await cells(store, args.checkpoints, args.per_execution, args.samples, "big")
            figures["big"] = big
            if holder.pg is not None:
                figures["big_stale_stats"] = big
                holder.analyze()
                figures["big"] = await cells(
                    store, args.checkpoints, args.per_execution, args.samples, "analyzed"
                )
            if args.lineage:
                figures["lineage"] = await lineage_cells(store, args)
        finally:
            await store.close()
            stop()
    return figures


async def lineage_cells(store: Backend, args: argparse.Namespace) -> dict[str, Any]:
    """One execution of ``--lineage`` checkpoints against one of ``--per-execution``."""
    # One writer: batches of one lineage stored in order.
    long_rate = await seed(store, 0, args.lineage, args.lineage, args.state_bytes, "long", 1)
    print(f"seeded a lineage of {args.lineage:,} at {long_rate:,.0f}/s", file=sys.stderr)
    state = os.urandom(1024)
    out: dict[str, Any] = {}
    for name, execution, size in (
        ("short", "seed-00000000", args.per_execution),
        ("long", "long-00000000", args.lineage),
    ):

        async def save(i: int, execution: str = execution) -> None:
            await store.save(Checkpoint(execution, state))

        async def load(i: int, execution: str = execution, size: int = size) -> None:
            await store.load(execution, f"c{(i * 7919 + 13) % size:010d}")

        async def latest(i: int, execution: str = execution) -> None:
            await store.latest(execution)

        async def page(i: int, execution: str = execution) -> None:
            await store.list(execution, limit=10)

        out[name] = {
            "load": await p50(load, args.samples),
            "latest": await p50(latest, args.samples),
            "list page": await p50(page, args.samples),
            "save": await p50(save, args.samples),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--backend", choices=("postgresql", "redis", "sqlite"), required=True)
    parser.add_argument("--checkpoints", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--per-execution", type=int, default=100)
    parser.add_argument("--lineage", type=int, default=100_000)
    parser.add_argument("--state-bytes", type=int, default=256)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if (
        args.checkpoints < args.small
        or args.small % args.per_execution
        or BATCH % args.per_execution
        or args.per_execution % RUN_SIZE
    ):
        parser.error(
            "--checkpoints must be at least --small, a multiple of --per-execution, which "
            f"must divide {BATCH} and be a multiple of {RUN_SIZE}"
        )
    figures = asyncio.run(run(args))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"{args.backend}: {args.small:,} -> {args.checkpoints:,} checkpoints "
        f"(seeded at {figures['seed_per_second']:,}/s); p50 ms"
    )
    rows = [("big / small", figures["big"])]
    if "big_stale_stats" in figures:
        rows.insert(0, ("stale stats / small", figures["big_stale_stats"]))
    print(f"{'cell':<18} {'small':>8} " + " ".join(f"{name:>22}" for name, _ in rows))
    for cell, base in figures["small"].items():
        line = f"{cell:<18} {base:>8.3f} "
        line += " ".join(f"{big[cell]:>9.3f} ({big[cell] / base:>5.2f}x)      " for _, big in rows)
        print(line)
    if "lineage" in figures:
        short, long = figures["lineage"]["short"], figures["lineage"]["long"]
        print(f"one lineage of {args.lineage:,} against one of {args.per_execution}:")
        for cell in short:
            print(
                f"{cell:<18} {short[cell]:>8.3f} {long[cell]:>9.3f} "
                f"({long[cell] / short[cell]:.2f}x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
