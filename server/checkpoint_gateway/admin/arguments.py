"""Command-line values shared by several admin commands: filters, durations, output."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import Any

from ..views.pairs import parse_pairs
from .errors import UsageError

__all__ = ["add_output", "parse_duration", "parse_metadata"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def add_output(parser: argparse.ArgumentParser) -> None:
    """``--output table|json``."""
    parser.add_argument(
        "--output",
        choices=("table", "json"),
        default="table",
        help="table for people (default), json for scripts",
    )


def parse_metadata(items: list[str] | None, flag: str = "--metadata") -> dict[str, Any]:
    """``["step=3", "source=loop"]`` -> ``{"step": 3, "source": "loop"}``: a value that
    reads as a JSON scalar (number, true, false, null, "quoted") is taken as one, anything
    else as a string."""
    try:
        return parse_pairs(items or ())
    except ValueError as exc:
        raise UsageError(f"{flag} {exc}") from None


def parse_duration(text: str, flag: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"12h"``, ``"7d"``, ``"2w"`` -> a timedelta."""
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise UsageError(f"{flag} {text!r}: expected a duration such as 90s, 15m, 12h, 7d or 2w")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
