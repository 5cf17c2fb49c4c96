"""Carry the caller's OpenTelemetry trace to the gateway, when OpenTelemetry is installed.

The client depends on grpcio and protobuf only. Where ``opentelemetry-api`` is installed
too, each call's metadata gets the current trace context (W3C ``traceparent``, and
whatever else ``OTEL_PROPAGATORS`` names), so the gateway's spans join the caller's trace.
Without it, or without a current span, calls carry exactly the metadata they were given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["with_trace_context"]

_Inject = Callable[[dict[str, str]], None]
_UNSET: Any = object()
_inject: _Inject | None = _UNSET


def _load() -> _Inject | None:
    # Imported on the first call, not with the client: an optional dependency must cost
    # nothing to those who do not have it, and little to those who do not call.
    try:
        from opentelemetry.propagate import inject
    except ImportError:
        return None
    return inject


def with_trace_context(metadata: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """``metadata`` plus the current trace context's headers (none without a trace)."""
    global _inject
    if _inject is _UNSET:
        _inject = _load()
    if _inject is None:
        return metadata
    carrier: dict[str, str] = {}
    _inject(carrier)
    if not carrier:
        return metadata
    return (*metadata, *carrier.items())
