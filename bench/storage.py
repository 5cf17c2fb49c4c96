"""What a long conversation costs in storage, on every backend and on LangGraph's saver.

    python -m bench.storage [--turns 500] [--message-bytes 2048] [--backends ...] [--json]

A conversation of ``--turns`` turns is saved the way langgraphgo and spring-ai-alibaba
graph save it: the full state after every turn, as JSON, the message list one message
longer each time (messages of about ``--message-bytes`` of English-like text). The same
states go to each backend of the gateway (opened in-process: stored bytes do not depend
on the wire) and, as the peer row, to LangGraph's AsyncPostgresSaver (the message list as
one channel whose every version is a blob).

Printed per row: the sum of the raw states, the bytes the store holds afterwards and
the ratio of the two; and the p50 of loading the latest checkpoint (``latest``) and of
loading it by id. How stored bytes are read:

- sqlite: the database file (and its WAL, if any) after the store is closed;
- file: the sizes of the files under the store's directory;
- postgresql, langgraph-postgres: ``pg_total_relation_size`` of the tables (TOAST and
  indexes included; PostgreSQL compresses large values with pglz on its own);
- redis: ``used_memory`` of the server after minus before (what a Redis user pays).

This is the baseline of issue 15 (lineage-aware state storage): today a state is stored
whole after every turn, so the stored bytes grow with the square of the conversation.
PostgreSQL and Redis are throwaway servers (the test harness's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

from checkpoint_client import Checkpoint, CheckpointStore
from checkpoint_gateway.backends import StateStorage, open_backend
from checkpoint_gateway.backends._states import StateCodec

from .servers import Postgres, Redis, scratch

BACKENDS = ("sqlite", "file", "postgresql", "redis", "langgraph-postgres")
LOAD_SAMPLES = 30

_TEXT = (
    "the agent calls a tool and reads what it returns then plans the next step for the "
    "user who asked about weather flights hotels prices dates cities budgets meetings "
    "reports code tests errors logs metrics traces queries tables rows columns indexes "
    "memory context summary answer question follow up check confirm retry wait stop "
    "start continue because however therefore while when where which what who how"
)
_WORDS = tuple(_TEXT.split())


def conversation(turns: int, message_bytes: int, seed: int = 7) -> list[dict[str, Any]]:
    """``turns`` messages of about ``message_bytes`` each, user and assistant in turn."""
    rng = random.Random(seed)
    messages: list[dict[str, Any]] = []
    for i in range(turns):
        words: list[str] = []
        size = 0
        while size < message_bytes:
            word = rng.choice(_WORDS)
            words.append(word)
            size += len(word) + 1
        messages.append({"role": "user" if i % 2 == 0 else "assistant", "content": " ".join(words)})
    return messages


def states(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The full state after each turn: every message so far."""
    return [{"messages": messages[: i + 1], "turn": i + 1} for i in range(len(messages))]


def p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def timed(call: Callable[[], Awaitable[Any]], n: int = LOAD_SAMPLES) -> list[float]:
    out: list[float] = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append(time.perf_counter() - start)
    return out


def _pg_bytes(url: str, schema: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'p')",
            (schema,),
        ).fetchone()
    return int(row[0]) if row else 0


def _files_bytes(directory: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in directory.glob(pattern) if p.is_file())


def _tree_bytes(root: Path) -> int:
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # a temporary file, gone meanwhile
                total += (Path(directory) / name).stat().st_size
    return total


async def _save_all(store: CheckpointStore, execution: str, all_states: list[Any]) -> str:
    parent = ""
    for i, state in enumerate(all_states):
        saved = await store.save(
            Checkpoint(
                execution,
                state,
                parent_id=parent,
                node="agent",
                next_nodes=["tools"],
                metadata={"source": "loop", "step": i},
            )
        )
        parent = saved.checkpoint_id
    return parent


async def gateway_row(
    backend: str,
    all_states: list[Any],
    work: Path,
    pg: Postgres | None,
    rd: Redis | None,
    storage: StateStorage,
) -> dict[str, Any]:
    """Save the conversation into one of the gateway's backends and measure it."""
    execution = f"conversation-{uuid.uuid4().hex[:8]}"
    options: dict[str, Any] = {}
    schema = f"s_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        url = f"sqlite:///{work / 'storage.db'}"
    elif backend == "file":
        url = f"file://{work / 'files'}"
    elif backend == "postgresql":
        assert pg is not None
        from checkpoint_gateway.backends.postgres import PostgresSettings

        url = pg.url
        options["settings"] = PostgresSettings(schema=schema)
    elif backend == "redis":
        assert rd is not None
        url = rd.url
    else:
        raise ValueError(backend)
    before = _redis_used(rd) if backend == "redis" and rd is not None else 0
    store = await open_backend(url, state_storage=storage, **options)
    try:
        latest_id = await _save_all(store, execution, all_states)
        latest = await timed(lambda: store.latest(execution))
        by_id = await timed(lambda: store.load(execution, latest_id))
        stats = _stats(store)
        # A process that holds no state (a restarted gateway, another replica): every
        # read decodes the chain from its snapshot.
        store.states = StateCodec(dataclasses.replace(storage, cache_bytes=0))
        cold = await timed(lambda: store.latest(execution))
    finally:
        await store.close()
    # The same last state stored as it comes, in the same store: the plain load the
    # chain's latest is compared with.
    store = await open_backend(url, state_storage=StateStorage(enabled=False), **options)
    try:
        plain_execution = f"{execution}-plain"
        await store.save(Checkpoint(plain_execution, all_states[-1]))
        plain = await timed(lambda: store.latest(plain_execution))
        await store.clear(plain_execution)
    finally:
        await store.close()
    if backend == "sqlite":
        stored = _files_bytes(work, "storage.db*")
    elif backend == "file":
        stored = _tree_bytes(work / "files")
    elif backend == "postgresql":
        assert pg is not None
        stored = _pg_bytes(pg.url, schema)
    else:
        assert rd is not None
        stored = _redis_used(rd) - before
    return {
        "stored": stored,
        "latest_p50_ms": p50_ms(latest),
        "load_p50_ms": p50_ms(by_id),
        "latest_cold_p50_ms": p50_ms(cold),
        "plain_latest_p50_ms": p50_ms(plain),
        **stats,
    }


