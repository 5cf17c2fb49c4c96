"""A bounded save load against a gateway, what it saw, and the proof nothing acked is lost.

Each writer owns one execution and saves checkpoint after checkpoint of random bytes, or
(``conversation=True``) a conversation saved whole after every turn, each checkpoint a
child of the one before: what the gateway stores as chains of deltas. As
an agent runtime does, it retries a failed save with the *same* checkpoint (same id,
same bytes) until it is acknowledged, then moves on; so after the run every lineage must
hold versions 1..n without a gap or a duplicate, every acknowledged save with exactly
its bytes and version, and at most one save nobody acknowledged (the one a writer was
retrying when the load stopped).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from checkpoint_client import AsyncCheckpointClient, Checkpoint, CheckpointError, CheckpointStore
from checkpoint_client import iter_checkpoints as iterate
from checkpoint_client._ids import new_checkpoint_id
from checkpoint_gateway.backends import Backend
from checkpoint_gateway.backends._states import chained
from tests.gateway_process import GatewayProcess

ALLOWED_DURING_OUTAGE = {"UNAVAILABLE", "DEADLINE_EXCEEDED"}
TURNS = 80  # a conversation's length before its writer starts another
WORDS = ("the", "agent", "calls", "a", "tool", "reads", "plans", "answers", "user", "step")


@dataclass(frozen=True, slots=True)
class Ack:
    execution_id: str
    version: int
    state: bytes
    at: float


@dataclass(frozen=True, slots=True)
class Outcome:
    started: float
    ended: float
    code: str  # "OK", or the gRPC status code name of the error


@dataclass
class SaveLoad:
    """``writers`` concurrent writers saving through one client until ``stop()``."""

    target: str
    writers: int = 32
    timeout: float = 2.0
    prefix: str = "w"
    conversation: bool = False
    acked: dict[str, Ack] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _client: AsyncCheckpointClient | None = None

    def execution_ids(self) -> list[str]:
        return [f"{self.prefix}{i}" for i in range(self.writers)]

    def start(self) -> None:
        self._client = AsyncCheckpointClient(self.target, timeout=self.timeout)
        self._tasks = [asyncio.create_task(self._writer(eid)) for eid in self.execution_ids()]

    async def stop(self) -> None:
        self._stop.set()
        # Each writer ends after its current call, which its deadline bounds.
        await asyncio.wait_for(asyncio.gather(*self._tasks), self.timeout * 4 + 5)
        if self._client is not None:
            await self._client.close()

    async def _writer(self, execution_id: str) -> None:
        assert self._client is not None
        rng = random.Random(execution_id)
        messages: list[str] = []
        parent = ""
        while not self._stop.is_set():
            if self.conversation:
                if len(messages) >= TURNS:
                    messages, parent = [], ""  # a new thread: its states start small again
                words = rng.choices(WORDS, k=rng.randint(60, 160))
                messages.append(" ".join(words))
                state = json.dumps({"messages": messages, "turn": len(messages)}).encode()
            else:
                state = os.urandom(rng.randint(16, 2048))
            checkpoint = Checkpoint(
                execution_id,
                state,
                checkpoint_id=new_checkpoint_id(),
                parent_id=parent,
                node="step",
            )
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    saved = await self._client.save(checkpoint)
                except CheckpointError as exc:
                    self.outcomes.append(Outcome(started, time.monotonic(), exc.grpc_code))
                    # An agent's own pause before trying the same checkpoint again.
                    await asyncio.sleep(0.05 + rng.random() * 0.05)
                    continue
                now = time.monotonic()
                self.outcomes.append(Outcome(started, now, "OK"))
                self.acked[saved.checkpoint_id] = Ack(execution_id, saved.version, state, now)
                parent = saved.checkpoint_id
                break

    # -- what the callers saw ----------------------------------------------------------------

    def acks_between(self, start: float, end: float) -> int:
        return sum(1 for a in self.acked.values() if start <= a.at < end)

    def rate(self, start: float, end: float) -> float:
        return self.acks_between(start, end) / max(end - start, 1e-9)

    def errors(self, start: float = 0.0, end: float = float("inf")) -> dict[str, int]:
        """Errors by status code among calls that ended in [start, end)."""
        return dict(
            Counter(o.code for o in self.outcomes if o.code != "OK" and start <= o.ended < end)
        )

    def first_ack_after(self, when: float) -> float | None:
        times = [a.at for a in self.acked.values() if a.at >= when]
        return min(times) if times else None

    async def wait_throughput(
        self, since: float, baseline: float, *, window: float = 0.5, bound: float = 15.0
    ) -> float | None:
        """Poll until a ``window`` after ``since`` carries half the ``baseline`` rate;
        return when that window ended, or None after ``bound`` seconds."""
        deadline = since + bound
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now - since >= window and self.rate(now - window, now) >= baseline / 2:
                return now
            await asyncio.sleep(0.05)
        return None


async def wait_health(target: str, want: int, *, bound: float = 15.0) -> float | None:
    """Poll the gateway's health until it reports ``want``; when it did, or None."""
    deadline = time.monotonic() + bound
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == want:
                    return time.monotonic()
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.05)
    return None


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True, slots=True)
class Verification:
    acknowledged: int
    found: int  # acknowledged saves stored with exactly their version and bytes
    missing: list[str]
    wrong: list[str]  # stored, but other bytes or another version
    gaps: list[str]  # lineages whose versions are not exactly 1..n
    unacknowledged_stored: int  # saved without an answer reaching the writer
    chained: int = 0  # lineages whose largest acknowledged state is stored as a chain

    def as_dict(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "found": self.found,
            "missing": len(self.missing),
            "wrong": len(self.wrong),
            "lineages_with_gaps_or_duplicates": len(self.gaps),
            "stored_without_ack": self.unacknowledged_stored,
            "lineages_stored_as_chains": self.chained,
        }


