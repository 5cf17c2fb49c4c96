"""Throwaway redis servers for the tests, and the backends that use them."""

from __future__ import annotations

from tests.backends_types import Factory

BACKENDS: dict[str, Factory] = {}
