"""A JSON-aware diff of two checkpoints: which keys and list items changed, not bytes.

Both checkpoints are first made into one document each (state, channels, metadata,
node, next nodes), decoded by content type (see ``_decode``); deepdiff then compares the
documents. Lists are compared in order with insertions and removals found as such (an
item added at the front is one addition, not a change of every later item).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

from checkpoint_client import Checkpoint

from .decode import decode

__all__ = ["Change", "diff_checkpoints", "document"]

#: deepdiff's report types, as a person reads them.
_KINDS = {
    "values_changed": "changed",
    "type_changes": "changed",
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_added": "added",
    "iterable_item_removed": "removed",
    "set_item_added": "added",
    "set_item_removed": "removed",
    "attribute_added": "added",
    "attribute_removed": "removed",
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two checkpoints.

    Attributes:
        kind: ``added``, ``removed`` or ``changed``.
        path: where, e.g. ``state.messages[3]`` or ``metadata.step``.
        before: the value in the first checkpoint (None when added).
        after: the value in the second (None when removed).
        has_before: whether ``before`` exists (a value may be null).
        has_after: whether ``after`` exists.
    """

    kind: str
    path: str
    before: Any
    after: Any
    has_before: bool
    has_after: bool


def document(checkpoint: Checkpoint) -> dict[str, Any]:
    """What a diff compares: the decoded state, channels and metadata, the node and the
    next nodes."""
    return {
        "state": decode(checkpoint.state_bytes, checkpoint.content_type).comparable(),
        # Always present, so a channel that one checkpoint lacks is named itself.
        "channels": {
            name: decode(ch.value_bytes or b"", ch.content_type).comparable()
            for name, ch in sorted(checkpoint.channels.items())
        },
        "metadata": checkpoint.metadata,
        "node": checkpoint.node,
        "next_nodes": list(checkpoint.next_nodes),
    }


def format_path(parts: list[Any]) -> str:
    """``["state", "messages", 3]`` -> ``state.messages[3]``; odd keys are quoted."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _IDENTIFIER.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "(whole)"


def diff_checkpoints(a: Checkpoint, b: Checkpoint) -> list[Change]:
    """Every difference from ``a`` to ``b``, sorted by path."""
    tree = DeepDiff(
        document(a),
        document(b),
        view="tree",
        # Always go down to the keys and items that differ, however different two
        # objects are (deepdiff otherwise reports a very different object as one change).
        threshold_to_diff_deeper=0,
    )
    changes: list[Change] = []
    for report, levels in tree.items():
        kind = _KINDS.get(report)
        if kind is None:  # repetition changes and the like: only with ignore_order
            continue
        for level in levels:
            has_before = level.t1 is not notpresent
            has_after = level.t2 is not notpresent
            changes.append(
                Change(
                    kind=kind,
                    path=format_path(level.path(output_format="list")),
                    before=level.t1 if has_before else None,
                    after=level.t2 if has_after else None,
                    has_before=has_before,
                    has_after=has_after,
                )
            )
    changes.sort(key=lambda c: c.path)
    return changes
