"""A real gateway with its web console, seeded data, and headless Chromium to drive it.

The gateway runs as ``checkpoint-gateway serve`` on free ports with a principals file
of several principals (below), the memory backend, and ``--console-listen
127.0.0.1:0``; the console's address is read from its ``console on`` log line. The
browser is Debian's Chromium (``scripts/ensure-browser`` installs it) driven by the
``playwright`` package from PyPI: a missing one skips these tests with the reason,
except under ``CI=true``, where it is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from checkpoint_client import Checkpoint, CheckpointClient, PendingWrite
from checkpoint_client._ids import new_checkpoint_id
from tests.gateway_process import GatewayProcess

CHROMIUM = os.environ.get("CHECKPOINT_GATEWAY_CHROMIUM", "/usr/bin/chromium")
#: What works for Chromium as root in a container without a GPU or the internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_CONSOLE = re.compile(r"console on (https?://\S+/)")

#: The long execution: enough checkpoints that loading them all would show.
LONG_HISTORY = 10_000
PAGE = 50


def _token(name: str) -> str:
    return f"console-{name}-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Principal:
    name: str
    tenant: str
    roles: Sequence[str]
    token: str


PRINCIPALS = {
    p.name: p
    for p in (
        Principal("reader", "team-a", ["read"], _token("reader")),
        Principal("writer", "team-a", ["read", "write"], _token("writer")),
        Principal("writeonly", "team-a", ["write"], _token("writeonly")),
        Principal("other", "team-b", ["read", "write"], _token("other")),
        Principal("ops", "ops", ["admin"], _token("ops")),
        Principal("leaving", "team-a", ["read"], _token("leaving")),
    )
}


def principals_yaml(names: Sequence[str]) -> str:
    """A principals file holding the named principals (tokens hashed)."""
    entries = [
        {
            "name": PRINCIPALS[n].name,
            "tenant": PRINCIPALS[n].tenant,
            "roles": list(PRINCIPALS[n].roles),
            "tokens": ["sha256:" + hashlib.sha256(PRINCIPALS[n].token.encode()).hexdigest()],
        }
        for n in names
    ]
    return json.dumps({"principals": entries}, indent=2)


def console_url(gateway: GatewayProcess) -> str:
    """The console's URL, from the line logged before ``listening on``."""
    for line in gateway.lines:
        m = _CONSOLE.search(line)
        if m:
            return m.group(1)
    raise AssertionError(f"no 'console on' line:\n{gateway.output()}")


@dataclass
class Seeded:
    """What the shared gateway holds (tenant team-a unless said)."""

    url: str
    gateway: GatewayProcess
    principals_file: Path
    forks: list[Checkpoint]  # run-forks, in the order saved
    long_ids: list[str]  # the long execution's ids, oldest first
    hostile: Checkpoint


def _seed(target: str) -> tuple[list[Checkpoint], list[str], Checkpoint]:
    with CheckpointClient(target, token=PRINCIPALS["writer"].token, timeout=60) as client:
        # A short history with a fork (time travel from step 1), a subgraph namespace and
        # pending writes.
        forks: list[Checkpoint] = []
        parent = ""
        for step, messages in enumerate((["hi"], ["hi", "hello"], ["hi", "hello", "how are you"])):
            cp = client.save(
                Checkpoint(
                    "run-forks",
                    {"messages": messages, "step": step, "done": False},
                    parent_id=parent,
                    node=f"node-{step}",
                    next_nodes=["agent"],
                    metadata={"step": step, "source": "loop"},
                )
            )
            forks.append(cp)
            parent = cp.checkpoint_id
        forks.append(
            client.save(
                Checkpoint(
                    "run-forks",
                    {"messages": ["hi", "hello", "bye"], "step": 2, "done": True},
                    parent_id=forks[1].checkpoint_id,
                    node="replay",
                    metadata={"step": 2, "source": "fork"},
                )
            )
        )
        forks.append(
            client.save(
                Checkpoint(
                    "run-forks",
                    {"inner": [1, 2, 3]},
                    namespace="tools:call-1",
                    node="tool",
                    metadata={"step": 0, "source": "loop"},
                )
            )
        )
        client.put_writes(
            "run-forks",
            forks[2].checkpoint_id,
            [PendingWrite("task-7", 0, "messages", {"role": "tool", "content": "42"})],
        )
        # A long linear history, saved a thousand at a time.
        ids = [new_checkpoint_id() for _ in range(LONG_HISTORY)]
        for start in range(0, LONG_HISTORY, 1000):
            batch = [
                Checkpoint(
                    "long",
                    {"step": i, "messages": [f"m{i}"]},
                    checkpoint_id=ids[i],
                    parent_id=ids[i - 1] if i else "",
                    node="agent",
                    metadata={"step": i, "source": "loop"},
                )
                for i in range(start, start + 1000)
            ]
            results = client.save_many(batch)
            assert all(isinstance(r, Checkpoint) for r in results), results[:3]
        hostile = client.save(
            Checkpoint(
                "hostile",
                {"<script>alert(1)</script>": "<img src=x onerror=alert(2)>"},
                node="<b>node</b>",
                metadata={"source": "<i>x</i>"},
            )
        )
    with CheckpointClient(target, token=PRINCIPALS["other"].token) as client:
        client.save(Checkpoint("team-b-secret", {"secret": True}, node="b"))
    return forks, ids, hostile


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """One gateway with its console for a module's tests, seeded."""
    tmp = tmp_path_factory.mktemp("console")
    principals = tmp / "principals.yaml"
    principals.write_text(principals_yaml(list(PRINCIPALS)))
    gateway = GatewayProcess(
        [
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "memory://",
            "--auth-principals-file",
            str(principals),
            "--console-listen",
            "127.0.0.1:0",
        ],
        cwd=tmp,
    )
    try:
        gateway.wait_listening()
        forks, ids, hostile = _seed(gateway.target)
        yield Seeded(console_url(gateway), gateway, principals, forks, ids, hostile)
    finally:
        gateway.stop()


def _require_browser() -> None:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (the dev extra)")
    if not (os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (scripts/ensure-browser installs it)")
    if missing:
        reason = "no browser: " + "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, one per module (Playwright's sync API runs an event loop of its
    own: it is gone before any other module's asyncio tests run)."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page in a context of its own (no cookies), closed after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()
