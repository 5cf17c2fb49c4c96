"""A file the gateway reads again when it changes: the principals file, a JWKS file.

An operator rotates a token or a key by writing the file; the gateway notices within a
second, with no restart. The change check is a ``stat`` (modification time and size) at
most once a second, so calls pay nothing for it. A file that no longer parses is reported
once (not every second) and the previous content stays in force: a typo must not lock
every client out.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

__all__ = ["WatchedFile"]

log = logging.getLogger("checkpoint_gateway.auth")

T = TypeVar("T")


class WatchedFile(Generic[T]):
    """The parsed content of a file, parsed again when the file changes.

    Args:
        path: the file.
        parse: turns the file's text into the content; raises one of ``errors`` when it
            cannot.
        what: how log lines name the file ("principals file").
        errors: what ``parse`` raises for a broken file (an ``OSError`` is always one).
        describe: a few words on a content for the log ("3 principals"), or None.
        clock: monotonic time, for the once-a-second check (tests inject one).

    Raises at construction what ``parse`` raises: a broken file at start-up is an error.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        parse: Callable[[str], T],
        *,
        what: str,
        errors: tuple[type[Exception], ...],
        describe: Callable[[T], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._parse = parse
        self._what = what
        self._errors: tuple[type[Exception], ...] = (OSError, *errors)
        self._describe = describe
        self._clock = clock
        self._lock = threading.Lock()
        self._checked = clock()
        self._stamp = self._read_stamp()
        self._content = parse(self.path.read_text())
        self.generation = 0
        """How many times the content was replaced since start-up."""

    def _read_stamp(self) -> tuple[int, int]:
        st = os.stat(self.path)
        return st.st_mtime_ns, st.st_size

    def _said(self, content: T) -> str:
        return f": {self._describe(content)}" if self._describe is not None else ""

    def current(self) -> T:
        """The content, read again first if the file changed (checked once a second)."""
        now = self._clock()
        if now - self._checked < 1.0:
            return self._content
        with self._lock:
            self._checked = now
            problem = None  # logged outside the handler: one line, no traceback
            try:
                stamp = self._read_stamp()
                if stamp != self._stamp:
                    self._stamp = stamp  # a broken file is reported once, not every second
                    self._content = self._parse(self.path.read_text())
                    self.generation += 1
                    log.info("%s reloaded%s", self._what, self._said(self._content))
            except self._errors as exc:
                problem = exc
            if problem is not None:
                log.error("%s not reloaded, keeping the previous one: %s", self._what, problem)
        return self._content
