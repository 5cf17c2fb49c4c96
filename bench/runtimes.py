"""LangGraph on the gateway against LangGraph's own AsyncPostgresSaver, in one run.

    .venv/bin/python -m bench.runtimes              # every part, about 1.5 minutes on 2 cores
    .venv/bin/python -m bench.runtimes --quick      # a few seconds, to see that it works
    .venv/bin/python -m bench.runtimes --parts graph --duration 10

Figures, not pass/fail. One throwaway PostgreSQL server (``tests/harness``) serves both:
the gateway (``checkpoint-gateway serve`` as a subprocess, its default pool of 10) and
AsyncPostgresSaver in this process, on a database of its own with a pool of the same
size. Parts:

``graph``
    A 3-node graph (a -> b -> c, a small state; durability ``async``, LangGraph's
    default), each run on a new thread, by 1 and by 16 concurrent callers for
    ``--duration`` seconds after a warm-up: runs/s and the p50 of a run. The savers take
    turns (``--rounds``), and the median round is reported.
``storage``
    A 200-step thread whose state has 10 channels of 1 KiB, one of which changes per
    step: the bytes each stores (tables, indexes and TOAST, ``pg_total_relation_size``,
    after ``VACUUM``), and the payload bytes in them.
``delta``
    A ``DeltaChannel`` thread of 500 steps (no snapshot on the way): the round trips and
    the time ``aget_delta_channel_history`` takes on the gateway saver (``Ancestors``)
    and with LangGraph's default walk over the same saver (``aget_tuple`` per ancestor),
    and on AsyncPostgresSaver.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import operator
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

if __package__ in (None, ""):  # run as a script: bench/runtimes.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import END, START, StateGraph

from bench.loadgen import open_langgraph_saver
from bench.servers import Gateway, Postgres, scratch
from checkpoint_client import AsyncCheckpointClient, CheckpointStore
from checkpoint_client.langgraph import GatewaySaver

PARTS = ("graph", "storage", "delta")


# -- the graphs ----------------------------------------------------------------------------


class Small(TypedDict):
    steps: Annotated[list[str], operator.add]
    value: int


def three_nodes(saver: BaseCheckpointSaver[Any]) -> Any:
    builder = StateGraph(Small)
    for name in ("a", "b", "c"):
        builder.add_node(name, lambda s, n=name: {"steps": [n], "value": s["value"] + 1})
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    builder.add_edge("c", END)
    return builder.compile(checkpointer=saver)


CHANNELS = [f"c{i}" for i in range(10)]


def _kib() -> str:
    """1 KiB of text that does not compress (TOAST would shrink a repeated pattern, and
    the comparison would measure pglz instead of what each saver stores)."""
    return base64.b64encode(os.urandom(768)).decode()


STEPS = 200


class Wide(TypedDict):
    step: int
    c0: list[str]
    c1: list[str]
    c2: list[str]
    c3: list[str]
    c4: list[str]
    c5: list[str]
    c6: list[str]
    c7: list[str]
    c8: list[str]
    c9: list[str]


def wide(saver: BaseCheckpointSaver[Any]) -> Any:
    # Lists, not strings: AsyncPostgresSaver keeps strings and numbers inline in every
    # checkpoint row, and a state of message lists (what threads hold) as blobs.
    def tick(state: Wide) -> dict[str, Any]:
        step = state["step"] + 1
        name = CHANNELS[step % len(CHANNELS)]
        return {"step": step, name: [_kib()]}

    builder = StateGraph(Wide)
    builder.add_node("tick", tick)
    builder.add_edge(START, "tick")
    builder.add_conditional_edges("tick", lambda s: END if s["step"] >= STEPS else "tick")
    return builder.compile(checkpointer=saver)


def _append(state: list[str], writes: Sequence[list[str]]) -> list[str]:
    return state + [item for write in writes for item in write]


_NO_SNAPSHOT = DeltaChannel(_append, snapshot_frequency=10_000)


class Chat(TypedDict):
    messages: Annotated[list[str], _NO_SNAPSHOT]
    turns: int


def chat(saver: BaseCheckpointSaver[Any]) -> Any:
    builder = StateGraph(Chat)
    builder.add_node("reply", lambda s: {"messages": [f"m{s['turns']}"], "turns": s["turns"] + 1})
    builder.add_edge(START, "reply")
    builder.add_conditional_edges("reply", lambda s: END if s["turns"] >= 500 else "reply")
    return builder.compile(checkpointer=saver)


# -- the savers ----------------------------------------------------------------------------


class Counting:
    """Wraps a store and counts the calls made through it."""

    def __init__(self, inner: CheckpointStore) -> None:
        self.inner = inner
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return attr(*args, **kwargs)

        return counted


# -- the parts -----------------------------------------------------------------------------


async def _runs(graph: Any, callers: int, seconds: float) -> tuple[int, list[float]]:
    """Runs of ``graph`` by ``callers`` concurrent callers for ``seconds``: the count and
    each run's latency."""
    stop = time.perf_counter() + seconds
    latencies: list[float] = []

    async def caller() -> None:
        while time.perf_counter() < stop:
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            start = time.perf_counter()
            await graph.ainvoke({"steps": [], "value": 0}, config)
            latencies.append(time.perf_counter() - start)

    await asyncio.gather(*(caller() for _ in range(callers)))
    return len(latencies), latencies


