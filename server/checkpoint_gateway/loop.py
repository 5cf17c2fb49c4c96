"""Which asyncio event loop the gateway runs on: uvloop when it is installed, else asyncio's.

uvloop (libuv, in Cython) runs the same asyncio code with less CPU per callback, socket
read and timer. grpc.aio's server works on any asyncio loop (its completion queue is
polled by a thread that wakes the loop through a file descriptor), and so do psycopg's
and redis-py's async clients. Measured here (bench, gateway on Redis, 64 callers): about
15-20% less gateway CPU per save (README, Performance). ``asyncio`` stays selectable, and
is what a platform without uvloop gets.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["CHOICES", "resolve", "run"]

T = TypeVar("T")

CHOICES = ("auto", "uvloop", "asyncio")


def resolve(choice: str) -> str:
    """``uvloop`` or ``asyncio`` for a setting's value; ``auto`` picks uvloop when present.

    Raises:
        ValueError: an unknown choice, or ``uvloop`` asked for but not installed.
    """
    if choice not in CHOICES:
        raise ValueError(f"event loop must be one of {', '.join(CHOICES)}, not {choice!r}")
    installed = importlib.util.find_spec("uvloop") is not None
    if choice == "uvloop" and not installed:
        raise ValueError("event loop uvloop asked for, but uvloop is not installed")
    if choice == "auto":
        return "uvloop" if installed else "asyncio"
    return choice


def run(main: Callable[[], Coroutine[Any, Any, T]], choice: str) -> T:
    """Run ``main()`` to completion on a new loop of the kind ``choice`` resolves to."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if resolve(choice) == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())
