"""Metrics count exactly what happened: a real gateway, a real client, a real scrape."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from checkpoint_client import (
    AsyncCheckpointClient,
    Checkpoint,
    Conflict,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from checkpoint_gateway import chain, logs
from checkpoint_gateway.app import SERVICE_NAME, Gateway
from checkpoint_gateway.backends import MemoryStore
from checkpoint_gateway.config import Settings
from checkpoint_gateway.instrumented import RpcObserver
from checkpoint_gateway.metrics import Metrics, MetricsServer

from .harness import sample_value, scrape


class FlakyMemory(MemoryStore):
    """A memory store whose first ``failures`` saves fail as a lost connection would."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        if self.failures > 0:
            self.failures -= 1
            raise Unavailable("connection lost (injected)")
        return await super()._save(checkpoint, expected_version)


@dataclass
class Served:
    client: AsyncCheckpointClient
    metrics: Metrics
    exporter: MetricsServer

    async def scrape(self) -> dict[str, Any]:
        return await asyncio.to_thread(scrape, self.exporter.port)


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    metrics = Metrics()
    metrics.init_grpc_service(SERVICE_NAME)
    # Fast retries: the policy is the real one, only its waits are shorter.
    settings = Settings(retry_initial_backoff=0.001, retry_max_backoff=0.002)
    store = chain.build(FlakyMemory(failures=2), settings, metrics=metrics)
    gateway = await Gateway.start(store, interceptors=[RpcObserver(metrics)])
    exporter = metrics.serve("127.0.0.1", 0)
    client = AsyncCheckpointClient(f"127.0.0.1:{gateway.port}", service_config=None)
    try:
        yield Served(client, metrics, exporter)
    finally:
        await client.close()
        exporter.stop()
        await gateway.stop(grace=1.0)


