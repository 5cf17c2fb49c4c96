"""The principals file as the gateway watches it: a change is read within the check
interval, a broken file keeps the previous principals (reported once), and a fixed file is
read again. A real file on disk; only the clock is injected, so no test waits a second."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from checkpoint_gateway.auth import hash_token
from checkpoint_gateway.auth.principals import PrincipalsFile

from .harness import principals_yaml


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_changes_are_read_and_a_broken_file_keeps_the_previous_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "principals.yaml"
    path.write_text(principals_yaml({"alice": "tok-alice"}))
    clock = Clock()
    principals = PrincipalsFile(path, clock=clock)
    assert principals.by_token("tok-alice") is not None
    assert principals.by_token("tok-bob") is None

    path.write_text(principals_yaml({"alice": "tok-alice", "bob": "tok-bob"}))
    assert principals.by_token("tok-bob") is None  # checked at most once a second
    clock.now += 1
    assert principals.by_token("tok-bob") is not None

    caplog.set_level(logging.INFO, logger="checkpoint_gateway.auth")
    path.write_text("principals: [not: a, valid: {entry")
    for _ in range(3):
        clock.now += 1
        assert principals.by_token("tok-bob") is not None  # the previous file still holds
    broken = [r for r in caplog.records if "not reloaded" in r.getMessage()]
    assert len(broken) == 1, [r.getMessage() for r in caplog.records]
    assert "tok-" not in caplog.text
    assert hash_token("tok-bob") not in caplog.text

    path.write_text(principals_yaml({"reader": "tok-reader"}))
    clock.now += 1
    assert principals.by_token("tok-reader") is not None
    assert principals.by_token("tok-bob") is None
    assert "principals file reloaded: 5 principals" in caplog.text
