"""Retries, deadlines and a circuit breaker around any ``CheckpointStore``.

``ResilientStore`` wraps a store (a backend, or an instrumented backend) and is itself a
``CheckpointStore``, so it composes with the other layers (see ``chain``). For each call:

1. The call's deadline is the earlier of the RPC's (``context.deadline``, set by the
   servicer from the client's gRPC deadline) and ``call_timeout`` from now, the server's
   own bound. Each attempt runs under it: an attempt that outlives it is cancelled (the
   backend call does not keep running) and the call fails with ``DeadlineExceeded``.
2. The circuit breaker is asked first; while it is open the call fails at once with
   ``Unavailable``, without touching the backend.
3. A *transient* failure (``is_transient``) is retried up to ``RetryPolicy.max_attempts``
   attempts in all, after an exponential backoff with full jitter; a retry whose backoff
   would end after the deadline is not made, and the call fails with ``Unavailable``.
   Anything else (not found, invalid, conflict, pool exhausted, a defect) is raised as is,
   on the first attempt.

Retrying is safe for every operation because each is idempotent by key: a save carries
its checkpoint id (chosen here, before the first attempt, when the caller left it
empty), and a backend answers a save of an id it already holds with the same content by
returning the stored checkpoint, so a save whose first attempt committed but whose answer
was lost cannot be stored twice or bump the version twice (this holds for
``expected_version`` saves too: the id is checked before the version). Writes are keyed
by ``(task_id, idx)``; load, latest, list and the other listings only read. Delete,
clear, delete_where and prune converge to the same state, but a retried one reports what
its last attempt removed (``False``, or a lower count) when an earlier attempt had removed
it already. ``copy_execution`` is the exception: a copy whose answer was lost would find
its own target full on a retry (``Conflict``), so it is attempted once.

The breaker (``CircuitBreaker``) counts failed attempts, not calls, so a dead backend is
detected after ``failure_threshold`` attempts however the callers retry::

    CLOSED --(failure_threshold consecutive failures)--> OPEN
    OPEN --(open_seconds later, the next call is let through as a probe)--> HALF_OPEN
    HALF_OPEN --(the probe succeeds)--> CLOSED
    HALF_OPEN --(the probe fails)--> OPEN   (for another open_seconds)

While HALF_OPEN, calls other than the probe fail fast. A failure is a transient error or
an attempt cut off by its deadline (a hung backend); a success is any answer from the
backend, including ``NotFound`` and ``Conflict``. Input rejected before it reaches the
backend, pool exhaustion, defects and cancellations by the caller count as neither.

Defaults, and why (all are settings, see ``config``):

- 4 attempts, waits capped at 0.05, 0.1, 0.2 s (then doubling up to 1 s): what a dropped
  pooled connection or a failover blip needs is one or two quick reconnects; the waits
  add 0.35 s at worst, small beside the client's 10 s deadline, and a backend that is
  really down sees at most 4x the calls until the breaker opens.
- breaker opens after 5 consecutive failed attempts: one call's own retries (4) cannot
  open it alone, yet a dead backend under any load trips it within a few calls.
- open for 1 s: one probe per second per replica costs a dead backend nothing, and it is
  the most the breaker adds to recovery once the backend is back.
- server deadline 30 s: above the client's default (10 s), so the client's deadline
  governs; it only bounds callers that set none, so no backend call runs forever.
"""

from __future__ import annotations

import asyncio
import builtins
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    DeadlineExceeded,
    InvalidArgument,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)
from checkpoint_client._ids import with_id

from . import context
from .caller_errors import Public
from .layer import StoreLayer

__all__ = [
    "BreakerOpen",
    "BreakerState",
    "CircuitBreaker",
    "ResilientStore",
    "RetryPolicy",
    "is_transient",
]

log = logging.getLogger("checkpoint_gateway.resilience")

_R = TypeVar("_R")

#: How close to the deadline a cancellation from outside counts as the deadline's.
DEADLINE_SLACK = 0.05


# -- which errors are transient -------------------------------------------------------------


