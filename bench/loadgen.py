"""The load generator: one process per target, driven by commands over a pipe.

The orchestrator (``bench.run``) starts one of these per target with
``multiprocessing``'s spawn context, so the load never shares a process (or a GIL) with a
server the benchmark measures. For targets reached over gRPC it holds an
``AsyncCheckpointClient``; for the in-process targets, (c) and (d), it holds the store
itself, since "called directly from Python" means exactly that: no hop, so what the
gateway adds over them (the gRPC hop, protobuf, its store chain) is what the ratio shows.

The same coroutines drive every target: ``concurrency`` tasks, each looping over one
operation until the cell's time is up or the request cap is reached, timing each call.

Workload per operation (the state is random bytes, incompressible, ``application/octet-stream``):

- save: each task appends to a lineage of its own (``parent_id`` = its previous save),
  the way an agent saves after every node; metadata ``{"source": "loop", "step": n}``.
- load: a random checkpoint by id from a seeded set (8 lineages x 10 checkpoints).
- latest: the newest checkpoint of a random seeded lineage.
- list: the 10 newest checkpoints of a random seeded lineage (one page, states included).
- save_many: each call saves a batch of ``BATCH`` (100) checkpoints, appended to the
  task's own lineage and chained by ``parent_id`` (ids chosen by the load generator, as
  the client does), like an agent's next 100 saves sent at once; over gRPC with
  ``AsyncCheckpointClient.save_many``, in process with the backend's ``save_many``.
  LangGraph has no batch API, so it has no save_many cells. Counted in checkpoints, not
  calls: ``requests`` and ``ops_per_s`` are stored checkpoints, ``errors`` failed items
  (a call that fails whole counts all its items); the latencies are per call.
- mix (``bench.soak``): every call picks one of save, load, latest and list at random.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol

OPS = ("save", "save_many", "load", "latest", "list")
MIX_OPS = ("save", "load", "latest", "list")
"""What ``mix`` picks from, with equal odds (``bench.soak``)."""
BATCH = 100
"""Checkpoints per save_many call."""
LIST_LIMIT = 10
SEED_LINEAGES = 8
SEED_DEPTH = 10
CALL_TIMEOUT = 120.0  # generous: a page of ten 1 MiB states at concurrency 64 queues


@dataclass(frozen=True)
class Spec:
    """What a load generator talks to.

    Attributes:
        kind: ``grpc`` (the bare server or a gateway), ``direct`` (a backend in this
            process, opened as the gateway opens it) or ``langgraph`` (AsyncPostgresSaver).
        address: ``host:port`` for grpc, the backend URL otherwise.
    """

    kind: str
    address: str


def supports(kind: str, op: str) -> bool:
    """Whether a target of ``kind`` has ``op``: LangGraph's saver has no batch save."""
    return not (kind == "langgraph" and op == "save_many")


def items_per_op(op: str) -> int:
    """Checkpoints one call of ``op`` saves or reads as the figures count it."""
    return BATCH if op == "save_many" else 1


class Driver(Protocol):
    """One target, in the terms of the four operations."""

    async def save(self, lineage: str, parent: str, step: int) -> str: ...
    async def save_many(
        self, lineage: str, parent: str, step: int, count: int
    ) -> tuple[str, int, str | None]: ...
    async def load(self, lineage: str, checkpoint_id: str) -> None: ...
    async def latest(self, lineage: str) -> None: ...
    async def list(self, lineage: str, limit: int) -> None: ...
    async def clear(self, lineage: str) -> None: ...
    async def close(self) -> None: ...


class StoreDriver:
    """Any ``CheckpointStore``: the gRPC client, or a backend called directly."""

    def __init__(self, store: Any, state: bytes) -> None:
        self.store = store
        self.state = state

    def _checkpoint(self, lineage: str, parent: str, step: int, checkpoint_id: str = "") -> Any:
        from checkpoint_client import Checkpoint

        return Checkpoint(
            lineage,
            self.state,
            checkpoint_id=checkpoint_id,
            content_type="application/octet-stream",
            parent_id=parent,
            node="agent",
            next_nodes=("tools",),
            metadata={"source": "loop", "step": step},
        )

    async def save(self, lineage: str, parent: str, step: int) -> str:
        saved = await self.store.save(self._checkpoint(lineage, parent, step))
        return str(saved.checkpoint_id)

    async def save_many(
        self, lineage: str, parent: str, step: int, count: int
    ) -> tuple[str, int, str | None]:
        """Save ``count`` chained checkpoints in one call.

        Returns (the id of the last one stored, or ``parent`` if none was; the number of
        items that failed; the first item error).
        """
        from checkpoint_client import CheckpointError
        from checkpoint_client._ids import new_checkpoint_id

        batch = []
        for n in range(count):
            checkpoint_id = new_checkpoint_id()  # chosen here, to chain parents in a batch
            batch.append(self._checkpoint(lineage, parent, step + n, checkpoint_id))
            parent = checkpoint_id
        failed = 0
        first_error: str | None = None
        last = ""
        for item, result in zip(batch, await self.store.save_many(batch), strict=True):
            if isinstance(result, CheckpointError):
                failed += 1
                first_error = first_error or f"{type(result).__name__}: {result}"
            else:
                last = str(item.checkpoint_id)
        return last or batch[0].parent_id, failed, first_error

    async def load(self, lineage: str, checkpoint_id: str) -> None:
        await self.store.load(lineage, checkpoint_id)

    async def latest(self, lineage: str) -> None:
        await self.store.latest(lineage)

    async def list(self, lineage: str, limit: int) -> None:
        await self.store.list(lineage, limit=limit)

    async def clear(self, lineage: str) -> None:
        await self.store.clear(lineage)

    async def close(self) -> None:
        await self.store.close()


