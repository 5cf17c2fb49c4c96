"""An execution's history as a tree: one page of checkpoints (newest first) laid out in
lanes, as ``git log --graph`` does, so forks and branches show.

Only the page in hand is laid out: a history of any length is drawn a page at a time,
and a lane whose parent is on a later page simply runs off the bottom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from checkpoint_client import Checkpoint

__all__ = ["Row", "lay_out"]

#: What a lane cell shows: the row's own checkpoint, a fork point (two or more children
#: on the page meet here), a lane passing by, a branch ending in this row, or nothing.
NODE, FORK, PASS, JOIN, EMPTY = "●", "◆", "│", "┘", " "


@dataclass(frozen=True, slots=True)
class Row:
    """One checkpoint of the page, with its place in the tree.

    Attributes:
        checkpoint: the checkpoint.
        position: 1-based position in the whole listing.
        lanes: the graph cells left of it, one character per lane.
        children: how many checkpoints on this page have it as their parent.
        branched: its parent is not the checkpoint saved just before it in its
            namespace: it resumed from an older one (time travel, a fork).
    """

    checkpoint: Checkpoint
    position: int
    lanes: str
    children: int
    branched: bool


def lay_out(checkpoints: Sequence[Checkpoint], first_position: int = 1) -> list[Row]:
    """Lay out a page of checkpoints, newest first, in lanes."""
    awaited: list[tuple[str, str] | None] = []  # per lane: the (namespace, id) it waits for
    rows: list[Row] = []
    older: dict[int, str] = {}  # row index -> id of the next older row of its namespace
    seen: dict[str, str] = {}
    for index in range(len(checkpoints) - 1, -1, -1):
        cp = checkpoints[index]
        older[index] = seen.get(cp.namespace, "")
        seen[cp.namespace] = cp.checkpoint_id
    for index, cp in enumerate(checkpoints):
        key = (cp.namespace, cp.checkpoint_id)
        mine = [lane for lane, wanted in enumerate(awaited) if wanted == key]
        if mine:
            lane = mine[0]
        elif None in awaited:
            lane = awaited.index(None)
        else:
            awaited.append(None)
            lane = len(awaited) - 1
        cells = []
        for i, wanted in enumerate(awaited):
            if i == lane:
                cells.append(FORK if len(mine) > 1 else NODE)
            elif i in mine:
                cells.append(JOIN)
            elif wanted is not None:
                cells.append(PASS)
            else:
                cells.append(EMPTY)
        for i in mine[1:]:
            awaited[i] = None
        awaited[lane] = (cp.namespace, cp.parent_id) if cp.parent_id else None
        while awaited and awaited[-1] is None:
            awaited.pop()
        before = older[index]
        rows.append(
            Row(
                checkpoint=cp,
                position=first_position + index,
                lanes="".join(cells).rstrip(),
                children=len(mine),
                branched=bool(cp.parent_id and before and cp.parent_id != before),
            )
        )
    return rows