def _driver_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(transient, permanent) driver exception classes, for the drivers installed.

    The backends already translate these into ``Unavailable``; the classes matter when one
    escapes untranslated, and to recognise the few ``Unavailable`` that retrying cannot
    fix (a closed pool, refused credentials) by their cause.
    """
    transient: list[type[BaseException]] = [ConnectionError, TimeoutError]
    permanent: list[type[BaseException]] = []
    try:
        import psycopg
        import psycopg_pool
    except ImportError:  # pragma: no cover - the server extra installs both
        pass
    else:
        # OperationalError covers connection loss, refused connections and
        # AdminShutdown (the server is restarting); the other two abort one transaction
        # only, and the same work succeeds when run again.
        transient += [
            psycopg.OperationalError,
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
        ]
        permanent += [psycopg_pool.PoolClosed]
    try:
        import redis.exceptions as rx
    except ImportError:  # pragma: no cover
        pass
    else:
        # ConnectionError includes BusyLoadingError (a restarted server loading its
        # data); AskError includes MovedError (a slot moving between cluster nodes).
        transient += [
            rx.ConnectionError,
            rx.TimeoutError,
            rx.BusyLoadingError,
            rx.AskError,
            rx.TryAgainError,
            rx.ClusterDownError,
        ]
        # A subclass of ConnectionError that no retry can fix.
        permanent += [rx.AuthenticationError]
    return tuple(transient), tuple(permanent)


_TRANSIENT, _PERMANENT = _driver_errors()


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, outermost first (bounded, cycle-safe)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 16 and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return seen


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same call may succeed.

    ``Unavailable`` is transient (backends raise it for a lost or refused connection, a
    timeout, a PostgreSQL serialization failure, deadlock or admin shutdown, a Redis
    connection or loading error, a cluster redirection) unless its cause is one no retry
    fixes: a closed pool or refused credentials. Every other ``CheckpointError`` (not
    found, invalid, conflict, pool exhausted, deadline passed...) is not. A raw exception
    is transient when it is, or was caused by, a connection error or a timeout of Python
    or of a database driver.
    """
    links = _chain(exc)
    if any(isinstance(link, _PERMANENT) for link in links):
        return False
    if isinstance(exc, CheckpointError):
        return isinstance(exc, Unavailable)
    return any(isinstance(link, _TRANSIENT) for link in links)


