"""Every admin command against a real gateway on each backend, with tokens and tenants.

The gateway (a subprocess, port 0) requires a bearer token; the CLI (a subprocess too)
sends it from ``CHECKPOINT_GATEWAY_TOKEN`` or ``--token``. What a token may do is the
gateway's to decide: a read-only token cannot remove, a tenant sees only its own
executions, and an admin reaches another tenant with ``--tenant``.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from checkpoint_client import AsyncCheckpointClient
from tests.certs import self_signed
from tests.gateway_process import GatewayProcess

from .harness import (
    ADMIN,
    BACKENDS,
    OTHER,
    READER,
    WRITER,
    Seeded,
    as_json,
    cli,
    cli_json,
    cli_many,
    ok,
    one_line_error,
    principals,
    seed,
    store_url,
)


def _start(tmp_path: Path, args: list[str]) -> GatewayProcess:
    gw = GatewayProcess(
        ["--listen", "127.0.0.1:0", "--auth-principals-file", str(principals(tmp_path)), *args],
        cwd=tmp_path,
    )
    gw.wait_listening()
    return gw


@pytest.fixture(params=BACKENDS)
def gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GatewayProcess]:
    """A gateway with authentication on, over a new store of the backend."""
    gw = _start(tmp_path, store_url(request.param, request, tmp_path).gateway_args())
    try:
        yield gw
    finally:
        gw.stop()


async def _seed(gw: GatewayProcess) -> Seeded:
    """run-1..3 in team-a, run-b in team-b; run-1's ids."""
    async with (
        AsyncCheckpointClient(gw.target, token=WRITER) as team_a,
        AsyncCheckpointClient(gw.target, token=OTHER) as team_b,
    ):
        s = await seed(team_a, "run-1")
        for eid in ("run-2", "run-3"):
            await seed(team_a, eid)
        await seed(team_b, "run-b")
    return s