async def open_langgraph_saver(url: str) -> tuple[Any, Any]:
    """LangGraph's AsyncPostgresSaver on ``url``, set up, with a pool of the gateway's
    default size (so that neither side has more connections): ``(saver, pool)``. The
    caller closes the pool."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    from checkpoint_gateway.backends.postgres import PostgresSettings

    defaults = PostgresSettings()
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=defaults.min_size,
        max_size=defaults.max_size,
        open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    await pool.open(wait=True)
    saver = AsyncPostgresSaver(pool)
    await saver.setup()
    return saver, pool


class LangGraphDriver:
    """LangGraph's AsyncPostgresSaver on a psycopg pool the size of the gateway's.

    save -> aput (the state as one channel value, stored as a blob, as LangGraph stores
    any non-primitive channel), load -> aget_tuple by id, latest -> aget_tuple without
    id, list -> alist with a limit, clear -> adelete_thread.
    """

    def __init__(self, saver: Any, pool: Any, state: bytes) -> None:
        self.saver = saver
        self.pool = pool
        self.state = state

    @classmethod
    async def open(cls, url: str, state: bytes) -> LangGraphDriver:
        saver, pool = await open_langgraph_saver(url)
        return cls(saver, pool, state)

    @staticmethod
    def _config(lineage: str, checkpoint_id: str = "") -> dict[str, Any]:
        configurable = {"thread_id": lineage, "checkpoint_ns": ""}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        return {"configurable": configurable}

    async def save_many(
        self, lineage: str, parent: str, step: int, count: int
    ) -> tuple[str, int, str | None]:
        raise NotImplementedError("LangGraph's saver has no batch save")

    async def save(self, lineage: str, parent: str, step: int) -> str:
        from langgraph.checkpoint.base import empty_checkpoint

        checkpoint = empty_checkpoint()
        version = self.saver.get_next_version(None if step == 0 else str(step), None)
        checkpoint["channel_values"] = {"state": self.state}
        checkpoint["channel_versions"] = {"state": version}
        await self.saver.aput(
            self._config(lineage, parent),
            checkpoint,
            {"source": "loop", "step": step},
            {"state": version},
        )
        return str(checkpoint["id"])

    async def load(self, lineage: str, checkpoint_id: str) -> None:
        if await self.saver.aget_tuple(self._config(lineage, checkpoint_id)) is None:
            raise LookupError(f"{lineage}/{checkpoint_id} not found")

    async def latest(self, lineage: str) -> None:
        if await self.saver.aget_tuple(self._config(lineage)) is None:
            raise LookupError(f"{lineage} has no checkpoint")

    async def list(self, lineage: str, limit: int) -> None:
        async for _ in self.saver.alist(self._config(lineage), limit=limit):
            pass

    async def clear(self, lineage: str) -> None:
        await self.saver.adelete_thread(lineage)

    async def close(self) -> None:
        await self.pool.close()


async def open_driver(spec: Spec, state: bytes) -> Driver:
    if spec.kind == "grpc":
        from checkpoint_client import AsyncCheckpointClient

        # The client as a user gets it (default retry policy included), with a longer
        # deadline than the default 10 s: a loaded 1 MiB cell must not turn into errors.
        return StoreDriver(AsyncCheckpointClient(spec.address, timeout=CALL_TIMEOUT), state)
    if spec.kind == "direct":
        from checkpoint_gateway import config, serving

        # Exactly what `checkpoint-gateway serve --backend URL` opens: the same driver, the
        # same pool settings, the same limits; only the store chain and gRPC are left out.
        settings = config.load(environ={"CHECKPOINT_GATEWAY_BACKEND": spec.address})
        return StoreDriver(await serving._open(settings), state)
    if spec.kind == "langgraph":
        return await LangGraphDriver.open(spec.address, state)
    raise ValueError(f"unknown target kind {spec.kind!r}")


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of an ascending sequence; 0 when empty."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class LoadGenerator:
    def __init__(self, driver: Driver, prefix: str) -> None:
        self.driver = driver
        self.prefix = prefix
        self.seeded: dict[str, list[str]] = {}
        self.written: set[str] = set()
        self._cells = 0

    async def seed(self) -> None:
        """The read set: ``SEED_LINEAGES`` lineages of ``SEED_DEPTH`` checkpoints each."""

        async def one(n: int) -> None:
            lineage = f"{self.prefix}-seed-{n}"
            ids: list[str] = []
            for step in range(SEED_DEPTH):
                ids.append(await self.driver.save(lineage, ids[-1] if ids else "", step))
            self.seeded[lineage] = ids

        await asyncio.gather(*(one(n) for n in range(SEED_LINEAGES)))

    async def clear(self) -> None:
        """Remove everything this generator wrote (between cells and state sizes)."""
        lineages = [*self.written, *self.seeded]
        self.written.clear()
        self.seeded.clear()
        for start in range(0, len(lineages), 16):
            await asyncio.gather(*(self.driver.clear(x) for x in lineages[start : start + 16]))

    async def run(self, op: str, concurrency: int, seconds: float, cap: int) -> dict[str, Any]:
        """Run one cell; return its counts and latency figures.

        ``cap`` bounds the items (checkpoints) started: for save_many, ``cap // BATCH``
        calls at most (at least one).
        """
        if op not in (*OPS, "mix"):
            raise ValueError(f"unknown operation {op!r}")
        if op not in ("save", "save_many") and not self.seeded:
            await self.seed()
        self._cells += 1
        cell = self._cells
        per_call = items_per_op(op)
        latencies: list[float] = []
        errors: list[str] = []
        failed_items = 0
        stored = 0
        by_op: dict[str, int] = {}
        started = 0
        deadline = time.perf_counter() + seconds
        seeded = list(self.seeded.items())
        driver = self.driver
        cap = max(cap, per_call)

        async def worker(n: int) -> None:
            nonlocal started, failed_items, stored
            # Reads pick the same sequence in every cell; a mix differs from chunk to chunk.
            rng = random.Random(cell * 100_003 + n if op == "mix" else n)
            lineage = f"{self.prefix}-c{cell}-w{n}"
            parent = ""
            step = 0
            if op in ("save", "save_many", "mix"):
                self.written.add(lineage)
            while started < cap and time.perf_counter() < deadline:
                started += per_call
                what = MIX_OPS[rng.randrange(len(MIX_OPS))] if op == "mix" else op
                begin = time.perf_counter()
                try:
                    if what == "save":
                        parent = await driver.save(lineage, parent, step)
                        step += 1
                    elif what == "save_many":
                        parent, failed, error = await driver.save_many(
                            lineage, parent, step, per_call
                        )
                        step += per_call
                        if failed:
                            failed_items += failed
                            errors.append(error or "item error")
                        stored += per_call - failed
                    else:
                        name, ids = seeded[rng.randrange(len(seeded))]
                        if what == "load":
                            await driver.load(name, ids[rng.randrange(len(ids))])
                        elif what == "latest":
                            await driver.latest(name)
                        else:
                            await driver.list(name, LIST_LIMIT)
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    failed_items += per_call
                    continue
                latencies.append(time.perf_counter() - begin)
                by_op[what] = by_op.get(what, 0) + 1

        begin = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - begin
        latencies.sort()
        done = stored if op == "save_many" else len(latencies)
        return {
            # requests, errors and ops_per_s count items (checkpoints for save_many);
            # calls and the latencies count calls.
            "items_per_op": per_call,
            "requests": done,
            "calls": len(latencies),
            "errors": failed_items,
            "first_error": errors[0] if errors else None,
            "elapsed_s": elapsed,
            "ops_per_s": done / elapsed if elapsed > 0 else 0.0,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "mean_ms": (sum(latencies) / len(latencies) * 1000) if latencies else 0.0,
            **({"by_op": by_op} if op == "mix" else {}),
        }


async def _handle(
    gen: LoadGenerator | None, spec: Spec, prefix: str, message: tuple[Any, ...]
) -> tuple[LoadGenerator | None, Any]:
    command, *args = message
    if command == "open":
        state = os.urandom(args[0])
        return LoadGenerator(await open_driver(spec, state), prefix), None
    assert gen is not None, "open first"
    if command == "size":
        state = os.urandom(args[0])
        gen.driver.state = state  # type: ignore[attr-defined]
        return gen, None
    if command == "seed":
        await gen.seed()
        return gen, None
    if command == "run":
        return gen, await gen.run(*args)
    if command == "clear":
        await gen.clear()
        return gen, None
    if command == "close":
        await gen.clear()
        await gen.driver.close()
        return None, None
    raise ValueError(f"unknown command {command!r}")


def serve(conn: Connection, spec: Spec, prefix: str) -> None:
    """Process entry point: answer each command with ``("ok", value)`` or ``("error", text)``."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    gen: LoadGenerator | None = None
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:  # the orchestrator went away
                break
            try:
                gen, value = loop.run_until_complete(_handle(gen, spec, prefix, message))
            except Exception:
                conn.send(("error", traceback.format_exc(limit=8)))
                continue
            conn.send(("ok", value))
            if message[0] == "close":
                break
    finally:
        loop.close()
