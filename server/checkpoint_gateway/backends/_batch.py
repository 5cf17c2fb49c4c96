"""Coalescing: concurrent calls run as one batch, in one round trip.

A backend whose round trips dominate (Redis, PostgreSQL) hands each save to a
``Coalescer`` instead of running it alone. A call that finds no batch running schedules
one at the end of the current event-loop iteration (``loop.call_soon``), so the calls
that arrive in the same iteration join it. Calls that arrive while ``max_in_flight``
batches run wait and go together as the next batch when one finishes: so batches grow
with the load (to about the arrival rate times a round trip) and a lone call waits no
more than one iteration. The backend runs a batch in one round trip (one pipeline, or one
statement and one commit) and answers each call on its own: per-item results and
per-item errors, in the order the calls arrived.

What does not change for a caller:

- durability: its answer comes only after the batch is stored (committed, or answered by
  Redis), exactly as for a save of its own;
- ordering: items run in arrival order, so two saves of one lineage in one batch get
  consecutive versions in the order they were made;
- errors: an item's own failure (a conflict, a compare-and-set lost) is its alone; a
  failure of the whole round trip (connection lost) reaches every caller in the batch,
  each of which may retry alone, as before.

A caller cancelled before its batch starts is left out of it (nothing is written for it);
one cancelled while its batch runs may be stored, as with any call cancelled in flight.
Batches run concurrently (one connection each), so a slow batch does not hold up the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Coalescer"]

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")


class Coalescer(Generic[I, R]):
    """Collects ``submit``ted items into batches for ``flush``.

    Args:
        flush: runs one batch; returns one result or exception per item, in order, or
            raises when the whole batch failed.
        max_batch: the most items in one batch.
        weigh: an item's size (bytes), for ``max_batch_bytes``.
        max_batch_bytes: a batch is cut once its items weigh this much (it holds at
            least one item however heavy), so big states go in smaller batches.
        max_in_flight: the most batches running at once. While that many run, new items
            wait for the next batch, so batches grow with the load (to about the arrival
            rate times a round trip) and shrink to one item when it is quiet.
    """

    def __init__(
        self,
        flush: Callable[[list[I]], Awaitable[Sequence[R | BaseException]]],
        *,
        max_batch: int,
        max_in_flight: int = 1,
        weigh: Callable[[I], int] | None = None,
        max_batch_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._flush = flush
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._weigh = weigh
        self._max_batch_bytes = max_batch_bytes
        self._pending: list[tuple[I, asyncio.Future[R]]] = []
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0  # flushed so far (for tests and figures)
        self.items = 0

    async def submit(self, item: I) -> R:
        """Run ``item`` in the next batch; return its result or raise its error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if not self._scheduled and len(self._running) < self._max_in_flight:
            # At the end of this iteration, so the calls that arrive in it join too.
            self._scheduled = True
            loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        self._scheduled = False
        loop = asyncio.get_running_loop()
        while self._pending and len(self._running) < self._max_in_flight:
            size = self._cut()
            batch = self._pending[:size]
            del self._pending[:size]
            task = loop.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _cut(self) -> int:
        """How many of the pending items the next batch takes."""
        size = min(len(self._pending), self._max_batch)
        if self._weigh is None:
            return size
        total = 0
        for i in range(size):
            total += self._weigh(self._pending[i][0])
            if total >= self._max_batch_bytes:
                return i + 1
        return size

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._pending and not self._scheduled:
            self._dispatch()  # what queued while the batch ran goes now, as one batch

    async def _run(self, batch: list[tuple[I, asyncio.Future[R]]]) -> None:
        live = [(item, future) for item, future in batch if not future.done()]
        if not live:
            return
        self.batches += 1
        self.items += len(live)
        try:
            results = await self._flush([item for item, _ in live])
        except BaseException as exc:
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        if len(results) != len(live):  # a defect of the backend: never hang the callers
            error = RuntimeError(f"a batch of {len(live)} returned {len(results)} results")
            results = [error] * len(live)
        for (_, future), result in zip(live, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def close(self) -> None:
        """Wait for the batches in flight and queued (new submissions still work)."""
        while self._running or self._pending:
            if self._pending:
                self._dispatch()
            await asyncio.gather(*self._running, return_exceptions=True)