def _stats(store: Any) -> dict[str, int]:
    s = store.states.stats
    return {"snapshots": s.snapshots, "deltas": s.deltas, "plain": s.plain}


def _redis_used(rd: Redis) -> int:
    import redis

    with redis.Redis.from_url(rd.url) as client:
        return int(client.info("memory")["used_memory"])


async def langgraph_row(all_states: list[Any], pg: Postgres) -> dict[str, Any]:
    """The peer: LangGraph's AsyncPostgresSaver, the messages as one channel."""
    from langgraph.checkpoint.base import empty_checkpoint

    from .loadgen import open_langgraph_saver

    saver, pool = await open_langgraph_saver(pg.langgraph_url)
    thread = f"conversation-{uuid.uuid4().hex[:8]}"
    try:
        before = _pg_bytes(pg.langgraph_url, "public")
        config: dict[str, Any] = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        version: Any = None
        for i, state in enumerate(all_states):
            checkpoint = empty_checkpoint()
            version = saver.get_next_version(version, None)
            checkpoint["channel_values"] = {"messages": state["messages"], "turn": state["turn"]}
            checkpoint["channel_versions"] = {"messages": version, "turn": version}
            config = await saver.aput(
                config,
                checkpoint,
                {"source": "loop", "step": i},
                {"messages": version, "turn": version},
            )
        latest_config = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        latest = await timed(lambda: saver.aget_tuple(latest_config))
        by_id = await timed(lambda: saver.aget_tuple(config))
    finally:
        await pool.close()
    stored = _pg_bytes(pg.langgraph_url, "public") - before
    return {"stored": stored, "latest_p50_ms": p50_ms(latest), "load_p50_ms": p50_ms(by_id)}


async def run(
    turns: int, message_bytes: int, backends: list[str], storage: StateStorage
) -> dict[str, Any]:
    messages = conversation(turns, message_bytes)
    all_states = states(messages)
    raw = sum(len(Checkpoint("x", s).state_bytes) for s in all_states)
    rows: dict[str, Any] = {}
    pg = Postgres() if {"postgresql", "langgraph-postgres"} & set(backends) else None
    rd = Redis() if "redis" in backends else None
    try:
        for backend in backends:
            with scratch() as work:
                if backend == "langgraph-postgres":
                    assert pg is not None
                    row = await langgraph_row(all_states, pg)
                else:
                    row = await gateway_row(backend, all_states, work, pg, rd, storage)
            row["raw_over_stored"] = round(raw / row["stored"], 2) if row["stored"] else None
            rows[backend] = row
    finally:
        if pg is not None:
            pg.stop()
        if rd is not None:
            rd.stop()
    return {
        "turns": turns,
        "message_bytes": message_bytes,
        "state_storage": dataclasses.asdict(storage),
        "raw_state_bytes": raw,
        "latest_state_bytes": len(Checkpoint("x", all_states[-1]).state_bytes),
        "rows": rows,
    }


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__)
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--message-bytes", type=int, default=2048)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument(
        "--state-compression",
        choices=("on", "off"),
        default="on",
        help="off: every state stored as it comes (the storage before issue 15)",
    )
    parser.add_argument("--snapshot-every", type=int, default=StateStorage().snapshot_every)
    parser.add_argument("--level", type=int, default=StateStorage().level)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    storage = StateStorage(
        enabled=args.state_compression == "on", snapshot_every=args.snapshot_every, level=args.level
    )
    figures = asyncio.run(run(args.turns, args.message_bytes, args.backends, storage))
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(
        f"{figures['turns']} turns of ~{figures['message_bytes']} B messages: raw states "
        f"{_mb(figures['raw_state_bytes'])} in all, the last one "
        f"{_mb(figures['latest_state_bytes'])}"
    )
    print(f"state storage: {figures['state_storage']}")
    print(
        f"{'store':<20} {'stored':>12} {'raw/stored':>11} {'latest p50':>11} {'load p50':>9} "
        f"{'cold latest':>12} {'plain latest':>13} {'warm/plain':>11} {'cold/plain':>11}"
    )
    for name, row in figures["rows"].items():
        line = (
            f"{name:<20} {_mb(row['stored']):>12} {row['raw_over_stored'] or '-':>11} "
            f"{row['latest_p50_ms']:>9.2f}ms {row['load_p50_ms']:>7.2f}ms"
        )
        if "plain_latest_p50_ms" in row:
            plain = row["plain_latest_p50_ms"]
            line += (
                f" {row['latest_cold_p50_ms']:>10.2f}ms {plain:>11.2f}ms"
                f" {row['latest_p50_ms'] / plain:>11.2f} {row['latest_cold_p50_ms'] / plain:>11.2f}"
            )
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
