"""CPU time and resident memory of processes, read from ``/proc`` (Linux only).

No psutil: the two numbers the benchmark needs are one line each in ``/proc/<pid>/stat``
and ``/proc/<pid>/status``, and the benchmark then needs no dependency of its own for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (all its threads); 0 if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the name: state is field 3, utime field 14, stime field 15 (1-based in proc(5)).
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` in bytes; 0 if it is gone."""
    try:
        resident = Path(f"/proc/{pid}/statm").read_text().split()[1]
    except OSError:
        return 0
    return int(resident) * _PAGE


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (PostgreSQL forks one backend process per connection)."""
    found: list[int] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


class CpuMeter:
    """CPU seconds spent by a set of processes between ``start()`` and ``stop()``.

    ``tree`` roots also count their direct children as they are at ``stop()``; a child
    born during the interval counts from zero, one that exited is lost (PostgreSQL keeps
    pooled connections' backends alive, so this does not happen in a cell).
    """

    def __init__(self, pids: Iterable[int] = (), tree: Iterable[int] = ()) -> None:
        self.pids = list(pids)
        self.tree = list(tree)
        self._before: dict[int, float] = {}

    def _all(self) -> list[int]:
        pids = [*self.pids, *self.tree]
        for root in self.tree:
            pids += children(root)
        return pids

    def start(self) -> None:
        self._before = {pid: cpu_seconds(pid) for pid in self._all()}

    def stop(self) -> float:
        return sum(cpu_seconds(pid) - self._before.get(pid, 0.0) for pid in self._all())
