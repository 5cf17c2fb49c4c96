"""What a command prints: tables and trees for people, JSON for scripts.

``--output table`` (the default) draws with ``rich``; colours only on a terminal, and in
a pipe lines as wide as they need, never cut. ``--output json`` prints one JSON document
on standard output. Either way, errors go to standard error (see ``errors``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from checkpoint_client import Channel, Checkpoint, PendingWrite

from ..views.decode import decode

__all__ = [
    "Output",
    "checkpoint_json",
    "short",
    "stamp",
    "summary",
    "value_json",
    "value_text",
]

JSON = "application/json"

#: Bytes shown of a value that is not JSON: enough to recognise it.
PREVIEW_BYTES = 32


class Output:
    """Where a command's result goes, in the form asked for.

    Args:
        mode: ``table`` or ``json``.
        stream: standard output by default.
    """

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.stream = sys.stdout if stream is None else stream
        self.json = mode == "json"
        terminal = self.stream.isatty()
        # In a pipe rich would wrap at 80 columns; ids must stay whole for grep and cut.
        width = None if terminal else int(os.environ.get("COLUMNS", "0")) or 200
        self.console = Console(
            file=self.stream, width=width, highlight=False, soft_wrap=not terminal
        )

    def data(self, value: Any) -> None:
        """Print ``value`` as one JSON document."""
        self.stream.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
        self.stream.flush()

    def show(self, *renderables: RenderableType | str) -> None:
        """Print for people."""
        for renderable in renderables:
            self.console.print(Text(renderable) if isinstance(renderable, str) else renderable)

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None
    ) -> None:
        """A table with one header row; ids never wrap."""
        table = Table(title=title, title_justify="left", box=None, pad_edge=False)
        for column in columns:
            table.add_column(column, no_wrap=True, overflow="fold")
        for row in rows:
            # Text, not str: a value such as "[bold]" is data, never rich markup.
            table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
        self.console.print(table)


def stamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC, to the second for people (JSON keeps microseconds)."""
    return None if moment is None else moment.isoformat()


def short(moment: datetime | None) -> str:
    """``2026-11-30 10:21:27``."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def value_json(data: bytes, content_type: str) -> Any:
    """A stored value for JSON output: decoded JSON, or a description of the bytes with
    their base64."""
    if content_type == JSON:
        try:
            return json.loads(data)
        except ValueError:
            pass
    return {
        "content_type": content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "base64": base64.b64encode(data).decode("ascii"),
    }


def value_text(data: bytes, content_type: str) -> str:
    """A stored value for people, decoded as the console decodes it (``views.decode``:
    JSON pretty-printed, LangGraph's MessagePack unpacked, text as text); other bytes
    summarised (size, SHA-256, the first bytes in hex)."""
    decoded = decode(data, content_type)
    if decoded.kind in ("json", "text"):
        return decoded.text + ("\n... (cut)" if decoded.truncated else "")
    head = data[:PREVIEW_BYTES].hex(" ")
    more = " ..." if len(data) > PREVIEW_BYTES else ""
    return (
        f"<{len(data)} bytes {content_type or 'application/octet-stream'}, "
        f"sha256 {hashlib.sha256(data).hexdigest()[:16]}...> {head}{more}"
    )


def summary(data: bytes, content_type: str, width: int = 60) -> str:
    """One line about a value, at most ``width`` characters."""
    if content_type == JSON:
        text = data.decode("utf-8", "replace")
    else:
        text = f"<{len(data)} bytes {content_type}>"
    return text if len(text) <= width else text[: width - 3] + "..."


def _channel_json(channel: Channel) -> dict[str, Any]:
    out: dict[str, Any] = {"version": channel.version, "content_type": channel.content_type}
    if channel.value_bytes is not None:
        out["value"] = value_json(channel.value_bytes, channel.content_type)
    return out


def _write_json(write: PendingWrite) -> dict[str, Any]:
    return {
        "task_id": write.task_id,
        "idx": write.idx,
        "channel": write.channel,
        "task_path": write.task_path,
        "content_type": write.content_type,
        "value": value_json(write.value_bytes, write.content_type),
    }


def checkpoint_json(cp: Checkpoint, *, full: bool = True) -> dict[str, Any]:
    """A checkpoint for JSON output: its fields, and with ``full`` its state, channels and
    pending writes decoded by content type."""
    out: dict[str, Any] = {
        "execution_id": cp.execution_id,
        "namespace": cp.namespace,
        "checkpoint_id": cp.checkpoint_id,
        "parent_id": cp.parent_id or None,
        "version": cp.version,
        "created_at": stamp(cp.created_at),
        "node": cp.node,
        "next_nodes": list(cp.next_nodes),
        "metadata": cp.metadata,
        "content_type": cp.content_type,
        "state_bytes": len(cp.state_bytes),
        "pending_writes": len(cp.pending_writes),
    }
    if full:
        out["state"] = value_json(cp.state_bytes, cp.content_type)
        out["channels"] = {name: _channel_json(ch) for name, ch in sorted(cp.channels.items())}
        out["pending_writes"] = [_write_json(w) for w in cp.pending_writes]
    return out