async def verify(store: CheckpointStore, load: SaveLoad) -> Verification:
    """Read every lineage back from ``store`` and check it against what was acknowledged."""
    stored: dict[str, Checkpoint] = {}
    gaps: list[str] = []
    extra = 0
    for eid in load.execution_ids():
        lineage = [cp async for cp in iterate(store, eid, page_size=500)]
        versions = sorted(cp.version for cp in lineage)
        if versions != list(range(1, len(versions) + 1)):
            gaps.append(eid)
        unacked = [cp for cp in lineage if cp.checkpoint_id not in load.acked]
        if len(unacked) > 1:
            gaps.append(eid)  # a retried save was stored twice
        extra += len(unacked)
        stored.update((cp.checkpoint_id, cp) for cp in lineage)
    missing, wrong = [], []
    for cid, ack in load.acked.items():
        cp = stored.get(cid)
        if cp is None:
            missing.append(cid)
        elif cp.state_bytes != ack.state or cp.version != ack.version:
            wrong.append(cid)
    found = len(load.acked) - len(missing) - len(wrong)
    stored_as_chains = 0
    if isinstance(store, Backend):  # how each lineage's largest acknowledged state is stored
        largest: dict[str, tuple[int, str]] = {}
        for cid, ack in load.acked.items():
            best = largest.get(ack.execution_id, (0, ""))
            largest[ack.execution_id] = max(best, (len(ack.state), cid))
        for eid, (_, cid) in largest.items():
            raw = await store._load(eid, "", cid)
            stored_as_chains += raw is not None and chained(raw)
    return Verification(len(load.acked), found, missing, wrong, gaps, extra, stored_as_chains)


def report(path: Path, name: str, figures: dict[str, Any]) -> None:
    """Print the figures (visible with -s) and keep them as JSON next to the test's files."""
    text = json.dumps({name: figures}, indent=2, sort_keys=True)
    print(f"\n{text}")
    path.write_text(text)


def rounded(values: Iterable[tuple[str, float | None]]) -> dict[str, float | None]:
    return {k: None if v is None else round(v, 3) for k, v in values}


def stop_gateway(gateway: GatewayProcess, timeout: float = 15.0) -> int:
    """SIGTERM and wait for the exit code; SIGKILL if it does not exit, so that a failing
    test never leaves a gateway running (and holding its port) behind."""
    try:
        return gateway.stop(signal.SIGTERM, timeout=timeout)
    except subprocess.TimeoutExpired:
        gateway.proc.kill()
        gateway.proc.wait()
        raise
