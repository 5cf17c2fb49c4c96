"""The Dockerfile and .dockerignore, checked statically (no Docker engine runs here)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from checkpoint_gateway import config

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
CHART_VALUES = yaml.safe_load((ROOT / "helm/checkpoint-gateway/values.yaml").read_text())
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    )
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for ins in instructions(DOCKERFILE):
        if ins[0] == "FROM":
            found.append([])
        if found:
            found[-1].append(ins)
    return found


def arg_default(name: str) -> str:
    for word, rest in instructions(DOCKERFILE):
        if word == "ARG" and rest.startswith(f"{name}="):
            return rest.split("=", 1)[1]
    raise AssertionError(f"no ARG {name}=default")


def test_multi_stage_on_a_slim_python_pinned_by_version() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    base = arg_default("PYTHON_IMAGE")
    m = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim(-[a-z]+)?", base)
    assert m, f"base {base!r} is not python:X.Y.Z-slim[-debian] (pinned patch version)"
    # The image runs the Python the project targets.
    assert PYPROJECT["project"]["requires-python"] == f">={m.group(1)}.{m.group(2)}"
    for stage in all_stages:
        assert stage[0][1].split()[0] == "${PYTHON_IMAGE}", stage[0]
    final = all_stages[-1]
    assert any(w == "COPY" and a.startswith("--from=build /opt/venv") for w, a in final)


def test_final_stage_has_no_compiler_no_pip_and_runs_as_non_root() -> None:
    final = stages()[-1]
    text = " ".join(f"{w} {a}" for w, a in final)
    for banned in ("apt-get install", "gcc", "build-essential", "pip install", "COPY . "):
        assert banned not in text, banned
    users = [a for w, a in final if w == "USER"]
    assert users, "no USER in the final stage"
    uid = arg_default("UID")
    assert users[-1] in ("${UID}:${UID}", f"{uid}:{uid}")
    assert int(uid) > 0
    # The chart runs the same uid, so the image's /data is writable in the Pod.
    assert CHART_VALUES["podSecurityContext"]["runAsUser"] == int(uid)
    assert CHART_VALUES["podSecurityContext"]["fsGroup"] == int(uid)


def test_installs_only_the_server_runtime_from_wheels() -> None:
    build = stages()[0]
    runs = " ".join(a for w, a in build if w == "RUN")
    assert "[server]" in runs
    assert "[dev]" not in runs
    assert "dev," not in runs
    assert "--only-binary=:all:" in runs
    assert "uninstall --yes setuptools pip" in runs
    assert "server" in PYPROJECT["project"]["optional-dependencies"]


def test_entrypoint_is_serve_and_listens_on_every_interface() -> None:
    final = stages()[-1]
    entry = [a for w, a in final if w == "ENTRYPOINT"]
    assert entry
    assert json.loads(entry[-1]) == ["checkpoint-gateway", "serve"]
    assert PYPROJECT["project"]["scripts"]["checkpoint-gateway"] == "checkpoint_gateway.cli:main"
    env = dict(
        re.findall(r"(CHECKPOINT_GATEWAY_\w+)=(\S+)", " ".join(a for w, a in final if w == "ENV"))
    )
    grpc_port, metrics_port = (
        CHART_VALUES["service"]["grpcPort"],
        CHART_VALUES["service"]["metricsPort"],
    )
    assert env["CHECKPOINT_GATEWAY_LISTEN"] == f"0.0.0.0:{grpc_port}"
    assert env["CHECKPOINT_GATEWAY_METRICS_LISTEN"] == f"0.0.0.0:{metrics_port}"
    assert env["CHECKPOINT_GATEWAY_LOG_FORMAT"] == "json"
    assert env["CHECKPOINT_GATEWAY_BACKEND"] == "sqlite:////data/checkpoints.db"
    # Every variable the image sets is a real gateway setting, so none is silently ignored.
    known = {variable for _, variable, _, _ in config.describe()}
    assert set(env) <= known, set(env) - known
    exposed = {int(p) for w, a in final if w == "EXPOSE" for p in a.split()}
    assert exposed == {grpc_port, metrics_port}


# -- .dockerignore -------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """Docker's matcher for these patterns: * within a segment, ** across segments."""
    pattern = pattern.strip("/")
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether ``path`` (relative, /-separated) is sent to the builder: the last rule wins,
    a rule matches a path or any of its parent directories."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for negate, regex in rules:
        if any(regex.fullmatch(p) for p in prefixes):
            included = negate
    return included


def dockerignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negate = line.startswith("!")
            rules.append((negate, _pattern(line.lstrip("!"))))
    return rules


def test_rule_matcher_follows_last_match_wins() -> None:
    rules = [(False, _pattern("*")), (True, _pattern("server/")), (False, _pattern("**/*.pyc"))]
    assert in_context("server/a.py", rules)
    assert not in_context("server/x/a.pyc", rules)
    assert not in_context("tests/a.py", rules)


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("pyproject.toml", True),
        ("README.md", True),
        ("server/checkpoint_gateway/cli.py", True),
        ("client/checkpoint_client/_proto/checkpoint_pb2.py", True),
        ("server/checkpoint_gateway/__pycache__/cli.cpython-311.pyc", False),
        ("checkpoint_gateway.egg-info/PKG-INFO", False),
        (".venv/bin/python", False),
        (".git/HEAD", False),
        ("tests/conftest.py", False),
        ("helm/checkpoint-gateway/values.yaml", False),
        ("checkpoints.db", False),
    ],
)
def test_build_context_is_only_what_the_build_copies(path: str, sent: bool) -> None:
    assert in_context(path, dockerignore_rules()) is sent


def test_every_copied_source_is_in_the_context() -> None:
    rules = dockerignore_rules()
    for word, args in instructions(DOCKERFILE):
        if word == "COPY" and not args.startswith("--from"):
            *sources, _dest = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert in_context(source, rules), source
