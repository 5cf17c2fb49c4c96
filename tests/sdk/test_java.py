"""The Java SDK (client/java) against real gateways, through Maven Surefire.

One Maven run covers every backend: the gateways (plaintext and TLS twins) over memory,
SQLite, PostgreSQL and Redis are started here, and their targets go to the JUnit tests as
``CHECKPOINT_GATEWAY_BACKENDS`` plus ``CHECKPOINT_GATEWAY_TARGET_<BACKEND>``,
``CHECKPOINT_GATEWAY_TLS_TARGET_<BACKEND>`` and ``CHECKPOINT_GATEWAY_TLS_CA_<BACKEND>``;
each parametrized JUnit test runs once per backend (``name[backend]``). Maven starts once,
since its start-up is the slow part. The counts per backend are parsed from the Surefire
reports and asserted on, so they show in any failure and in the recorded properties.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, SDK_BACKENDS, TOKEN, SdkGateway, require_tools, run_runner

JAVA = ROOT / "client" / "java"
GENERATED = JAVA / "checkpoint-gateway-client" / "src" / "main" / "java"
GENERATED_PACKAGE = Path("io", "checkpointgateway", "v1")
MODULES = (
    "checkpoint-gateway-client",
    "spring-ai-alibaba-graph-standin",
    "checkpoint-gateway-spring-ai-alibaba",
)


class _Gateways:
    """Every gateway of the run, for run_runner's failure report."""

    def __init__(self, gateways: list[SdkGateway]) -> None:
        self.gateways = gateways

    def logs(self) -> str:
        return "\n".join(gw.logs()[-3000:] for gw in self.gateways)


def _surefire_counts() -> dict[str, Counter[str]]:
    """{group: Counter(passed=, failed=, skipped=)}; group is the backend in ``name[backend]``,
    or ``unit`` for tests that need no gateway."""
    counts: dict[str, Counter[str]] = {}
    for module in MODULES:
        for report in sorted((JAVA / module / "target" / "surefire-reports").glob("TEST-*.xml")):
            for case in ET.parse(report).getroot().iter("testcase"):
                name = case.get("name", "")
                group = name[name.rindex("[") + 1 : -1] if name.endswith("]") else "unit"
                if case.find("failure") is not None or case.find("error") is not None:
                    outcome = "failed"
                elif case.find("skipped") is not None:
                    outcome = "skipped"
                else:
                    outcome = "passed"
                counts.setdefault(group, Counter())[outcome] += 1
    return counts


def _summary(counts: dict[str, Counter[str]]) -> str:
    return ", ".join(
        f"{group} {c['passed']}/{sum(c.values())}"
        + (f" ({c['skipped']} skipped)" if c["skipped"] else "")
        for group, c in sorted(counts.items())
    )


def _tcnative_dir(tmp: Path) -> Path | None:
    """A directory holding Debian's netty-tcnative as ``libnetty_tcnative.so``.

    gRPC's TLS needs ALPN, which Debian's netty cannot do with the JDK's TLS, only with
    OpenSSL through netty-tcnative; Debian ships that library as ``libnetty-tcnative.so``,
    a name netty does not look for (and tcnative refuses a symlink), so the tests' JVM gets
    a copy under the expected name on its ``java.library.path``.
    """
    for candidate in sorted(Path("/usr/lib").glob("*/jni/libnetty-tcnative.so")):
        target = tmp / "tcnative"
        target.mkdir(exist_ok=True)
        shutil.copyfile(candidate, target / "libnetty_tcnative.so")
        return target
    return None


def test_java_sdk_against_every_backend(
    sdk_gateway: Callable[..., SdkGateway],
    record_property: Callable[[str, object], None],
    tmp_path: Path,
) -> None:
    require_tools("java", "mvn")
    gateways = [sdk_gateway(backend, tls=True) for backend in SDK_BACKENDS]
    env = {"CHECKPOINT_GATEWAY_TOKEN": TOKEN, "CHECKPOINT_GATEWAY_BACKENDS": ",".join(SDK_BACKENDS)}
    for gw in gateways:
        key = gw.backend.upper()
        gw_env = gw.env()
        env[f"CHECKPOINT_GATEWAY_TARGET_{key}"] = gw_env["CHECKPOINT_GATEWAY_TARGET"]
        env[f"CHECKPOINT_GATEWAY_TLS_TARGET_{key}"] = gw_env["CHECKPOINT_GATEWAY_TLS_TARGET"]
        env[f"CHECKPOINT_GATEWAY_TLS_CA_{key}"] = gw_env["CHECKPOINT_GATEWAY_TLS_CA"]
    for module in MODULES:
        shutil.rmtree(JAVA / module / "target" / "surefire-reports", ignore_errors=True)

    command = ["mvn", "-o", "-q", "-B", "-s", "settings.xml", "test"]
    tcnative = _tcnative_dir(tmp_path)
    if tcnative is not None:
        command.append(f"-Dnetty.tcnative.dir={tcnative}")
    run_runner(
        command,
        cwd=JAVA,
        env=env,
        timeout=600,
        gateway=_Gateways(gateways),  # type: ignore[arg-type]
    )

    counts = _surefire_counts()
    summary = _summary(counts)
    record_property("java_tests", summary)
    assert set(counts) == {*SDK_BACKENDS, "unit"}, f"Surefire ran: {summary}"
    for group, c in counts.items():
        assert c["failed"] == 0, f"Surefire: {summary}"
        assert c["passed"] > 0, f"Surefire ran no {group} test: {summary}"
    # Every backend ran the same tests, and only TLS may skip (it never does here).
    per_backend = {sum(counts[b].values()) for b in SDK_BACKENDS}
    assert len(per_backend) == 1, f"Surefire: {summary}"
    assert all(counts[b]["skipped"] == 0 for b in SDK_BACKENDS), f"Surefire: {summary}"
    print(f"java: {summary}")


def test_java_generated_code_is_current(tmp_path: Path) -> None:
    require_tools("protoc", "grpc_java_plugin")
    subprocess.run(
        [str(JAVA / "generate"), str(tmp_path)], check=True, capture_output=True, timeout=120
    )
    fresh, committed = tmp_path / GENERATED_PACKAGE, GENERATED / GENERATED_PACKAGE
    comparison = filecmp.dircmp(fresh, committed)
    stale = comparison.diff_files + comparison.left_only + comparison.right_only
    assert not stale, f"client/java generated code is stale, run client/java/generate: {stale}"
    # dircmp compares shallowly (size and mtime first); compare every file's bytes too.
    for path in fresh.iterdir():
        assert path.read_bytes() == (committed / path.name).read_bytes(), path.name


@pytest.mark.parametrize("script", ["generate", "ensure-toolchain"])
def test_java_scripts_are_executable(script: str) -> None:
    assert (JAVA / script).stat().st_mode & 0o111, f"client/java/{script} is not executable"