# -- the retry policy ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently transient failures are retried.

    The n-th retry waits ``uniform(0, min(max_backoff, initial_backoff * multiplier **
    (n - 1)))`` seconds: exponential backoff with full jitter, so callers that failed
    together do not come back together (the AWS architecture blog's "full jitter").

    Attributes:
        max_attempts: attempts in all, the first included (1: no retries).
        initial_backoff: the cap of the first retry's wait, in seconds.
        max_backoff: no wait is longer than this, in seconds.
        multiplier: growth of the cap from one retry to the next.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.05
    max_backoff: float = 1.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoff times must not be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def backoff_cap(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (1 for the first retry)."""
        # min() first on the exponent's side: 2.0 ** 10_000 would overflow a float.
        exponent = min(retry - 1, 64)
        return min(self.max_backoff, self.initial_backoff * self.multiplier**exponent)

    def backoff(self, retry: int, uniform: float) -> float:
        """The wait before retry ``retry``, given ``uniform`` drawn from [0, 1)."""
        return uniform * self.backoff_cap(retry)


# -- the circuit breaker -------------------------------------------------------------------


class BreakerState(enum.Enum):
    """Where a ``CircuitBreaker`` is; the value is the label metrics and logs use."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Fails calls fast while a backend keeps failing; see the module docstring.

    Not thread-safe: one event loop owns it, and no method awaits.

    Args:
        failure_threshold: consecutive failed attempts that open the breaker.
        open_seconds: how long it stays open before letting a probe through.
        clock: monotonic seconds (tests inject one).
        on_change: called with the new state on every transition; more callbacks
            (logs, metrics) can be added to ``listeners``.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        open_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if open_seconds <= 0:
            raise ValueError("open_seconds must be positive")
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self._clock = clock
        self.listeners: list[Callable[[BreakerState], None]] = []
        if on_change is not None:
            self.listeners.append(on_change)
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The state now; an open breaker whose time is up reads as HALF_OPEN."""
        if self._state is BreakerState.OPEN and self.retry_after() == 0:
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self._state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.open_seconds - self._clock())

    def allow(self) -> bool:
        """Whether a call may go to the backend now; report its outcome if it may.

        In HALF_OPEN exactly one call (the probe) is let through until it reports.
        """
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if self.retry_after() > 0:
                return False
            self._move(BreakerState.HALF_OPEN)
        if self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        """The backend answered."""
        if self._state is BreakerState.OPEN:
            # A late answer to a call let through before the breaker opened proves
            # little; the breaker waits for its own probe.
            return
        self._failures = 0
        if self._state is BreakerState.HALF_OPEN:
            self._probing = False
            self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """The backend failed transiently, or did not answer in time."""
        if self._state is BreakerState.HALF_OPEN:
            self._probing = False
            self._open()
        elif self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._open()

    def record_neutral(self) -> None:
        """The call ended without telling anything about the backend (input rejected,
        pool exhausted, cancelled by its caller): free the probe slot if it held it."""
        if self._state is BreakerState.HALF_OPEN:
            self._probing = False

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(BreakerState.OPEN)

    def _move(self, state: BreakerState) -> None:
        self._state = state
        for listener in self.listeners:
            listener(state)


# -- the store -----------------------------------------------------------------------------


class AttemptHook(Protocol):
    """Observes each attempt (``instrumented.AttemptObserver``: a span, a count, a time)."""

    def attempt(
        self, operation: str, execution_id: str, number: int
    ) -> AbstractContextManager[None]: ...


_UNOBSERVED: AbstractContextManager[None] = nullcontext()


class ResilientStore(StoreLayer):
    """A ``CheckpointStore`` that retries, bounds and short-circuits calls to another.

    Args:
        inner: the store to protect.
        policy: which retries, and how far apart.
        breaker: the circuit breaker of ``inner`` (a new one with defaults if None).
        call_timeout: the server's bound on one call in seconds, applied when the caller's
            deadline is later or absent; None for no bound of its own.
        name: the backend's name, for log lines.
        clock: monotonic seconds, the clock of ``context.deadline`` (tests inject one).
        sleep: waits between attempts (tests inject one that records).
        uniform: draws the jitter from [0, 1) (tests inject a fixed one).
        observer: entered around every attempt (metrics and spans per attempt).

    Attributes:
        retries: how many retries were made since the store was built.
    """

    def __init__(
        self,
        inner: CheckpointStore,
        *,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        call_timeout: float | None = 30.0,
        name: str = "backend",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        uniform: Callable[[], float] = random.random,
        observer: AttemptHook | None = None,
    ) -> None:
        super().__init__(inner)
        self._observer = observer
        self.policy = policy or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(clock=clock)
        self.breaker.listeners.append(self._log_transition)
        self._call_timeout = call_timeout
        self._name = name
        self._clock = clock
        self._sleep = sleep
        self._uniform = uniform
        self.retries = 0

    @property
    def inner(self) -> CheckpointStore:
        return self._inner

    def _log_transition(self, state: BreakerState) -> None:
        if state is BreakerState.OPEN:
            log.warning(
                "%s circuit breaker open: failing calls fast for %.1fs",
                self._name,
                self.breaker.open_seconds,
            )
        elif state is BreakerState.CLOSED:
            log.warning("%s circuit breaker closed: the backend answers again", self._name)
        else:
            log.info("%s circuit breaker half-open: probing the backend", self._name)

    def _deadline(self) -> float | None:
        """The call's deadline in ``clock`` time: the RPC's or ours, whichever is first."""
        rpc = context.deadline.get()
        own = None if self._call_timeout is None else self._clock() + self._call_timeout
        if rpc is None:
            return own
        return rpc if own is None else min(rpc, own)

    async def _call(
        self, operation: str, execution_id: str, attempt: Callable[[], Awaitable[_R]]
    ) -> _R:
        """Run ``attempt`` until it succeeds, fails for good, or the deadline passes."""
        deadline = self._deadline()
        deadline_token = context.deadline.set(deadline)
        attempts = 1 if operation in _ATTEMPTED_ONCE else self.policy.max_attempts
        try:
            number = 1
            while True:
                error = await self._attempt(operation, execution_id, attempt, number, deadline)
                if isinstance(error, _Done):
                    return error.value
                if number >= attempts:
                    raise _gave_up(error, operation, number, "no attempts left") from error
                delay = self.policy.backoff(number, self._uniform())
                if deadline is not None and self._clock() + delay >= deadline:
                    # Sleeping into the deadline only to fail there tells the caller less,
                    # and later, than the error we already have.
                    raise _gave_up(error, operation, number, "no time left") from error
                log.debug(
                    "%s attempt %d on %s failed (%s); retrying in %.3fs",
                    operation,
                    number,
                    self._name,
                    _describe(error),
                    delay,
                )
                self.retries += 1
                await self._sleep(delay)
                number += 1
        finally:
            context.deadline.reset(deadline_token)

    async def _attempt(
        self,
        operation: str,
        execution_id: str,
        attempt: Callable[[], Awaitable[_R]],
        number: int,
        deadline: float | None,
    ) -> _Done[_R] | BaseException:
        """One attempt: its result (``_Done``), or the transient error to retry on.

        Raises what must not be retried: the breaker's refusal, the deadline, and every
        error that is not transient.
        """
        if not self.breaker.allow():
            wait = self.breaker.retry_after()
            when = f"next probe in {wait:.1f}s" if wait else "a probe is in flight"
            raise BreakerOpen(
                f"{self._name} is failing: circuit breaker open ({when}); retry later"
            )
        remaining = None if deadline is None else deadline - self._clock()
        if remaining is not None and remaining <= 0:
            self.breaker.record_neutral()
            raise DeadlineExceeded(f"{operation}: the deadline passed before attempt {number}")
        attempt_token = context.attempt.set(number)
        # An enclosing scope that cancels the call by our deadline (the servicer's) bounds
        # this attempt already; a second timer would cost a call as much and fire with it.
        # Cut off by it, the attempt is recorded as one cut off by ours (see below).
        enclosing = context.cancelled_at.get()
        scope = (
            None
            if deadline is None or (enclosing is not None and enclosing <= deadline)
            else asyncio.timeout(remaining)
        )
        observed = (
            _UNOBSERVED
            if self._observer is None
            else self._observer.attempt(operation, execution_id, number)
        )
        try:
            if scope is None:
                with observed:
                    value = await attempt()
            else:
                async with scope:
                    with observed:
                        value = await attempt()
        except TimeoutError as exc:
            if scope is None or not scope.expired():
                return self._failed(exc)
            # The backend call was cancelled by the timeout: nothing keeps running.
            self.breaker.record_failure()
            raise DeadlineExceeded(
                f"{operation}: {self._name} did not answer within the deadline"
            ) from None
        except (InvalidArgument, ResourceExhausted):
            # Rejected before reaching the backend, or the pool is full (the backend is
            # busy, not broken): nothing learnt about its health.
            self.breaker.record_neutral()
            raise
        except Exception as exc:
            return self._failed(exc)
        except BaseException:
            # Cancelled from outside. At the deadline that is the RPC's own timer (the
            # servicer's, or grpc's) beating ours by a hair: a hung backend all the same.
            # Otherwise the caller went away, which says nothing about the backend; either
            # way the probe slot must not stay taken.
            if deadline is not None and self._clock() >= deadline - DEADLINE_SLACK:
                self.breaker.record_failure()
            else:
                self.breaker.record_neutral()
            raise
        finally:
            context.attempt.reset(attempt_token)
        self.breaker.record_success()
        return _Done(value)

    def _failed(self, exc: BaseException) -> BaseException:
        """Classify a failed attempt: record it and return it to retry, or raise it."""
        if is_transient(exc):
            self.breaker.record_failure()
            return exc
        if isinstance(exc, CheckpointError):
            # Not found, conflict...: the backend answered.
            self.breaker.record_success()
        else:
            # A defect (the servicer reports INTERNAL): says nothing about reachability.
            self.breaker.record_neutral()
        raise exc

    # -- the CheckpointStore interface: StoreLayer routes every call through _call -------

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        # Fix the id before the first attempt: every retry then saves the same key, which
        # the backend stores once (see the module docstring).
        return await super().save(with_id(checkpoint), expected_version=expected_version)

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        # As for save: ids fixed before the first attempt, so a retried batch stores each
        # item once. A batch is retried whole: backends return only the items' own
        # answers (conflicts, invalid input), and raise what failed the whole call.
        frozen = [with_id(cp) if isinstance(cp, Checkpoint) else cp for cp in checkpoints]
        versions = None if expected_versions is None else builtins.list(expected_versions)
        return await super().save_many(frozen, expected_versions=versions)

    async def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        frozen = builtins.list(writes)  # the same writes on every attempt, even from a generator
        return await super().put_writes(execution_id, checkpoint_id, frozen, namespace=namespace)


class BreakerOpen(Unavailable, Public):
    """The breaker refused the call without trying the backend. Its message names the
    backend kind and when the next probe is due, nothing else: callers may read it."""


#: Operations that are not idempotent by key: a retry could fail where the lost attempt
#: succeeded (see the module docstring).
_ATTEMPTED_ONCE = frozenset({"copy_execution"})


@dataclass(frozen=True, slots=True)
class _Done(Generic[_R]):
    """A successful attempt's value, boxed so that no value can pass for an error."""

    value: _R


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CheckpointError):
        return str(exc) or type(exc).__name__
    # Raw driver messages may name hosts or worse; the type is enough to act on.
    return type(exc).__name__


def _gave_up(error: BaseException, operation: str, attempts: int, why: str) -> Unavailable:
    """The ``Unavailable`` a call ends with when its last attempt failed transiently."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return Unavailable(f"{_describe(error)} ({operation}: {tries}, {why}); retry later")
