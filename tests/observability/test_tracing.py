"""Traces: one trace from the caller's span through the RPC to each backend attempt."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from checkpoint_client import AsyncCheckpointClient, Checkpoint, CheckpointClient, NotFound
from checkpoint_gateway import chain, tracing
from checkpoint_gateway.app import SERVICE_NAME, Gateway
from checkpoint_gateway.config import Settings
from checkpoint_gateway.instrumented import RpcObserver
from tests.gateway_process import GatewayProcess

from .harness import OtlpReceiver, attributes, poll
from .test_metrics import FlakyMemory

SAVE = f"/{SERVICE_NAME}/Save"
LOAD = f"/{SERVICE_NAME}/Load"


@dataclass
class Traced:
    target: str
    provider: TracerProvider
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
async def traced() -> AsyncIterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = tracing.Tracing(provider)
    settings = Settings(retry_initial_backoff=0.001, retry_max_backoff=0.002)
    # The first save attempt fails and is retried: two attempt spans under one call.
    store = chain.build(FlakyMemory(failures=1), settings, tracer=telemetry.tracer)
    gateway = await Gateway.start(
        store,
        interceptors=[
            telemetry.server_interceptor(SERVICE_NAME),
            RpcObserver(None, traced=True),
        ],
    )
    try:
        yield Traced(f"127.0.0.1:{gateway.port}", provider, exporter)
    finally:
        await gateway.stop(grace=1.0)
        provider.shutdown()


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def _check_save_trace(spans: list[ReadableSpan], caller: ReadableSpan) -> None:
    """caller -> SERVER span -> checkpoint.save -> two attempts (the first failed)."""
    trace_id = caller.context.trace_id
    server = _one(spans, SAVE)
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None
    assert server.parent.span_id == caller.context.span_id
    assert server.parent.is_remote  # it came through the traceparent metadata
    operation = _one(spans, "checkpoint.save")
    assert operation.parent is not None
    assert operation.parent.span_id == server.context.span_id
    assert operation.attributes is not None
    assert operation.attributes["checkpoint_gateway.backend"] == "memory"
    attempts = sorted(
        (s for s in spans if s.name == "save memory"),
        key=lambda s: s.attributes["checkpoint_gateway.attempt"] if s.attributes else 0,
    )
    assert len(attempts) == 2
    for number, attempt in enumerate(attempts, 1):
        assert attempt.kind is SpanKind.CLIENT
        assert attempt.parent is not None
        assert attempt.parent.span_id == operation.context.span_id
        assert attempt.attributes is not None
        assert attempt.attributes["db.system.name"] == "memory"
        assert attempt.attributes["db.operation.name"] == "save"
        assert attempt.attributes["checkpoint_gateway.attempt"] == number
    failed, succeeded = attempts
    assert failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "Unavailable"
    assert succeeded.status.status_code is StatusCode.UNSET
    assert {s.context.trace_id for s in (caller, server, operation, *attempts)} == {trace_id}


async def test_one_trace_from_caller_to_backend_attempts(
    traced: Traced, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = traced.provider.get_tracer("agent")
    async with AsyncCheckpointClient(traced.target) as client:
        with tracer.start_as_current_span("agent step", kind=SpanKind.CLIENT):
            saved = await client.save(Checkpoint("exec-1", {"step": 1}))
        with (
            caplog.at_level(logging.DEBUG, logger="checkpoint_gateway.rpc"),
            tracer.start_as_current_span("agent resume"),
            pytest.raises(NotFound),
        ):
            await client.load("exec-1", "no-such-checkpoint")
        await client.load("exec-1", saved.checkpoint_id)  # no current span: a new trace
    spans = traced.spans()
    _check_save_trace(spans, _one(spans, "agent step"))

    # A failed call: the error is on the spans, and its log line names the trace.
    resume = _one(spans, "agent resume")
    loads = [s for s in spans if s.name == LOAD]
    failed = next(s for s in loads if s.context.trace_id == resume.context.trace_id)
    assert failed.attributes is not None
    assert failed.attributes["rpc.grpc.status_code"] == 5  # NOT_FOUND
    operation = next(
        s
        for s in spans
        if s.name == "checkpoint.load" and s.context.trace_id == resume.context.trace_id
    )
    assert operation.attributes is not None
    assert operation.attributes["checkpoint_gateway.outcome"] == "NotFound"
    assert [e.name for e in operation.events] == ["exception"]
    # NotFound is an answer, not a fault of the gateway.
    assert operation.status.status_code is StatusCode.UNSET
    (line,) = [
        r
        for r in caplog.records
        if r.name == "checkpoint_gateway.rpc" and " failed: " in r.getMessage()
    ]
    trace_id = format(resume.context.trace_id, "032x")
    assert line.trace_id == trace_id  # type: ignore[attr-defined]
    assert f"trace_id={trace_id}" in line.getMessage()
    # The untraced load started a trace of its own at the server.
    own = [s for s in loads if s is not failed]
    assert len(own) == 1
    assert own[0].parent is None


async def test_the_sync_client_carries_the_callers_trace(traced: Traced) -> None:
    tracer = traced.provider.get_tracer("agent")

    def run() -> None:
        with (
            CheckpointClient(traced.target) as client,
            tracer.start_as_current_span("agent step", kind=SpanKind.CLIENT),
        ):
            client.save(Checkpoint("exec-sync", {"step": 1}))

    await asyncio.to_thread(run)
    spans = traced.spans()
    _check_save_trace(spans, _one(spans, "agent step"))


def test_tracing_is_off_unless_asked_for() -> None:
    assert tracing.from_env({}) is None
    assert not tracing.enabled({"OTEL_SERVICE_NAME": "x"})
    assert not tracing.enabled({"OTEL_TRACES_EXPORTER": "none"})
    assert tracing.enabled({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"})
    assert tracing.enabled({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not tracing.enabled({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"})
    with pytest.raises(tracing.TracingConfigError, match="grpc only"):
        tracing.from_env(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
        )
    with pytest.raises(tracing.TracingConfigError, match="expected otlp"):
        tracing.from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    r = OtlpReceiver()
    try:
        yield r
    finally:
        r.stop()


def test_the_cli_exports_spans_over_otlp(tmp_path: Path, receiver: OtlpReceiver) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
    }
    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--backend", "memory://"], cwd=tmp_path, env=env
    )
    provider = TracerProvider()  # the caller's own, local: only its context travels
    try:
        gw.wait_listening()
        with (
            CheckpointClient(gw.target) as client,
            provider.get_tracer("agent").start_as_current_span("agent step") as caller,
        ):
            client.save(Checkpoint("exec-otlp", {"step": 1}))
        trace_id = caller.get_span_context().trace_id.to_bytes(16, "big")

        def exported() -> list[object] | None:
            names = {s.name for _, s in receiver.spans() if s.trace_id == trace_id}
            return [names] if {SAVE, "checkpoint.save", "save memory"} <= names else None

        poll(exported, 20, "the gateway's spans at the OTLP receiver")
    finally:
        assert gw.stop(signal.SIGTERM) == 0, gw.output()
    assert "tracing on" in gw.output()
    spans = {s.name: (resource, s) for resource, s in receiver.spans() if s.trace_id == trace_id}
    resource, server = spans[SAVE]
    assert resource["service.name"] == "checkpoint-gateway"
    assert resource["deployment.environment"] == "test"
    assert server.parent_span_id == caller.get_span_context().span_id.to_bytes(8, "big")
    _, operation = spans["checkpoint.save"]
    assert operation.parent_span_id == server.span_id
    _, attempt = spans["save memory"]
    assert attempt.parent_span_id == operation.span_id
    assert attributes(attempt)["checkpoint_gateway.attempt"] == 1
    assert attributes(attempt)["db.system.name"] == "memory"
