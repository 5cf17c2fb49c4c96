"""How the admin commands behave for people and scripts: help, exit codes, one-line
errors without secrets, and progress only on a terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import subprocess
from pathlib import Path

import pytest

from checkpoint_gateway.cli import _parser as cli_parser
from checkpoint_gateway.cli import main
from tests.gateway_process import CLI, clean_env

from .harness import cli, cli_many, many, ok, one_line_error, store_url

#: Per command: flags its help must list, and others' flags it must not.
HELP = {
    "executions": (["--page-token", "--prefix", "--target"], ["--strategy", "--where"]),
    "history": (["--namespace", "--target"], ["--page-token", "--batch-size"]),
    "show": (["--namespace", "--target"], ["--limit", "--b-execution"]),
    "diff": (["--b-execution", "--target"], ["--where", "--limit"]),
    "rm": (["--where", "--target"], ["--strategy", "--batch-size"]),
    "prune": (["--strategy", "--idle-for", "--dry-run"], ["--where", "--batch-size"]),
    "copy": (["--target", "--backend"], ["--strategy", "--execution"]),
    "export": (["--execution", "--metadata"], ["--batch-size", "--strategy"]),
    "import": (["--batch-size", "--target"], ["--execution", "--strategy"]),
    "copy-store": (["--from-setting", "--to-setting", "--batch-size"], ["--target", "--token"]),
}


def test_each_command_has_its_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    # In this process (the parser is what the console script runs): ten CLI starts would
    # cost more than the rest of this file.
    for command, (mine, others) in HELP.items():
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith(f"usage: checkpoint-gateway {command}"), text
        for flag in [*mine, "--output"]:
            assert flag in text, (command, flag)
        for flag in [*others, "--listen", "--workers", "--postgres-min-size"]:
            assert flag not in text, (command, flag)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["executions"], "--target HOST:PORT"),
        (["executions", "--target", "127.0.0.1:1", "--backend", "memory://"], "not both"),
        (["executions", "--target", "nowhere"], "HOST:PORT"),
        (["executions", "--backend", "memory://", "--backend-setting", "x=1"], "postgres-schema"),
        (["export", "-", "--backend", "memory://", "--metadata", "no-equals"], "KEY=VALUE"),
        (["rm", "--backend", "memory://"], "EXECUTION"),
        (["prune", "--backend", "memory://"], "--all"),
        (["prune", "a", "--idle-for", "7d", "--backend", "memory://"], "--all"),
        (["prune", "--all", "--idle-for", "soon", "--backend", "memory://"], "7d"),
        (["executions", "--backend", "nosuch://x"], "expected one of"),
    ],
)
def test_usage_errors_exit_2_in_one_line(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHECKPOINT_GATEWAY_TARGET", raising=False)
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"checkpoint-gateway {args[0]}: error: ")
    assert says in lines[0]


def test_failures_exit_1_without_secrets(tmp_path: Path) -> None:
    # A password in the URL is masked however the connection fails; an unreachable
    # gateway is one line, not a gRPC traceback.
    password_url = "postgresql://admin:hunter2-secret@127.0.0.1:1/db?connect_timeout=1"
    unreachable, bad_password, missing_file = cli_many(
        [
            ["executions", "--target", "127.0.0.1:1", "--timeout", "2"],
            ["executions", "--backend", password_url],
            ["import", str(tmp_path / "absent.jsonl"), "--backend", "memory://"],
        ]
    )
    assert "Unavailable" in one_line_error(unreachable, 1)
    line = one_line_error(bad_password, 1)
    assert "hunter2" not in line
    assert "***" in line
    assert "No such file" in one_line_error(missing_file, 1)


def _run_on_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with standard error on a pseudo-terminal; (exit code, what it drew)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [*CLI, *args],
        env=clean_env({"TERM": "xterm", "COLUMNS": "160"}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    drawn = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process is done with it
            break
        if not chunk:
            break
        drawn += chunk
    os.close(controller)
    return proc.wait(timeout=60), drawn.decode(errors="replace")


@pytest.mark.parametrize("command", ["export", "prune"])
async def test_progress_on_a_terminal_and_quiet_in_a_pipe(
    command: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    where = store_url("sqlite", request, tmp_path)
    store = await where.open()
    try:
        await many(store, executions=30, per_execution=10, size=10)
    finally:
        await store.close()
    args = (
        ["export", str(tmp_path / "out.jsonl"), *where.args()]
        if command == "export"
        else ["prune", "--all", *where.args()]
    )
    code, drawn = _run_on_terminal(args)
    assert code == 0, drawn
    for part in ("executions/s", "ETA", "30/30"):
        assert part in drawn, drawn
    piped = ok(cli(*args))
    assert piped.stderr == b""  # nothing on a pipe


def test_the_readme_commands_parse() -> None:
    """The README's admin commands are ones the CLI takes (each parses as written)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Admin commands", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "no sh block under 'Admin commands'"
    seen = set()
    for line in block.group(1).splitlines():
        if not line.startswith("checkpoint-gateway "):
            continue
        args = shlex.split(line.split("  #", 1)[0])[1:]
        parsed = cli_parser().parse_args(args)
        seen.add(parsed.command)
    assert seen == set(HELP)
