"""The store chain the gateway serves from, outermost first::

    servicer -> instrumented (metrics, span per call) -> resilient (retries, breaker,
    deadline; an attempt observer times and traces each try inline) -> backend

Every layer is a ``CheckpointStore``, so each is testable alone and this is composition.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from checkpoint_client import CheckpointStore

from .backends import Backend
from .config import Settings
from .instrumented import AttemptObserver, InstrumentedStore
from .resilience import CircuitBreaker, ResilientStore, RetryPolicy
from .tenancy import TenantStore

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from .metrics import Metrics


def build(
    backend: Backend,
    settings: Settings,
    *,
    metrics: Metrics | None = None,
    tracer: Tracer | None = None,
) -> CheckpointStore:
    """Wrap a ready backend in the layers ``settings`` ask for.

    Args:
        metrics: count into these; with neither metrics nor a tracer the two
            instrumented layers are left out altogether.
        tracer: make spans with this.
    """
    observed = metrics is not None or tracer is not None
    resilient = ResilientStore(
        backend,
        policy=RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            initial_backoff=settings.retry_initial_backoff,
            max_backoff=settings.retry_max_backoff,
        ),
        breaker=CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            open_seconds=settings.breaker_open_seconds,
        ),
        call_timeout=settings.deadline_seconds,
        name=backend.name,
        observer=(
            AttemptObserver(backend=backend.name, metrics=metrics, tracer=tracer)
            if observed
            else None
        ),
    )
    store: CheckpointStore = resilient
    if observed:
        if metrics is not None:
            metrics.watch_backend(backend)
            metrics.watch_breaker(backend.name, lambda: resilient.breaker.state.value)
        store = InstrumentedStore(resilient, backend=backend.name, metrics=metrics, tracer=tracer)
    if settings.auth_enabled:
        # Outermost: every call confined to its caller's tenant, ids checked against the
        # limits callers see (the backend's allow for the tenant prefix).
        store = TenantStore(
            store, limits=replace(backend.limits, max_id_length=settings.max_id_length)
        )
    return store
