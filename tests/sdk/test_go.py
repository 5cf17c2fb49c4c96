"""The Go SDK (client/go): go vet, its own tests against real gateways, the README example.

``go test`` runs the Go tests (unit, end to end, and the langgraphgo store against its
stand-in) against a plaintext gateway and a TLS twin over each backend. Everything builds
in GOPATH mode, as Debian packages Go libraries (there is no module proxy here): a
temporary GOPATH links client/go under its import path, then the stand-in of langgraphgo
(client/go/testdata/standin, for tests only), then Debian's /usr/share/gocode.
"""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, SdkGateway, require_tools, run_runner

GO_DIR = ROOT / "client" / "go"
IMPORT_PATH = "github.com/checkpoint-gateway/checkpoint-gateway/client/go"
DEBIAN_GOCODE = "/usr/share/gocode"
# Top-level tests plus subtests that one `go test ./...` run must pass; fewer means tests
# vanished (or were skipped), which must not look like success.
MIN_GO_TESTS = 60


@pytest.fixture(scope="module")
def go_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a GOPATH-mode build, with ``GO_PACKAGE_DIR`` the package's path."""
    require_tools("go")
    gopath = tmp_path_factory.mktemp("gopath")
    link = gopath / "src" / IMPORT_PATH
    link.parent.mkdir(parents=True)
    link.symlink_to(GO_DIR, target_is_directory=True)
    return {
        "GOPATH": os.pathsep.join(
            [str(gopath), str(GO_DIR / "testdata" / "standin"), DEBIAN_GOCODE]
        ),
        "GO111MODULE": "off",
        "GOFLAGS": "",
        # go finds the import path of the working directory from $PWD (through the link).
        "PWD": str(link),
        "GO_PACKAGE_DIR": str(link),
    }


def _go(
    go_env: dict[str, str], *args: str, gateway: SdkGateway | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = dict(go_env)
    if gateway is not None:
        env.update(gateway.env())
    return run_runner(
        ["go", *args], cwd=Path(go_env["PWD"]), env=env, timeout=timeout, gateway=gateway
    )


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    require_tools("protoc", "protoc-gen-go", "protoc-gen-go-grpc")
    subprocess.run([str(GO_DIR / "generate"), str(tmp_path)], check=True, timeout=120)
    committed = GO_DIR / "gen"
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    ours = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh == ours, "client/go/generate makes other files: run it and commit gen/"
    stale = [str(p) for p in fresh if not filecmp.cmp(tmp_path / p, committed / p, shallow=False)]
    assert not stale, f"stale generated code {stale}: run client/go/generate and commit gen/"


def test_go_vet_and_gofmt(go_env: dict[str, str]) -> None:
    _go(go_env, "vet", "./...")
    unformatted = subprocess.run(
        ["gofmt", "-l", "."], cwd=GO_DIR, capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert not unformatted, f"gofmt would change {unformatted}"


def _counts(output: str) -> Counter[str]:
    """PASS/FAIL/SKIP per test (subtests and examples included) from `go test -v` output."""
    return Counter(m.group(1) for m in re.finditer(r"^\s*--- (PASS|FAIL|SKIP): ", output, re.M))


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgresql", "redis"])
def test_go_tests_against_a_real_gateway(
    sdk_gateway: Callable[..., SdkGateway],
    go_env: dict[str, str],
    backend: str,
    record_property: Callable[[str, object], None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    gw = sdk_gateway(backend, tls=True)
    proc = _go(go_env, "test", "-v", "-count=1", "./...", gateway=gw)
    counts = _counts(proc.stdout)
    total = sum(counts.values())
    summary = f"go test on {backend}: {counts['PASS']}/{total} passed, {counts['SKIP']} skipped"
    record_property("go_tests", summary)
    with capsys.disabled():  # the counts belong in the CI log, passing or not
        print(f"\n{summary}")
    assert counts["FAIL"] == 0, summary
    assert counts["SKIP"] == 0, summary
    assert counts["PASS"] >= MIN_GO_TESTS, summary


def _readme_example() -> str:
    text = (GO_DIR / "README.md").read_text()
    match = re.search(
        r"<!-- example: run by tests/sdk/test_go\.py -->\s*```go\n(.*?)```", text, re.S
    )
    assert match, "client/go/README.md has no marked ```go example"
    return match.group(1)


def test_readme_example_runs(
    sdk_gateway: Callable[..., SdkGateway], go_env: dict[str, str], tmp_path: Path
) -> None:
    gw = sdk_gateway("memory")
    gopath = Path(go_env["GOPATH"].split(os.pathsep)[0])
    example = gopath / "src" / "readme_example"
    example.mkdir(exist_ok=True)
    (example / "main.go").write_text(_readme_example())
    env = {**go_env, "PWD": str(example)}
    proc = run_runner(
        ["go", "run", "."], cwd=example, env={**env, **gw.env()}, timeout=300, gateway=gw
    )
    assert re.search(r"latest: version 2 ", proc.stdout), proc.stdout
