"""What the admin-command tests share: the CLI as a subprocess, gateways with tokens and
tenants, stores of each backend by URL, and a small history to look at.

Principals of the gateways (``principals``):

    writer  tenant team-a  read, write
    reader  tenant team-a  read
    other   tenant team-b  read, write
    admin   tenant ops     admin (may act in any tenant with --tenant)
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from checkpoint_client import Channel, Checkpoint, CheckpointStore, PendingWrite
from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends._base import Backend
from checkpoint_gateway.backends.postgres import PostgresSettings
from checkpoint_gateway.backends.redis import RedisSettings
from tests.gateway_process import CLI, clean_env
from tests.harness.postgres import new_schema

WRITER = "writer-" + uuid.uuid4().hex
READER = "reader-" + uuid.uuid4().hex
OTHER = "other-" + uuid.uuid4().hex
ADMIN = "admin-" + uuid.uuid4().hex

#: The backends every admin command is tried on, through a gateway and by URL.
BACKENDS = ("memory", "sqlite", "postgresql", "redis")


def principals(directory: Path) -> Path:
    """A principals file with the four principals above."""
    path = directory / "principals.yaml"
    entries = [
        ("writer", "team-a", "read, write", WRITER),
        ("reader", "team-a", "read", READER),
        ("other", "team-b", "read, write", OTHER),
        ("admin", "ops", "admin", ADMIN),
    ]
    path.write_text(
        "principals:\n"
        + "".join(
            f"  - name: {name}\n    tenant: {tenant}\n    roles: [{roles}]\n"
            f"    tokens: [sha256:{hashlib.sha256(token.encode()).hexdigest()}]\n"
            for name, tenant, roles, token in entries
        )
    )
    return path


@dataclass(frozen=True)
class StoreURL:
    """A backend as the CLI names it: a URL and ``--backend-setting`` values; ``open``
    opens the same store in this process."""

    url: str
    settings: tuple[str, ...] = ()
    options: Mapping[str, Any] | None = None

    def args(self, flag: str = "--backend", setting: str = "--backend-setting") -> list[str]:
        out = [flag, self.url]
        for item in self.settings:
            out += [setting, item]
        return out

    def gateway_args(self) -> list[str]:
        """The same store as ``serve`` flags."""
        out = ["--backend", self.url]
        for item in self.settings:
            name, _, value = item.partition("=")
            out += [f"--{name}", value]
        return out

    async def open(self) -> Backend:
        return await open_backend(self.url, **(self.options or {}))


def store_url(name: str, request: pytest.FixtureRequest, tmp: Path) -> StoreURL:
    """A new, empty store of backend ``name`` that a subprocess can open too."""
    if name == "memory":
        return StoreURL("memory://")
    if name == "sqlite":
        return StoreURL(f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}")
    if name == "file":
        return StoreURL(f"file://{tmp / uuid.uuid4().hex[:8]}")
    if name == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        schema = new_schema()
        return StoreURL(
            url,
            (f"postgres-schema={schema}",),
            {"settings": replace(PostgresSettings(), schema=schema)},
        )
    if name in ("redis", "redis-cluster"):
        url = request.getfixturevalue("redis_url" if name == "redis" else "redis_cluster_url")
        prefix = f"adm{uuid.uuid4().hex[:8]}:"
        return StoreURL(
            url,
            (f"redis-key-prefix={prefix}",),
            {"settings": replace(RedisSettings(), key_prefix=prefix)},
        )
    raise ValueError(name)


def cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``checkpoint-gateway ARGS`` as a user would; stdout and stderr as bytes."""
    return subprocess.run(
        [*CLI, *args],
        env=clean_env(env),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
    )


