"""The TypeScript SDK (client/typescript): its own tests, run by vitest against real gateways.

For each backend a token-protected gateway and its TLS twin are started, and
``vitest run --globals`` runs every test file of the package against them: LangGraph.js's
validation suite for checkpointers (``@langchain/langgraph-checkpoint-validation``), its
opt-in conformance tests of ``getDeltaChannelHistory``, the client's end-to-end test, the
saver's own tests, a graph with an interrupt and a resume, and the README's examples. The
counts come from vitest's JSON report; the validation suite must pass whole (every one of
its tests, none skipped) on every backend.

Also here: the generated code is what ``client/typescript/generate`` makes of proto/, and
the package type-checks under its strict tsconfig and builds.
"""

from __future__ import annotations

import filecmp
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.sdk.conftest import ROOT, SDK_BACKENDS, SdkGateway, require_tools, run_runner

PACKAGE = ROOT / "client" / "typescript"
#: The validation suite of @langchain/langgraph-checkpoint-validation 1.1.1 has 718 tests;
#: fewer means part of it did not run.
VALIDATION_TESTS = 718
#: The package's test files; each must have run.
TEST_FILES = {
    "client.test.ts",
    "delta.test.ts",
    "graph.test.ts",
    "readme.test.ts",
    "saver.test.ts",
    "validation.test.ts",
}


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The package's node_modules, installed by ``npm ci`` when missing or stale."""
    require_tools("node", "npm")
    proc = subprocess.run(
        [str(PACKAGE / "ensure-toolchain")],
        cwd=PACKAGE,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        pytest.fail(f"client/typescript/ensure-toolchain failed:\n{proc.stderr[-4000:]}")
    return PACKAGE / "node_modules"


def _differences(left: Path, right: Path) -> list[str]:
    """Files that differ, or exist on one side only, between two trees."""
    cmp = filecmp.dircmp(left, right)
    found = [str(left / n) for n in cmp.left_only + cmp.right_only + cmp.diff_files]
    found += [str(left / n) for n in cmp.funny_files]
    for sub in cmp.common_dirs:
        found += _differences(left / sub, right / sub)
    return found


def test_generated_code_is_fresh(node_modules: Path, tmp_path: Path) -> None:
    subprocess.run(
        [str(PACKAGE / "generate"), str(tmp_path)],
        cwd=PACKAGE,
        check=True,
        capture_output=True,
        timeout=120,
    )
    stale = []
    for part in ("proto", "src/generated"):
        stale += _differences(PACKAGE / part, tmp_path / part)
    assert not stale, f"generated code is stale, run client/typescript/generate: {stale}"


def test_typechecks_and_builds(node_modules: Path, tmp_path: Path) -> None:
    tsc = str(node_modules / ".bin" / "tsc")
    # Sources and tests under the strict tsconfig, then the package as npm would ship it.
    run_runner([tsc, "-p", "tsconfig.json", "--noEmit"], cwd=PACKAGE, env={}, timeout=180)
    out = tmp_path / "dist"
    run_runner(
        [tsc, "-p", "tsconfig.build.json", "--outDir", str(out)], cwd=PACKAGE, env={}, timeout=180
    )
    assert (out / "index.d.ts").is_file()
    assert (out / "langgraph.js").is_file()


def _counts(results: list[dict[str, object]]) -> tuple[int, int, int]:
    """(passed, failed, other: skipped or todo) over the assertion results."""
    statuses = [str(r["status"]) for r in results]
    passed = statuses.count("passed")
    failed = statuses.count("failed")
    return passed, failed, len(statuses) - passed - failed


@pytest.mark.parametrize("backend", SDK_BACKENDS)
def test_vitest(
    backend: str,
    sdk_gateway: Callable[..., SdkGateway],
    node_modules: Path,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
    request: pytest.FixtureRequest,
) -> None:
    gw = sdk_gateway(backend, tls=True)
    report = tmp_path / "vitest.json"
    run_runner(
        [
            str(node_modules / ".bin" / "vitest"),
            "run",
            "--globals",
            "--reporter=default",
            "--reporter=json",
            f"--outputFile.json={report}",
        ],
        cwd=PACKAGE,
        env={**gw.env(), "NO_COLOR": "1"},
        timeout=240,
        gateway=gw,
    )
    files = json.loads(report.read_text())["testResults"]
    by_file = {Path(f["name"]).name: _counts(f["assertionResults"]) for f in files}
    total = tuple(sum(c[i] for c in by_file.values()) for i in range(3))
    summary = ", ".join(
        f"{name}: {p}/{p + f + o} passed" for name, (p, f, o) in sorted(by_file.items())
    )
    record_property("vitest", summary)
    request.node.add_report_section("call", "vitest counts", f"{backend}: {summary}")
    validation = by_file.get("validation.test.ts", (0, 0, 0))
    assert validation == (VALIDATION_TESTS, 0, 0), f"validation suite on {backend}: {summary}"
    assert total[1] == 0, f"vitest on {backend}: {summary}"
    assert total[2] == 0, f"skipped tests on {backend}: {summary}"
    assert set(by_file) >= TEST_FILES, summary
