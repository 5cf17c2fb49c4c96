"""The resilient layer alone: which errors retry, how often, how long apart, the breaker.

Time is a fake clock, waits are recorded (and advance the clock) instead of slept, and
the jitter is a fixed draw, so every figure is exact and nothing here sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg
import psycopg_pool
import pytest
import redis.exceptions as rx

from checkpoint_client import (
    Checkpoint,
    Conflict,
    DeadlineExceeded,
    InternalError,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unavailable,
)
from checkpoint_gateway import context
from checkpoint_gateway.backends import MemoryStore
from checkpoint_gateway.resilience import (
    BreakerState,
    CircuitBreaker,
    ResilientStore,
    RetryPolicy,
    is_transient,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RecordingSleep:
    """Records each wait and moves the fake clock on by it, instead of sleeping."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.now += seconds


def _caused(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


# -- which errors are transient -----------------------------------------------------------

TRANSIENT = [
    Unavailable("backend down"),
    _caused(Unavailable("lost"), psycopg.OperationalError("server closed the connection")),
    _caused(Unavailable("aborted"), psycopg.errors.SerializationFailure("could not serialize")),
    _caused(Unavailable("aborted"), psycopg.errors.DeadlockDetected("deadlock detected")),
    _caused(Unavailable("restarting"), psycopg.errors.AdminShutdown("terminating connection")),
    _caused(Unavailable("redis"), rx.BusyLoadingError("loading the dataset")),
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError(),
    psycopg.OperationalError("connection refused"),
    psycopg.errors.SerializationFailure("could not serialize access"),
    psycopg.errors.DeadlockDetected("deadlock detected"),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    rx.ConnectionError("Connection refused"),
    rx.TimeoutError("Timeout reading from socket"),
    rx.BusyLoadingError("Redis is loading the dataset in memory"),
    rx.MovedError("3999 127.0.0.1:6381"),
    rx.AskError("3999 127.0.0.1:6381"),
    rx.TryAgainError("TRYAGAIN"),
    rx.ClusterDownError("CLUSTERDOWN The cluster is down"),
    _caused(RuntimeError("wrapped"), ConnectionResetError()),
]

PERMANENT = [
    NotFound("no such checkpoint"),
    InvalidArgument("bad id"),
    Conflict("version moved on"),
    ResourceExhausted("pool exhausted"),
    DeadlineExceeded("too late"),
    InternalError("defect"),
    _caused(Unavailable("store closed"), psycopg_pool.PoolClosed("the pool is closed")),
    _caused(Unavailable("bad password"), rx.AuthenticationError("invalid password")),
    rx.AuthenticationError("invalid password"),
    psycopg.errors.UniqueViolation("duplicate key"),
    rx.ResponseError("WRONGTYPE"),
    ValueError("bug"),
    RuntimeError("bug"),
    # Not transient even when a transient error caused it: the backend decided.
    _caused(InternalError("redis said no"), rx.ConnectionError()),
]


@pytest.mark.parametrize("exc", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient_errors_are_retried(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize("exc", PERMANENT, ids=lambda e: type(e).__name__)
def test_other_errors_are_not(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_a_cyclic_cause_chain_ends() -> None:
    a, b = RuntimeError("a"), RuntimeError("b")
    a.__cause__, b.__cause__ = b, a
    assert not is_transient(a)


# -- the backoff ----------------------------------------------------------------------------


def test_backoff_caps_grow_exponentially_up_to_the_maximum() -> None:
    policy = RetryPolicy(max_attempts=10, initial_backoff=0.05, max_backoff=1.0)
    caps = [policy.backoff_cap(n) for n in range(1, 8)]
    assert caps == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert policy.backoff_cap(10_000) == 1.0  # no float overflow


@pytest.mark.parametrize("retry", [1, 2, 3, 6, 50])
def test_full_jitter_spans_zero_to_the_cap(retry: int) -> None:
    policy = RetryPolicy()
    cap = policy.backoff_cap(retry)
    assert policy.backoff(retry, 0.0) == 0.0
    assert policy.backoff(retry, 0.5) == pytest.approx(cap / 2)
    assert policy.backoff(retry, 0.999999) < cap


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"initial_backoff": -1.0}, "negative"),
        ({"max_backoff": -0.1}, "negative"),
        ({"multiplier": 0.5}, "multiplier"),
    ],
)
def test_policy_refuses_nonsense(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**bad)