def ok(proc: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    """``proc``, after checking it exited 0 (else fail with its stderr)."""
    assert proc.returncode == 0, (proc.args, proc.stderr.decode(errors="replace"))
    return proc


def as_json(proc: subprocess.CompletedProcess[bytes]) -> Any:
    return json.loads(ok(proc).stdout)


def cli_json(*args: str, env: Mapping[str, str] | None = None, input: bytes | None = None) -> Any:
    """Run a command with ``--output json``; its parsed output (it must exit 0)."""
    return as_json(cli(*args, "--output", "json", env=env, input=input))


def cli_many(
    commands: Sequence[Sequence[str]],
    env: Mapping[str, str] | None = None,
    inputs: Sequence[bytes | None] | None = None,
) -> list[subprocess.CompletedProcess[bytes]]:
    """Run commands that do not touch the same data at the same time (each start-up
    costs most of a second); ``inputs`` are their standard inputs."""
    inputs = inputs or [None] * len(commands)
    procs = [
        subprocess.Popen(
            [*CLI, *command],
            env=clean_env(env),
            stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for command, data in zip(commands, inputs, strict=True)
    ]
    done = []
    for proc, command, data in zip(procs, commands, inputs, strict=True):
        out, err = proc.communicate(data, timeout=120)
        done.append(subprocess.CompletedProcess([*CLI, *command], proc.returncode, out, err))
    return done


def one_line_error(proc: subprocess.CompletedProcess[bytes], code: int) -> str:
    """Check ``proc`` failed with ``code`` and one line on stderr (no traceback); return it."""
    err = proc.stderr.decode()
    assert proc.returncode == code, (proc.returncode, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("checkpoint-gateway"), err
    return lines[0]


@dataclass(frozen=True)
class Seeded:
    """The ids of ``seed``'s history."""

    execution_id: str
    line: list[str]  # the main line of namespace "", oldest first
    fork: str  # a second child of line[1]
    child: str  # the one checkpoint of namespace "child:1"


def _messages(n: int) -> list[str]:
    return [f"message {j}" for j in range(n)]


async def seed(store: CheckpointStore, execution_id: str = "run-1") -> Seeded:
    """A small history: four checkpoints in a line (channels, one shared by all), a fork
    from the second, pending writes (JSON and bytes) on the last, and a subgraph
    namespace whose state is bytes."""
    line: list[str] = []
    parent = ""
    for i in range(4):
        cp = await store.save(
            Checkpoint(
                execution_id,
                {"messages": _messages(i + 1), "step": i},
                parent_id=parent,
                node=f"node{i}",
                next_nodes=["tools"],
                metadata={"source": "loop", "step": i},
                channels={
                    "messages": Channel(str(i + 1), _messages(i + 1)),
                    "config": Channel("1", {"model": "small"}),
                },
            )
        )
        line.append(cp.checkpoint_id)
        parent = cp.checkpoint_id
    fork = await store.save(
        Checkpoint(
            execution_id,
            {"messages": [*_messages(2), "edited by a human"], "step": 2},
            parent_id=line[1],
            node="human",
            metadata={"source": "update", "step": 2},
        )
    )
    await store.put_writes(
        execution_id,
        line[-1],
        [
            PendingWrite("task-1", 0, "messages", {"role": "ai", "content": "hi"}),
            PendingWrite("task-1", 1, "blob", b"\x00\xffraw", content_type="application/x-raw"),
        ],
    )
    child = await store.save(
        Checkpoint(
            execution_id,
            b"\x00\x01 binary state",
            namespace="child:1",
            node="inner",
            metadata={"source": "loop", "step": 0},
        )
    )
    return Seeded(execution_id, line, fork.checkpoint_id, child.checkpoint_id)


async def many(store: CheckpointStore, executions: int, per_execution: int, size: int = 200) -> int:
    """``executions`` x ``per_execution`` checkpoints in lines, saved in batches; every
    tenth with a pending write. Returns how many."""
    batch: list[Checkpoint] = []
    total = 0
    for e in range(executions):
        parent = ""
        eid = f"bulk-{e:05d}"
        ids = [f"{eid}-{i:06d}" for i in range(per_execution)]
        for i, cid in enumerate(ids):
            batch.append(
                Checkpoint(
                    eid,
                    {"step": i, "pad": "x" * size},
                    checkpoint_id=cid,
                    parent_id=parent,
                    node="n",
                    metadata={"step": i},
                )
            )
            parent = cid
            if len(batch) >= 500:
                total += await _save(store, batch)
        total += await _save(store, batch)
        for cid in ids[::10]:
            await store.put_writes(eid, cid, [PendingWrite("t", 0, "c", {"i": cid})])
    return total


async def _save(store: CheckpointStore, batch: list[Checkpoint]) -> int:
    if not batch:
        return 0
    results = await store.save_many(batch)
    for r in results:
        assert isinstance(r, Checkpoint), r
    n = len(batch)
    batch.clear()
    return n
