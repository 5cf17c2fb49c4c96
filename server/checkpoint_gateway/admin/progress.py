"""Progress of long work: a bar with rate and ETA on a terminal, nothing in a pipe.

The bar goes to standard error, so that standard output stays what the command prints
(JSON, a table, or an export on ``-``), and only when standard error is a terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["Tracker", "track"]


class _Rate(ProgressColumn):
    """Items per second, as ``1,234 checkpoints/s``."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text(f"- {self.unit}/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")


class Tracker:
    """Counts work done; draws it when there is a terminal to draw on."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task
        self.done = 0

    def advance(self, n: int = 1) -> None:
        """``n`` more items done."""
        self.done += n
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def total(self, total: int | None) -> None:
        """Now the total is known (or changed)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def describe(self, text: str) -> None:
        """Change the label in front of the bar."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=text)


@contextmanager
def track(
    description: str, *, total: int | None, unit: str, stream: TextIO | None = None
) -> Iterator[Tracker]:
    """A ``Tracker`` for one piece of long work; drawn only if ``stream`` (standard
    error by default) is a terminal."""
    stream = sys.stderr if stream is None else stream
    if not stream.isatty():
        yield Tracker(None, None)
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Rate(unit),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=False,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield Tracker(progress, task)