# -- the breaker's state machine ------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _breaker(clock: FakeClock, seen: list[BreakerState] | None = None) -> CircuitBreaker:
    return CircuitBreaker(
        failure_threshold=3,
        open_seconds=2.0,
        clock=clock,
        on_change=None if seen is None else seen.append,
    )


def test_breaker_opens_after_consecutive_failures_only(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.allow()
    breaker.record_success()  # the streak is broken
    assert breaker.consecutive_failures == 0
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()
    assert breaker.retry_after() == pytest.approx(2.0)


def test_open_breaker_lets_one_probe_through_when_its_time_is_up(clock: FakeClock) -> None:
    seen: list[BreakerState] = []
    breaker = _breaker(clock, seen)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 1.999
    assert not breaker.allow()
    assert breaker.retry_after() == pytest.approx(0.001)
    clock.now += 0.001
    assert breaker.state is BreakerState.HALF_OPEN  # as read by metrics, before any call
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # everyone else while it is out
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()
    assert seen == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_a_failed_probe_opens_the_breaker_for_another_period(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 2.0
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after() == pytest.approx(2.0)
    clock.now += 2.0
    assert breaker.allow()


def test_a_probe_that_tells_nothing_frees_the_slot(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 2.0
    assert breaker.allow()
    breaker.record_neutral()  # e.g. cancelled by its caller
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow()


def test_a_late_success_does_not_close_an_open_breaker(clock: FakeClock) -> None:
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    breaker.record_success()  # a call let through before the breaker opened
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_breaker_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
    with pytest.raises(ValueError, match="open_seconds"):
        CircuitBreaker(open_seconds=0)


# -- the store: retries, deadline, breaker --------------------------------------------------


class Scripted(MemoryStore):
    """A memory store whose ``latest`` first raises the scripted errors, one per call,
    and notes the attempt number and deadline each call saw."""

    def __init__(self, *errors: BaseException) -> None:
        super().__init__()
        self.errors = list(errors)
        self.attempts: list[int] = []
        self.deadlines: list[float | None] = []

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        self.attempts.append(context.attempt.get())
        self.deadlines.append(context.deadline.get())
        if self.errors:
            raise self.errors.pop(0)
        return await super().latest(execution_id, namespace=namespace)


def _resilient(
    inner: Any,
    clock: FakeClock,
    sleep: RecordingSleep,
    *,
    attempts: int = 4,
    threshold: int = 100,
    call_timeout: float | None = None,
    uniform: Callable[[], float] = lambda: 0.5,
) -> ResilientStore:
    return ResilientStore(
        inner,
        policy=RetryPolicy(max_attempts=attempts, initial_backoff=0.1, max_backoff=1.0),
        breaker=CircuitBreaker(failure_threshold=threshold, open_seconds=5.0, clock=clock),
        call_timeout=call_timeout,
        clock=clock,
        sleep=sleep,
        uniform=uniform,
    )


async def _seeded(inner: MemoryStore) -> None:
    await inner.save(Checkpoint("run", {"n": 1}))


async def test_transient_failures_are_retried_with_jittered_backoff(clock: FakeClock) -> None:
    inner = Scripted(Unavailable("a"), ConnectionResetError(), Unavailable("c"))
    await _seeded(inner)
    sleep = RecordingSleep(clock)
    store = _resilient(inner, clock, sleep)
    found = await store.latest("run")
    assert found.version == 1
    assert inner.attempts == [1, 2, 3, 4]
    # uniform() = 0.5 of the caps 0.1, 0.2, 0.4
    assert sleep.waits == pytest.approx([0.05, 0.1, 0.2])
    assert store.retries == 3
    assert context.attempt.get() == 1  # reset once the call is over


async def test_attempts_are_bounded_then_unavailable(clock: FakeClock) -> None:
    inner = Scripted(*[Unavailable(f"down {i}") for i in range(10)])
    sleep = RecordingSleep(clock)
    store = _resilient(inner, clock, sleep, attempts=3)
    with pytest.raises(Unavailable, match=r"down 2 \(latest: 3 attempts, no attempts left\)"):
        await store.latest("run")
    assert inner.attempts == [1, 2, 3]
    assert len(sleep.waits) == 2


async def test_a_raw_driver_error_ends_as_unavailable_not_internal(clock: FakeClock) -> None:
    inner = Scripted(*[rx.ConnectionError("secret-host:6379 refused") for _ in range(4)])
    store = _resilient(inner, clock, RecordingSleep(clock), attempts=2)
    with pytest.raises(Unavailable) as err:
        await store.latest("run")
    assert "secret-host" not in str(err.value)  # raw driver text never reaches the wire
    assert isinstance(err.value.__cause__, rx.ConnectionError)


@pytest.mark.parametrize(
    "exc",
    [NotFound("x"), Conflict("x"), InvalidArgument("x"), ResourceExhausted("x"), RuntimeError()],
    ids=lambda e: type(e).__name__,
)
async def test_other_errors_are_raised_at_once(clock: FakeClock, exc: Exception) -> None:
    inner = Scripted(exc, exc)
    sleep = RecordingSleep(clock)
    store = _resilient(inner, clock, sleep)
    with pytest.raises(type(exc)):
        await store.latest("run")
    assert inner.attempts == [1]
    assert sleep.waits == []


async def test_no_retry_is_started_that_would_end_after_the_deadline(clock: FakeClock) -> None:
    inner = Scripted(*[Unavailable("down") for _ in range(10)])
    sleep = RecordingSleep(clock)
    store = _resilient(inner, clock, sleep, attempts=10, uniform=lambda: 0.99)
    token = context.deadline.set(clock() + 0.5)
    try:
        with pytest.raises(Unavailable, match="no time left"):
            await store.latest("run")
    finally:
        context.deadline.reset(token)
    # waits ~0.099 + ~0.198 = 0.297; the next (~0.396) would pass the deadline
    assert len(sleep.waits) == 2
    assert sum(sleep.waits) < 0.5
    assert inner.attempts == [1, 2, 3]


async def test_a_passed_deadline_fails_without_calling_the_backend(clock: FakeClock) -> None:
    inner = Scripted()
    store = _resilient(inner, clock, RecordingSleep(clock))
    token = context.deadline.set(clock() - 0.001)
    try:
        with pytest.raises(DeadlineExceeded):
            await store.latest("run")
    finally:
        context.deadline.reset(token)
    assert inner.attempts == []


async def test_the_servers_deadline_bounds_calls_without_one(clock: FakeClock) -> None:
    inner = Scripted()
    await _seeded(inner)
    store = _resilient(inner, clock, RecordingSleep(clock), call_timeout=30.0)
    await store.latest("run")
    assert inner.deadlines == [pytest.approx(clock() + 30.0)]
    token = context.deadline.set(clock() + 2.0)  # the client's is sooner: it wins
    try:
        await store.latest("run")
    finally:
        context.deadline.reset(token)
    assert inner.deadlines[-1] == pytest.approx(clock() + 2.0)


class Hanging(MemoryStore):
    """``latest`` never answers; notes when it is cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("unreachable")


async def test_an_attempt_past_the_deadline_is_cancelled_and_counts_as_failure() -> None:
    # Real time here: asyncio's timeout cuts the attempt. The call waits only for that.
    inner = Hanging()
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=60.0)
    store = ResilientStore(inner, breaker=breaker, call_timeout=0.05)
    with pytest.raises(DeadlineExceeded):
        await store.latest("run")
    assert inner.cancelled.is_set()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(Unavailable, match="circuit breaker open"):
        await store.latest("run")


async def test_breaker_opens_fails_fast_then_recovers_through_a_probe(clock: FakeClock) -> None:
    inner = Scripted(*[Unavailable("down") for _ in range(4)])
    await _seeded(inner)
    sleep = RecordingSleep(clock)
    store = _resilient(inner, clock, sleep, attempts=2, threshold=3)
    for _ in range(2):
        with pytest.raises(Unavailable):
            await store.latest("run")
    # 3 failed attempts opened it during the second call: its retry was refused.
    assert inner.attempts == [1, 2, 1]
    assert store.breaker.state is BreakerState.OPEN
    with pytest.raises(Unavailable, match="circuit breaker open"):
        await store.latest("run")
    assert len(inner.attempts) == 3  # failed fast, the backend was not called
    clock.now += 5.0
    with pytest.raises(Unavailable):  # the probe fails: open again
        await store.latest("run")
    assert store.breaker.state is BreakerState.OPEN
    clock.now += 5.0
    assert (await store.latest("run")).version == 1  # the probe succeeds
    assert store.breaker.state is BreakerState.CLOSED


async def test_answers_that_are_errors_still_close_the_breaker(clock: FakeClock) -> None:
    inner = Scripted(*[Unavailable("down")] * 2)
    store = _resilient(inner, clock, RecordingSleep(clock), attempts=1, threshold=2)
    for _ in range(2):
        with pytest.raises(Unavailable):
            await store.latest("run")
    clock.now += 5.0
    with pytest.raises(NotFound):  # the backend answered: healthy
        await store.latest("run")
    assert store.breaker.state is BreakerState.CLOSED


class LosesAcks(MemoryStore):
    """Commits a save, then fails as if the connection died before the answer came."""

    def __init__(self, lost: int) -> None:
        super().__init__()
        self.lost = lost
        self.ids: list[str] = []

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        self.ids.append(checkpoint.checkpoint_id)
        saved = await super().save(checkpoint, expected_version=expected_version)
        if self.lost:
            self.lost -= 1
            raise Unavailable("connection lost after commit")
        return saved


@pytest.mark.parametrize("expected_version", [None, 0])
async def test_a_retried_save_is_stored_once(
    clock: FakeClock, expected_version: int | None
) -> None:
    inner = LosesAcks(lost=2)
    store = _resilient(inner, clock, RecordingSleep(clock))
    saved = await store.save(Checkpoint("run", {"n": 1}), expected_version=expected_version)
    assert saved.version == 1
    assert len(inner.ids) == 3  # three attempts...
    assert len(set(inner.ids)) == 1  # ...of one id
    page = await inner.list("run")
    assert [cp.checkpoint_id for cp in page.checkpoints] == [saved.checkpoint_id]
    again = await store.save(Checkpoint("run", {"n": 2}))
    assert again.version == 2  # versions were bumped once per checkpoint


async def test_cancellation_by_the_caller_is_not_a_failure(clock: FakeClock) -> None:
    inner = Hanging()
    breaker = CircuitBreaker(failure_threshold=1, clock=clock)
    store = ResilientStore(inner, breaker=breaker, call_timeout=None, clock=clock)
    task = asyncio.create_task(store.latest("run"))
    await inner.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert inner.cancelled.is_set()
    assert breaker.state is BreakerState.CLOSED


async def test_cancellation_at_the_deadline_counts_as_a_hung_backend(clock: FakeClock) -> None:
    # The RPC's own timer (the servicer's or grpc's) may beat ours to the deadline.
    inner = Hanging()
    breaker = CircuitBreaker(failure_threshold=1, clock=clock)
    store = ResilientStore(inner, breaker=breaker, call_timeout=None, clock=clock)
    token = context.deadline.set(clock() + 1.0)
    try:
        task = asyncio.create_task(store.latest("run"))
    finally:
        context.deadline.reset(token)
    await inner.started.wait()
    clock.now += 1.0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state is BreakerState.OPEN
