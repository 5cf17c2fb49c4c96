"""The Coalescer that turns concurrent single saves into batches (backends/_batch.py)."""

from __future__ import annotations

import asyncio

import pytest

from checkpoint_client import Conflict, Unavailable
from checkpoint_gateway.backends._batch import Coalescer


class Recorder:
    """A flush that records its batches and answers each item as told."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate: asyncio.Event | None = None
        self.fail: BaseException | None = None
        self.started = asyncio.Event()

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [Conflict(f"item {i}") if i < 0 else i * 10 for i in items]


async def test_calls_made_in_one_iteration_run_as_one_batch() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush, max_batch=100)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert flush.batches == [[0, 1, 2, 3, 4]]
    assert (coalescer.batches, coalescer.items) == (1, 5)


async def test_a_lone_call_is_a_batch_of_one() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush, max_batch=100)
    assert await coalescer.submit(7) == 70
    assert await coalescer.submit(8) == 80
    assert flush.batches == [[7], [8]]


async def test_calls_made_while_a_batch_runs_form_the_next_batch() -> None:
    flush = Recorder()
    flush.gate = asyncio.Event()
    coalescer = Coalescer(flush, max_batch=100, max_in_flight=1)
    first = asyncio.ensure_future(coalescer.submit(1))
    await flush.started.wait()
    later = [asyncio.ensure_future(coalescer.submit(i)) for i in (2, 3, 4)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert flush.batches == [[1]]  # the three wait: one batch in flight at most
    flush.gate.set()
    assert await first == 10
    assert await asyncio.gather(*later) == [20, 30, 40]
    assert flush.batches == [[1], [2, 3, 4]]


async def test_batches_are_cut_at_max_batch_in_order() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush, max_batch=2, max_in_flight=4)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(5)))
    assert results == [0, 10, 20, 30, 40]
    assert flush.batches == [[0, 1], [2, 3], [4]]


async def test_batches_are_cut_by_weight_too() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush, max_batch=100, max_in_flight=4, weigh=abs, max_batch_bytes=10)
    await asyncio.gather(*(coalescer.submit(i) for i in (4, 5, 1, 30, 2)))
    # 4 + 5 + 1 reaches 10; 30 alone is over, and still goes (a batch holds at least one).
    assert flush.batches == [[4, 5, 1], [30], [2]]


async def test_an_item_error_is_raised_to_its_caller_only() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush, max_batch=100)
    results = await asyncio.gather(
        coalescer.submit(1), coalescer.submit(-1), coalescer.submit(2), return_exceptions=True
    )
    assert (results[0], results[2]) == (10, 20)
    assert isinstance(results[1], Conflict)
    assert str(results[1]) == "item -1"


async def test_a_failed_batch_fails_every_caller_in_it() -> None:
    flush = Recorder()
    flush.fail = Unavailable("connection lost")
    coalescer = Coalescer(flush, max_batch=100)
    results = await asyncio.gather(*(coalescer.submit(i) for i in range(3)), return_exceptions=True)
    assert all(isinstance(r, Unavailable) for r in results)
    flush.fail = None
    assert await coalescer.submit(5) == 50  # and the next batch runs


async def test_a_caller_cancelled_before_its_batch_starts_is_left_out() -> None:
    flush = Recorder()
    flush.gate = asyncio.Event()
    coalescer = Coalescer(flush, max_batch=100, max_in_flight=1)
    running = asyncio.ensure_future(coalescer.submit(1))
    await flush.started.wait()
    gone = asyncio.ensure_future(coalescer.submit(2))
    kept = asyncio.ensure_future(coalescer.submit(3))
    await asyncio.sleep(0)
    gone.cancel()
    flush.gate.set()
    assert await running == 10
    assert await kept == 30
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert flush.batches == [[1], [3]]


async def test_a_flush_answering_the_wrong_count_fails_instead_of_hanging() -> None:
    async def short(items: list[int]) -> list[int | BaseException]:
        return [1]

    coalescer: Coalescer[int, int] = Coalescer(short, max_batch=100)
    results = await asyncio.gather(coalescer.submit(1), coalescer.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_close_waits_for_queued_and_running_batches() -> None:
    flush = Recorder()
    flush.gate = asyncio.Event()
    coalescer = Coalescer(flush, max_batch=100, max_in_flight=1)
    first = asyncio.ensure_future(coalescer.submit(1))
    await flush.started.wait()
    second = asyncio.ensure_future(coalescer.submit(2))
    await asyncio.sleep(0)
    closing = asyncio.ensure_future(coalescer.close())
    await asyncio.sleep(0)
    assert not closing.done()
    flush.gate.set()
    await closing
    assert (first.result(), second.result()) == (10, 20)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Coalescer(Recorder(), max_batch=0)
    with pytest.raises(ValueError, match="max_in_flight"):
        Coalescer(Recorder(), max_batch=1, max_in_flight=0)
