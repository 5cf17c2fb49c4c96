"""OpenTelemetry tracing: configured by the standard ``OTEL_*`` variables, off by default.

Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``) or an
OTLP endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``),
and ``OTEL_SDK_DISABLED`` is not true. Everything else is the SDK's own reading of the
standard variables: ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER(_ARG)``, ``OTEL_BSP_*`` (batching), ``OTEL_EXPORTER_OTLP_*``
(endpoint, headers, certificates, timeout, compression), ``OTEL_PROPAGATORS``.

When tracing is off nothing here is imported beyond this module, no interceptor is
installed and the store chain makes no span: its cost is nil, not "a no-op tracer".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from . import __version__

if TYPE_CHECKING:
    import grpc.aio
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

__all__ = ["Tracing", "TracingConfigError", "enabled", "from_env"]

SERVICE_NAME = "checkpoint-gateway"

_TRUE = ("1", "true", "yes", "on")


class TracingConfigError(ValueError):
    """An ``OTEL_*`` variable asks for something this gateway cannot do."""


class Tracing:
    """A tracer provider and what the gateway builds from it.

    Args:
        provider: the SDK provider spans go to (its processors decide where).
    """

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("checkpoint_gateway", __version__)

    def server_interceptor(self, service: str) -> grpc.aio.ServerInterceptor[Any, Any]:
        """The OpenTelemetry gRPC server interceptor: a SERVER span per call of ``service``,
        joined to the caller's trace by the W3C ``traceparent`` in the call's metadata.

        Health and reflection are left out: a probe every few seconds is noise, not a trace.
        """
        from opentelemetry.instrumentation.grpc import aio_server_interceptor
        from opentelemetry.instrumentation.grpc.filters import service_name

        # The instrumentation package ships no type hints.
        interceptor: Any = aio_server_interceptor(  # type: ignore[no-untyped-call]
            tracer_provider=self.provider,
            filter_=service_name(service),
        )
        return cast("grpc.aio.ServerInterceptor[Any, Any]", interceptor)

    def set_global(self) -> None:
        """Make this the process's tracer provider (for libraries that trace on their own)."""
        from opentelemetry import trace

        trace.set_tracer_provider(self.provider)

    def shutdown(self) -> None:
        """Export the spans still buffered, then stop the exporters."""
        self.provider.shutdown()


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether the ``OTEL_*`` variables in ``environ`` turn tracing on (see module doc)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER")
    if exporters is not None:
        return any(e.strip().lower() not in ("", "none") for e in exporters.split(","))
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def from_env(environ: Mapping[str, str] | None = None) -> Tracing | None:
    """Build tracing as the ``OTEL_*`` variables ask, or None when they leave it off.

    The exporters read their own settings from ``os.environ``, as the SDK documents.

    Raises:
        TracingConfigError: an unknown exporter, or an OTLP protocol other than grpc.
    """
    environ = os.environ if environ is None else environ
    if not enabled(environ):
        return None
    names = [
        e.strip().lower()
        for e in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")
        if e.strip().lower() not in ("", "none")
    ]
    exporters = [_exporter(name, environ) for name in names]

    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        # Neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES named the service.
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)  # the sampler comes from OTEL_TRACES_SAMPLER
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider)


def _exporter(name: str, environ: Mapping[str, str]) -> Any:
    if name == "otlp":
        protocol = (
            environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "grpc"
        )
        if protocol.strip().lower() != "grpc":
            raise TracingConfigError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r}: this gateway exports OTLP over "
                "grpc only; point it at the collector's OTLP/gRPC port (4317)"
            )
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    raise TracingConfigError(f"OTEL_TRACES_EXPORTER: {name!r}: expected otlp, console or none")
