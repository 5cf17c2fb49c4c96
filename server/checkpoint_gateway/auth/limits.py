"""Per-principal limits: calls in flight, and requests per second (a token bucket).

So that one fleet of agents cannot starve the others, each principal gets at most
``in_flight`` calls at once and ``requests_per_second`` calls a second on average, with
a burst of one second's worth. A call over either bound is refused at once with
RESOURCE_EXHAUSTED, its message saying when to retry (and a ``retry-after-ms`` trailer),
before it costs the backend anything. The principals file may give a principal bounds of
its own; the gateway's settings are the default for every other one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from .principals import Principal

__all__ = ["Refusal", "Limiter"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call is refused, and after how many seconds a retry may pass."""

    reason: str  # "in_flight" or "rate"
    retry_after: float


@dataclass
class _State:
    in_flight: int = 0
    tokens: float = 0.0
    stamp: float = 0.0


class Limiter:
    """Counts each principal's calls.

    Args:
        in_flight: default calls at once per principal (None: no bound).
        requests_per_second: default rate per principal (None: no bound).
        clock: monotonic time (tests inject one).
    """

    def __init__(
        self,
        *,
        in_flight: int | None = None,
        requests_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._in_flight = in_flight
        self._rate = requests_per_second
        self._clock = clock
        self._states: dict[str, _State] = {}

    def acquire(self, principal: Principal) -> Refusal | None:
        """Count a call in, or say why not; a call counted in must be ``release``d."""
        in_flight = principal.limits.in_flight or self._in_flight
        rate = principal.limits.requests_per_second or self._rate
        state = self._states.get(principal.name)
        if state is None:
            if len(self._states) > 10_000:
                self._forget_idle()
            state = self._states[principal.name] = _State(tokens=rate or 0.0, stamp=self._clock())
        if in_flight is not None and state.in_flight >= in_flight:
            return Refusal("in_flight", 0.05)
        if rate is not None:
            now = self._clock()
            state.tokens = min(rate, state.tokens + (now - state.stamp) * rate)
            state.stamp = now
            if state.tokens < 1.0:
                return Refusal("rate", math.ceil((1.0 - state.tokens) / rate * 1000) / 1000)
            state.tokens -= 1.0
        state.in_flight += 1
        return None

    def release(self, principal: Principal) -> None:
        state = self._states.get(principal.name)
        if state is not None and state.in_flight > 0:
            state.in_flight -= 1

    def _forget_idle(self) -> None:
        # Principals come and go (JWT subjects): keep only those with calls in flight.
        self._states = {k: s for k, s in self._states.items() if s.in_flight}
