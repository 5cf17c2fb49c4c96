"""The client's public surface, and its independence from the server package."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import checkpoint_client

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "AsyncCheckpointClient",
    "Channel",
    "Checkpoint",
    "CheckpointClient",
    "CheckpointError",
    "CheckpointPage",
    "CheckpointStore",
    "Conflict",
    "DeadlineExceeded",
    "ExecutionInfo",
    "ExecutionPage",
    "InternalError",
    "InvalidArgument",
    "NamespacePage",
    "NotFound",
    "PendingWrite",
    "PermissionDenied",
    "PruneStrategy",
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


def _names(requirements: list[str]) -> list[str]:
    return sorted(d.split(">")[0].split("=")[0].split("<")[0].split("[")[0] for d in requirements)


def test_client_needs_only_grpcio_and_protobuf() -> None:
    project = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    assert project["name"] == "checkpoint-gateway-client"
    assert _names(project["dependencies"]) == ["grpcio", "protobuf"]


def test_server_distribution_depends_on_the_client_distribution() -> None:
    server = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    client = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    assert server["dependencies"] == [f"{client['name']}=={client['version']}"]


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


def test_client_wheel_holds_the_client_and_requires_only_grpcio_and_protobuf(
    tmp_path: Path,
) -> None:
    # What `pip install ./client` installs: build the wheel as pip would (offline).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT / "client"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("checkpoint_gateway_client-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = zf.read(meta).decode()
    packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert packages == {"checkpoint_client"}
    assert "checkpoint_client/_proto/checkpoint_gateway/v1/checkpoint_pb2.py" in names
    required = [
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    plain = [r for r in required if "extra ==" not in r]
    assert _names(plain) == ["grpcio", "protobuf"]
    # The LangGraph saver's needs come only with the extra.
    assert any(
        r.startswith("langgraph-checkpoint") and 'extra == "langgraph"' in r for r in required
    )
