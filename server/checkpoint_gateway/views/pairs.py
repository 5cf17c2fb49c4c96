"""``key=value`` words as typed by a person, made into a metadata filter."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["parse_pairs"]


def parse_pairs(words: Iterable[str]) -> dict[str, Any]:
    """``["step=3", "source=loop"]`` -> ``{"step": 3, "source": "loop"}``.

    A value that reads as a JSON scalar (a number, true, false, null, a "quoted" string)
    is taken as one, anything else as the text it is.

    Raises:
        ValueError: a word is not ``key=value``; the message quotes it.
    """
    out: dict[str, Any] = {}
    for word in words:
        key, sep, raw = word.partition("=")
        if not sep or not key:
            raise ValueError(f"{word!r}: expected KEY=VALUE, e.g. source=loop or step=3")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, dict | list):
            value = raw
        out[key] = value
    return out
