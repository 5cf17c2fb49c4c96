"""The README's Python example runs as written against a real gateway."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.gateway_process import GatewayProcess

ROOT = Path(__file__).resolve().parents[2]


def test_readme_python_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Save and load from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "no python block under 'Save and load from Python'"
    assert "127.0.0.1:50051" in code.group(1)

    gw = GatewayProcess(["--listen", "127.0.0.1:0", "--backend", "memory://"], cwd=tmp_path)
    try:
        gw.wait_listening()
        script = code.group(1).replace("127.0.0.1:50051", gw.target)
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
    finally:
        assert gw.stop() == 0
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert re.fullmatch(r"[0-9a-f-]{36} 1", lines[0])
    assert lines[1] == "{'messages': ['hi']} ('tools',)"
    assert lines[2] == "1 agent"
    assert lines[3] == "[1, 2, 3]"


def test_readme_langgraph_example_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use from LangGraph", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "no python block under 'Use from LangGraph'"
    assert "127.0.0.1:50051" in code.group(1)

    gw = GatewayProcess(["--listen", "127.0.0.1:0", "--backend", "memory://"], cwd=tmp_path)
    try:
        gw.wait_listening()
        script = code.group(1).replace("127.0.0.1:50051", gw.target)
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
    finally:
        assert gw.stop() == 0
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "('approve',)",
        "{'steps': ['plan', 'approved by ana']}",
    ]
