"""The client's public surface, and its independence from the server package."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import checkpoint_client

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "AsyncCheckpointClient",
    "Checkpoint",
    "CheckpointClient",
    "CheckpointError",
    "CheckpointPage",
    "CheckpointStore",
    "Conflict",
    "DeadlineExceeded",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "PendingWrite",
    "PermissionDenied",
    "ResourceExhausted",
    "SyncCheckpointStore",
    "Unauthenticated",
    "Unavailable",
    "iter_checkpoints",
}

SERVER_ONLY = (
    "checkpoint_gateway",
    "redis",
    "psycopg",
    "psycopg_pool",
    "prometheus_client",
    "opentelemetry",
    "grpc_health",
    "grpc_reflection",
)


def test_public_names_are_what_we_mean() -> None:
    assert set(checkpoint_client.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(checkpoint_client, name) is not None


def test_client_needs_only_grpcio_and_protobuf() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(d.split(">")[0].split("=")[0].split("<")[0] for d in deps) == [
        "grpcio",
        "protobuf",
    ]


# Optional integrations the client uses when present: imported only inside a
# ``try: ... except ImportError`` (the runtime test below proves the client works, and
# loads none of them, when they cannot be imported).
OPTIONAL = ("opentelemetry",)


def _guarded_imports(tree: ast.AST) -> set[ast.AST]:
    """Import nodes inside a ``try`` whose handlers catch ImportError."""
    guarded: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            for stmt in node.body:
                guarded.update(ast.walk(stmt))
    return guarded


def test_client_sources_never_import_server_code() -> None:
    for path in (ROOT / "client" / "checkpoint_client").rglob("*.py"):
        tree = ast.parse(path.read_text())
        guarded = _guarded_imports(tree)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in OPTIONAL and node in guarded:
                    continue
                assert top not in SERVER_ONLY, f"{path}: imports {name}"


def test_client_works_with_server_packages_unimportable() -> None:
    # A real interpreter where importing any server-side package fails, as on a machine
    # that installed only grpcio and protobuf.
    script = f"""
import sys
BLOCKED = {SERVER_ONLY!r}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked: " + name)
        return None
sys.meta_path.insert(0, Block())
from checkpoint_client import AsyncCheckpointClient, Checkpoint, CheckpointClient, NotFound
cp = Checkpoint("run", {{"a": 1}})
assert cp.state == {{"a": 1}}
client = CheckpointClient("127.0.0.1:1", timeout=0.5)
try:
    client.latest("run")
except Exception as exc:
    print(type(exc).__name__)
client.close()
assert not [m for m in sys.modules if m.split(".")[0] in BLOCKED]
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    # Nothing listens on port 1: the failure is the mapped, retryable error.
    assert proc.stdout.strip() in ("Unavailable", "DeadlineExceeded")
