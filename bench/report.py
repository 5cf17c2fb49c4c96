"""Ratios between targets, and the printed table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Row = dict[str, Any]

COLUMNS = (
    ("target", "<", 20),
    ("op", "<", 9),
    ("state", ">", 6),
    ("c", ">", 3),
    ("ops/s", ">", 8),
    ("p50 ms", ">", 8),
    ("p99 ms", ">", 8),
    ("srv us/req", ">", 10),
    ("cli us/req", ">", 10),
    ("db us/req", ">", 9),
    ("RSS MiB", ">", 7),
    ("/(a)", ">", 5),
    ("/(c)", ">", 5),
    ("/(d)", ">", 5),
    ("err", ">", 4),
)


SAVE_MANY_NOTE = (
    "save_many rows count checkpoints, not calls (100 per call, items_per_op in the JSON): "
    "their ops/s are checkpoints/s, us/req and err per checkpoint; p50 and p99 per call."
)


def size_label(n: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor}{unit}"
    return f"{n}B"


def add_ratios(rows: list[Row]) -> None:
    """Give every gateway row its throughput over the bare server's (a), the same backend
    called directly (c) and, for PostgreSQL, LangGraph's saver (d), in the same cell."""
    by_cell = {(r["target"], r["op"], r["state_bytes"], r["concurrency"]): r for r in rows}

    def ratio(row: Row, other_target: str) -> float | None:
        other = by_cell.get((other_target, row["op"], row["state_bytes"], row["concurrency"]))
        if other is None or not other["ops_per_s"] or not row["requests"]:
            return None
        return round(float(row["ops_per_s"]) / float(other["ops_per_s"]), 3)

    for row in rows:
        row["vs_bare"] = row["vs_direct"] = row["vs_langgraph"] = None
        if row["group"] != "gateway":
            continue
        row["vs_bare"] = ratio(row, "bare")
        row["vs_direct"] = ratio(row, f"direct-{row['backend']}")
        if row["backend"] == "postgresql":
            row["vs_langgraph"] = ratio(row, "langgraph-postgresql")


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ms(value: float) -> str:
    if value < 1:
        return f"{value:.3f}"
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def row_cells(row: Row) -> list[str]:
    return [
        row["target"],
        row["op"],
        size_label(row["state_bytes"]),
        str(row["concurrency"]),
        _fmt(float(row["ops_per_s"])),
        _ms(row["p50_ms"]),
        _ms(row["p99_ms"]),
        _fmt(row["server_cpu_us"]),
        _fmt(row["client_cpu_us"]),
        _fmt(row["db_cpu_us"]),
        _fmt(row["rss_mib"]),
        _fmt(row.get("vs_bare"), 2),
        _fmt(row.get("vs_direct"), 2),
        _fmt(row.get("vs_langgraph"), 2),
        str(row["errors"]),
    ]


def header() -> str:
    return "  ".join(f"{name:{align}{width}}" for name, align, width in COLUMNS)


def line(row: Row) -> str:
    cells = row_cells(row)
    return "  ".join(
        f"{cell:{align}{width}}" for cell, (_, align, width) in zip(cells, COLUMNS, strict=True)
    )


def ordered(rows: Iterable[Row], order: Sequence[str]) -> list[Row]:
    """Grouped by operation, state size and concurrency, so that the targets of one cell
    are next to each other, in ``order``."""
    rank = {name: i for i, name in enumerate(order)}
    ops = {"save": 0, "save_many": 1, "load": 2, "latest": 3, "list": 4}
    return sorted(
        rows,
        key=lambda r: (
            ops.get(r["op"], 9),
            r["state_bytes"],
            r["concurrency"],
            rank.get(r["target"], 99),
        ),
    )


def table(rows: Iterable[Row], order: Sequence[str]) -> str:
    """One line per cell, a blank line between cells."""
    out = [header()]
    previous: tuple[Any, ...] | None = None
    for row in ordered(rows, order):
        cell = (row["op"], row["state_bytes"], row["concurrency"])
        if previous is not None and cell != previous:
            out.append("")
        previous = cell
        out.append(line(row))
    return "\n".join(out)


def markdown(rows: Iterable[Row], order: Sequence[str]) -> str:
    """The same table as GitHub markdown (for the README)."""
    names = [name for name, _, _ in COLUMNS]
    out = ["| " + " | ".join(names) + " |", "|" + "|".join(" --- " for _ in names) + "|"]
    rows = ordered(rows, order)
    out += ["| " + " | ".join(row_cells(row)) + " |" for row in rows]
    if any(row["op"] == "save_many" for row in rows):
        out += ["", SAVE_MANY_NOTE]
    return "\n".join(out)
