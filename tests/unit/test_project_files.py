"""Files a user or a packager reads first: the licence, and the pinned tool versions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_licence_file_is_the_one_both_distributions_declare() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    for pyproject in (ROOT / "pyproject.toml", ROOT / "client" / "pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        assert project["license"] == "Apache-2.0", pyproject


def test_lint_and_type_check_tools_are_pinned() -> None:
    """A fresh install must not pick up a ruff or mypy (or stubs) that this tree never met."""
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "dev"
    ]
    pins = {
        m.group(1): m.group(2)
        for m in (re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(==.+)?", d) for d in dev)
        if m is not None
    }
    for tool in ("ruff", "mypy", "types-protobuf", "grpc-stubs", "grpcio-tools"):
        assert tool in pins, f"{tool} missing from the dev extra"
        assert (pins[tool] or "").startswith("=="), f"{tool} is not pinned with =="