async def test_counters_and_histograms_equal_what_was_done(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    client = served.client
    n_ok, n_invalid, n_conflict, m_ok, m_missing = 7, 2, 1, 5, 3
    saved = []
    sizes = []
    for i in range(n_ok):  # the first save is retried twice (FlakyMemory), then succeeds
        state = {"step": i, "pad": "x" * (100 * i)}
        saved.append(await client.save(Checkpoint(f"exec-{i}", state)))
        sizes.append(len(saved[-1].state_bytes))
    for _ in range(n_invalid):
        with pytest.raises(InvalidArgument):
            await client.save(Checkpoint("", {"no": "execution id"}))
    with pytest.raises(Conflict):
        await client.save(Checkpoint("exec-0", {"other": 1}, checkpoint_id=saved[0].checkpoint_id))
    for cp in saved[:m_ok]:
        await client.load(cp.execution_id, cp.checkpoint_id)
    with caplog.at_level(logging.DEBUG, logger="checkpoint_gateway.rpc"):
        for i in range(m_missing):
            with pytest.raises(NotFound):
                await client.load("exec-0", f"missing-{i}")

    f = await served.scrape()

    def ops(operation: str, outcome: str) -> float | None:
        labels = {"operation": operation, "backend": "memory", "outcome": outcome}
        return sample_value(
            f, "checkpoint_gateway_operations", "checkpoint_gateway_operations_total", **labels
        )

    def timed(operation: str, outcome: str) -> float | None:
        return sample_value(
            f,
            "checkpoint_gateway_operation_duration_seconds",
            "checkpoint_gateway_operation_duration_seconds_count",
            operation=operation,
            backend="memory",
            outcome=outcome,
        )

    def handled(method: str, code: str) -> float | None:
        return sample_value(
            f,
            "grpc_server_handled",
            "grpc_server_handled_total",
            grpc_service=SERVICE_NAME,
            grpc_method=method,
            grpc_code=code,
            grpc_type="unary",
        )

    expected = {
        ("save", "OK"): n_ok,
        ("save", "InvalidArgument"): n_invalid,
        ("save", "Aborted"): n_conflict,
        ("load", "OK"): m_ok,
        ("load", "NotFound"): m_missing,
    }
    for (operation, outcome), count in expected.items():
        assert ops(operation, outcome) == count, (operation, outcome)
        assert timed(operation, outcome) == count, (operation, outcome)
    for (operation, outcome), count in expected.items():
        method = operation.capitalize()
        code = {"OK": "OK", "InvalidArgument": "InvalidArgument"}.get(outcome, outcome)
        assert handled(method, code) == count, (method, code)
    # Nothing else happened: no other outcome of save or load was counted.
    family = f["checkpoint_gateway_operations"]
    outcomes = {
        (s.labels["operation"], s.labels["outcome"])
        for s in family.samples
        if s.value and s.labels["operation"] in ("save", "load")
    }
    assert outcomes == set(expected)
    started = sample_value(
        f,
        "grpc_server_started",
        "grpc_server_started_total",
        grpc_service=SERVICE_NAME,
        grpc_method="Save",
        grpc_type="unary",
    )
    assert started == n_ok + n_invalid + n_conflict
    rpc_count = sample_value(
        f,
        "grpc_server_handling_seconds",
        "grpc_server_handling_seconds_count",
        grpc_service=SERVICE_NAME,
        grpc_method="Load",
        grpc_type="unary",
    )
    assert rpc_count == m_ok + m_missing

    # Attempts: every operation once, plus the two retried attempts of the first save.
    def attempts(operation: str, outcome: str) -> float | None:
        return sample_value(
            f,
            "checkpoint_gateway_backend_attempts",
            "checkpoint_gateway_backend_attempts_total",
            backend="memory",
            operation=operation,
            outcome=outcome,
        )

    assert attempts("save", "Unavailable") == 2
    assert attempts("save", "OK") == n_ok
    assert attempts("load", "NotFound") == m_missing
    retries = sample_value(
        f,
        "checkpoint_gateway_backend_retries",
        "checkpoint_gateway_backend_retries_total",
        backend="memory",
        operation="save",
    )
    assert retries == 2
    assert (
        sample_value(
            f,
            "checkpoint_gateway_backend_retries",
            "checkpoint_gateway_backend_retries_total",
            backend="memory",
            operation="load",
        )
        == 0
    )  # started at zero, so "no retries" is a series, not a gap

    # Payload: one observation per successful save and load, of the state's size.
    save_bytes = sample_value(
        f,
        "checkpoint_gateway_state_bytes",
        "checkpoint_gateway_state_bytes_sum",
        operation="save",
        backend="memory",
    )
    assert save_bytes == sum(sizes)
    load_count = sample_value(
        f,
        "checkpoint_gateway_state_bytes",
        "checkpoint_gateway_state_bytes_count",
        operation="load",
        backend="memory",
    )
    assert load_count == m_ok
    assert all(s.value == 0 for s in f["checkpoint_gateway_operations_in_flight"].samples)
    breaker = f["checkpoint_gateway_circuit_breaker_state"].samples
    assert [(s.labels, s.value) for s in breaker] == [({"backend": "memory"}, 0)]
    # The memory backend has no pool: no pool series rather than made-up zeros.
    assert not f["checkpoint_gateway_pool_connections"].samples
    build = f["checkpoint_gateway_build_info"].samples[0].labels
    assert build["version"]
    assert build["grpc_version"]

    # Bounded cardinality: no id ever became a label value.
    ids = {cp.execution_id for cp in saved} | {cp.checkpoint_id for cp in saved}
    ids |= {f"missing-{i}" for i in range(m_missing)}
    for family in f.values():
        for s in family.samples:
            assert not ids & set(s.labels.values()), (s.name, s.labels)

    # One log line per failed request, each naming method and code.
    # NotFound is routine (a new thread's Latest): at debug, beside each call's OK line.
    lines = [
        r
        for r in caplog.records
        if r.name == "checkpoint_gateway.rpc" and " failed: " in r.getMessage()
    ]
    assert len(lines) == m_missing
    assert all(getattr(r, "grpc_code", None) == "NotFound" for r in lines)
    assert all(r.levelno == logging.DEBUG for r in lines)


async def test_a_save_many_call_counts_once_and_weighs_every_item(served: Served) -> None:
    states = [b"x" * 10, b"y" * 2000, b"z" * 70_000]
    items = [Checkpoint("many", s, content_type="application/octet-stream") for s in states]
    items.append(Checkpoint("", b"bad", content_type="application/octet-stream"))
    results = await served.client.save_many(items)
    assert [type(r).__name__ for r in results] == ["Checkpoint"] * 3 + ["InvalidArgument"]

    f = await served.scrape()
    labels = {"operation": "save_many", "backend": "memory"}
    assert (
        sample_value(
            f,
            "checkpoint_gateway_operations",
            "checkpoint_gateway_operations_total",
            outcome="OK",
            **labels,
        )
        == 1
    )
    # Every item's state is weighed, the refused one too (it reached the store).
    weighed = sample_value(
        f, "checkpoint_gateway_state_bytes", "checkpoint_gateway_state_bytes_count", **labels
    )
    total = sample_value(
        f, "checkpoint_gateway_state_bytes", "checkpoint_gateway_state_bytes_sum", **labels
    )
    assert (weighed, total) == (4, sum(map(len, states)) + 3)
    handled = sample_value(
        f,
        "grpc_server_handled",
        "grpc_server_handled_total",
        grpc_service=SERVICE_NAME,
        grpc_method="SaveMany",
        grpc_code="OK",
        grpc_type="unary",
    )
    assert handled == 1


async def test_histogram_buckets_span_sub_millisecond_to_seconds(served: Served) -> None:
    await served.client.save(Checkpoint("exec", {"a": 1}))
    f = await served.scrape()
    bounds = sorted(
        float(s.labels["le"])
        for s in f["checkpoint_gateway_operation_duration_seconds"].samples
        if s.name.endswith("_bucket")
        and s.labels["operation"] == "save"
        and s.labels["outcome"] == "OK"
    )
    assert bounds[0] <= 0.0001
    assert 10 <= bounds[-2] < float("inf") == bounds[-1]


def test_json_log_lines_carry_the_extra_fields() -> None:
    record = logging.LogRecord(
        "checkpoint_gateway.rpc", logging.INFO, __file__, 1, "x %s", ("y",), None
    )
    record.grpc_code = "NotFound"
    record.trace_id = "0af7651916cd43dd8448eb211c80319c"
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["msg"] == "x y"
    assert entry["grpc_code"] == "NotFound"
    assert entry["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert "args" not in entry
    assert "levelno" not in entry


async def test_stored_bytes_and_encodings_show_the_compression_ratio(served: Served) -> None:
    """A conversation saved whole after every turn: the saved bytes are what clients sent,
    the stored bytes what went to the backend (a snapshot, then deltas), and a state that
    does not compress is counted as plain."""
    messages: list[str] = []
    states, parent = [], ""
    for turn in range(10):
        messages.append(f"turn {turn}: " + "the agent reads the tool's answer and plans " * 120)
        state = json.dumps({"messages": messages}).encode()
        saved = await served.client.save(
            Checkpoint("talk", state, parent_id=parent, content_type="application/json")
        )
        states.append(state)
        parent = saved.checkpoint_id
    noise = os.urandom(16 * 1024)
    await served.client.save(Checkpoint("noise", noise, content_type="application/octet-stream"))

    f = await served.scrape()

    def value(family: str, **labels: str) -> float | None:
        return sample_value(f, family, family + "_total", backend="memory", **labels)

    saved_bytes = value("checkpoint_gateway_state_saved_bytes")
    stored_bytes = value("checkpoint_gateway_state_stored_bytes")
    assert saved_bytes == sum(map(len, states)) + len(noise)
    assert stored_bytes is not None
    assert len(noise) < stored_bytes < len(noise) + saved_bytes / 5
    encodings = {
        kind: value("checkpoint_gateway_state_encodings", encoding=kind)
        for kind in ("plain", "snapshot", "delta")
    }
    assert encodings == {"plain": 1, "snapshot": 1, "delta": 9}
    assert (await served.client.latest("talk")).state_bytes == states[-1]