async def graph_part(
    savers: dict[str, BaseCheckpointSaver[Any]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows = []
    graphs = {name: three_nodes(saver) for name, saver in savers.items()}
    for callers in (1, 16):
        rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in graphs}
        for _ in range(args.rounds):
            for name, graph in graphs.items():
                await _runs(graph, callers, args.warmup)
                count, latencies = await _runs(graph, callers, args.duration)
                rounds[name].append((count / args.duration, statistics.median(latencies) * 1000))
        for name, found in rounds.items():
            found.sort()
            rate, p50 = found[len(found) // 2]
            rows.append(
                {
                    "part": "graph",
                    "saver": name,
                    "callers": callers,
                    "runs_per_s": round(rate, 1),
                    "p50_ms": round(p50, 2),
                    "rounds": [round(r, 1) for r, _ in found],
                }
            )
    return rows


def _relation_bytes(url: str, schema: str, tables: Sequence[str]) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        total = 0
        for table in tables:
            conn.execute(f'VACUUM "{schema}"."{table}"')
            row = conn.execute(
                "SELECT pg_total_relation_size(%s::regclass)", [f'"{schema}"."{table}"']
            ).fetchone()
            total += int(row[0]) if row else 0
        return total


def _payload_bytes(url: str, queries: Sequence[tuple[str, str]]) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        total = 0
        for query, thread in queries:
            row = conn.execute(query, [thread]).fetchone()  # type: ignore[call-overload]
            total += int(row[0] or 0) if row else 0
        return total


async def storage_part(
    savers: dict[str, BaseCheckpointSaver[Any]], pg: Postgres
) -> list[dict[str, Any]]:
    ours = (
        "checkpoint_checkpoints",
        "checkpoint_writes",
        "checkpoint_blobs",
        "checkpoint_executions",
    )
    theirs = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
    tables = {"gateway": (pg.url, ours), "langgraph-postgres": (pg.langgraph_url, theirs)}
    before = {name: _relation_bytes(url, "public", t) for name, (url, t) in tables.items()}
    threads = {}
    for name, saver in savers.items():
        threads[name] = f"storage-{uuid.uuid4()}"
        await wide(saver).ainvoke(
            {"step": 0, **{channel: [_kib()] for channel in CHANNELS}},
            {"configurable": {"thread_id": threads[name]}, "recursion_limit": 500},
        )
    ours_thread, theirs_thread = threads["gateway"], threads["langgraph-postgres"]
    return [
        {
            "part": "storage",
            "saver": "gateway",
            "steps": STEPS,
            "relation_bytes": _relation_bytes(pg.url, "public", ours) - before["gateway"],
            "payload_bytes": _payload_bytes(
                pg.url,
                [
                    (
                        "SELECT sum(octet_length(state)) FROM checkpoint_checkpoints "
                        "WHERE execution_id = %s",
                        ours_thread,
                    ),
                    (
                        "SELECT sum(octet_length(value)) FROM checkpoint_writes "
                        "WHERE execution_id = %s",
                        ours_thread,
                    ),
                    (
                        "SELECT sum(octet_length(value)) FROM checkpoint_blobs "
                        "WHERE execution_id = %s",
                        ours_thread,
                    ),
                ],
            ),
        },
        {
            "part": "storage",
            "saver": "langgraph-postgres",
            "steps": STEPS,
            "relation_bytes": _relation_bytes(pg.langgraph_url, "public", theirs)
            - before["langgraph-postgres"],
            "payload_bytes": _payload_bytes(
                pg.langgraph_url,
                [
                    (
                        "SELECT sum(octet_length(checkpoint::text)) FROM checkpoints "
                        "WHERE thread_id = %s",
                        theirs_thread,
                    ),
                    (
                        "SELECT sum(octet_length(blob)) FROM checkpoint_blobs WHERE thread_id = %s",
                        theirs_thread,
                    ),
                    (
                        "SELECT sum(octet_length(blob)) FROM checkpoint_writes "
                        "WHERE thread_id = %s",
                        theirs_thread,
                    ),
                ],
            ),
        },
    ]


def _exists(url: str, schema: str, table: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s)", [f'"{schema}"."{table}"']).fetchone()
        return bool(row and row[0])


async def delta_part(target: str, peer: AsyncPostgresSaver) -> list[dict[str, Any]]:
    counting = Counting(AsyncCheckpointClient(target, timeout=60))
    saver = GatewaySaver(store=counting)  # type: ignore[arg-type]
    config = {"configurable": {"thread_id": f"delta-{uuid.uuid4()}"}, "recursion_limit": 1200}
    await chat(saver).ainvoke({"messages": ["hi"], "turns": 0}, config)
    await chat(peer).ainvoke({"messages": ["hi"], "turns": 0}, config)
    latest = await saver.aget_tuple(config)
    assert latest is not None
    target_config = latest.config
    rows = []

    async def timed(
        name: str, call: Callable[[], Awaitable[Any]], calls: Callable[[], int]
    ) -> None:
        before = calls()
        start = time.perf_counter()
        history = await call()
        elapsed = time.perf_counter() - start
        rows.append(
            {
                "part": "delta",
                "walk": name,
                "ancestors": 500,
                "writes_replayed": len(history["messages"]["writes"]),
                "round_trips": calls() - before,
                "ms": round(elapsed * 1000, 1),
            }
        )

    for _ in range(2):  # the second round is the one reported (warm caches and plans)
        rows.clear()
        await timed(
            "gateway Ancestors",
            lambda: saver.aget_delta_channel_history(config=target_config, channels=["messages"]),
            lambda: sum(counting.calls.values()),
        )
        await timed(
            "gateway, LangGraph's default walk",
            lambda: BaseCheckpointSaver.aget_delta_channel_history(
                saver, config=target_config, channels=["messages"]
            ),
            lambda: sum(counting.calls.values()),
        )
        peer_config = (await peer.aget_tuple(config)).config  # type: ignore[union-attr]
        await timed(
            "AsyncPostgresSaver (its SQL)",
            lambda c=peer_config: peer.aget_delta_channel_history(config=c, channels=["messages"]),
            lambda: 0,
        )
    await counting.inner.close()
    return rows


# -- main ----------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    pg = Postgres()
    rows: list[dict[str, Any]] = []
    try:
        with scratch() as cwd:
            gateway = Gateway(pg.url, cwd, ["--metrics-listen", "off"])
            try:
                peer, pool = await open_langgraph_saver(pg.langgraph_url)
                ours = GatewaySaver(gateway.target, timeout=60)
                savers: dict[str, BaseCheckpointSaver[Any]] = {
                    "gateway": ours,
                    "langgraph-postgres": peer,
                }
                try:
                    if "graph" in args.parts:
                        rows += await graph_part(savers, args)
                    if "storage" in args.parts:
                        rows += await storage_part(savers, pg)
                    if "delta" in args.parts:
                        rows += await delta_part(gateway.target, peer)
                finally:
                    await ours.aclose()
                    await pool.close()
            finally:
                gateway.stop()
    finally:
        pg.stop()
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    lines = []
    graph = [r for r in rows if r["part"] == "graph"]
    if graph:
        lines += [
            "| saver | callers | runs/s | p50 ms | rounds (runs/s) |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r['saver']} | {r['callers']} | {r['runs_per_s']} | {r['p50_ms']} | {r['rounds']} |"
            for r in graph
        ]
        for callers in (1, 16):
            pair = {r["saver"]: r["runs_per_s"] for r in graph if r["callers"] == callers}
            if len(pair) == 2 and pair["langgraph-postgres"]:
                ratio = pair["gateway"] / pair["langgraph-postgres"]
                lines.append(f"\ngateway / AsyncPostgresSaver at {callers} callers: {ratio:.2f}x")
        lines.append("")
    storage = [r for r in rows if r["part"] == "storage"]
    if storage:
        lines += ["| saver | steps | relation bytes | payload bytes |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {r['saver']} | {r['steps']} | {r['relation_bytes']:,} | {r['payload_bytes']:,} |"
            for r in storage
        ]
        lines.append("")
    delta = [r for r in rows if r["part"] == "delta"]
    if delta:
        lines += [
            "| walk | ancestors | writes replayed | round trips | ms |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            "| {walk} | {ancestors} | {writes_replayed} | {round_trips} | {ms} |".format(**r)
            for r in delta
        ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.runtimes", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which parts ({','.join(PARTS)})")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per graph cell (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up (1)")
    parser.add_argument("--rounds", type=int, default=3, help="turns each saver takes (3)")
    parser.add_argument("--quick", action="store_true", help="1-second cells, one round")
    parser.add_argument("--out", type=Path, default=Path("bench/results/runtimes.json"))
    args = parser.parse_args(argv)
    args.parts = [p for p in args.parts.split(",") if p]
    if args.quick:
        args.duration, args.warmup, args.rounds = 1.0, 0.2, 1
    return args


def run(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    rows = asyncio.run(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print(report(rows))


if __name__ == "__main__":
    run()