def _ids(proc: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [e["execution_id"] for e in as_json(proc)["executions"]]


async def test_every_command_through_a_gateway(gateway: GatewayProcess) -> None:
    s = await _seed(gateway)
    at = ["--target", gateway.target]
    as_writer = {"CHECKPOINT_GATEWAY_TOKEN": WRITER}
    line, fork = s.line, s.fork

    # Commands that touch different executions run at the same time: each CLI start
    # costs most of a second. First what reads, and what the gateway must refuse.
    listed, listed_b, history, shown, diffed, read_only_rm, exported = cli_many(
        [
            ["executions", *at, "--output", "json"],
            ["executions", *at, "--token", OTHER, "--output", "json"],
            ["history", "run-1", *at, "--output", "json"],
            ["show", "run-1", line[-1], *at, "--output", "json"],
            ["diff", "run-1", line[1], fork, *at, "--output", "json"],
            ["rm", "run-1", *at, "--token", READER],
            ["export", "-", *at, "--execution", "run-1"],
        ],
        env=as_writer,
    )
    # Tenants: each sees its own executions. Roles: a read-only token cannot remove.
    assert _ids(listed) == ["run-3", "run-2", "run-1"]
    assert _ids(listed_b) == ["run-b"]
    assert "PermissionDenied" in one_line_error(read_only_rm, 1)

    tree = as_json(history)
    assert tree["checkpoints"] == 6
    root = tree["namespaces"][""]
    assert [c["checkpoint_id"] for c in root] == [*line, fork]
    assert [c["version"] for c in root] == [1, 2, 3, 4, 5]
    assert [c["fork"] for c in root] == [False, False, False, False, True]
    assert root[1]["children"] == [line[2], fork]
    assert root[3]["pending_writes"] == 2
    assert [c["checkpoint_id"] for c in tree["namespaces"]["child:1"]] == [s.child]

    cp = as_json(shown)
    assert cp["state"] == {"messages": [f"message {i}" for i in range(4)], "step": 3}
    assert cp["channels"]["config"]["value"] == {"model": "small"}
    assert cp["pending_writes"][0]["value"] == {"role": "ai", "content": "hi"}
    assert base64.b64decode(cp["pending_writes"][1]["value"]["base64"]) == b"\x00\xffraw"

    changes = {(c["change"], c["path"]): c for c in as_json(diffed)["changes"]}
    assert changes[("added", "state.messages[2]")]["after"] == "edited by a human"
    assert changes[("changed", "metadata.source")]["before"] == "loop"
    assert changes[("changed", "metadata.source")]["after"] == "update"
    assert ("removed", "channels.messages") in changes
    assert ("changed", "state.step") in changes

    # Then what changes, each on its own execution; team-b imports team-a's export.
    export = ok(exported).stdout
    imported, copied, pruned, removed = cli_many(
        [
            ["import", "-", *at, "--token", OTHER, "--batch-size", "2", "--output", "json"],
            ["copy", "run-1", "run-1-copy", *at, "--output", "json"],
            ["prune", "run-2", *at, "--output", "json"],
            ["rm", "run-3", "--namespace", "", *at, "--output", "json"],
        ],
        env=as_writer,
        inputs=[export, None, None, None],
    )
    assert as_json(imported)["verified"] == as_json(imported)["checkpoints"] == 6
    assert as_json(copied)["copied"] == 6
    assert as_json(pruned) == {
        "executions": 1,
        "removed": 4,
        "strategy": "keep_latest",
        "dry_run": False,
    }
    assert as_json(removed) == {"removed": 5}
    # The same bytes back out of the other tenant.
    again = ok(cli("export", "-", *at, "--execution", "run-1", "--token", OTHER)).stdout
    assert again == export


async def test_tenants_and_refusals_through_a_gateway(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    gw = _start(tmp_path, store_url("sqlite", request, tmp_path).gateway_args())
    try:
        s = await _seed(gw)
        at = ["--target", gw.target]
        admin_in_b, admin_own, other_tenant, shown_table, no_such, copy_taken = cli_many(
            [
                ["executions", *at, "--token", ADMIN, "--tenant", "team-b", "--output", "json"],
                ["executions", *at, "--token", ADMIN, "--output", "json"],
                ["show", "run-b", "latest", *at],
                ["show", "run-1", s.line[-1], *at],
                ["rm", "run-1", "not-an-id", *at],
                ["copy", "run-2", "run-1", *at],
            ],
            env={"CHECKPOINT_GATEWAY_TOKEN": WRITER},
        )
        # An admin acts in another tenant by naming it; else in its own (empty) one.
        assert _ids(admin_in_b) == ["run-b"]
        assert _ids(admin_own) == []
        assert "NotFound" in one_line_error(other_tenant, 1)  # team-b's is not there
        table = ok(shown_table).stdout.decode()
        assert "pending writes (2)" in table
        assert '"model": "small"' in table
        assert "NotFound" in one_line_error(no_such, 1)
        assert "Conflict" in one_line_error(copy_taken, 1)
        # A tenant other than its own is refused to anyone but an admin.
        line = one_line_error(cli("executions", *at, "--token", WRITER, "--tenant", "team-b"), 1)
        assert "PermissionDenied" in line
    finally:
        gw.stop()


async def test_tls_and_a_token(tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path, "gateway")
    gw = GatewayProcess(
        [
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "memory://",
            "--auth-principals-file",
            str(principals(tmp_path)),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
        ],
        cwd=tmp_path,
    )
    try:
        port = gw.wait_listening()
        target = f"localhost:{port}"
        out = cli_json(
            "executions",
            "--target",
            target,
            env={"CHECKPOINT_GATEWAY_TOKEN": WRITER, "CHECKPOINT_GATEWAY_TLS_CA": str(cert)},
        )
        assert out == {"executions": [], "next_page_token": None}
        # Without the token: refused, in one line, the token nowhere in it.
        line = one_line_error(cli("executions", "--target", target, "--tls-ca-file", str(cert)), 1)
        assert "Unauthenticated" in line
        # A wrong token is not echoed back.
        wrong = ["--tls-ca-file", str(cert), "--token", "s3cr3t-x"]
        line = one_line_error(cli("executions", "--target", target, *wrong), 1)
        assert "s3cr3t-x" not in line
    finally:
        gw.stop()
