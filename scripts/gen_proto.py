"""Regenerate the Python code for the wire contract.

Usage: python scripts/gen_proto.py [OUT_DIR]

OUT_DIR defaults to client/checkpoint_client/_proto. The generated modules import each
other as ``checkpoint_gateway.v1``, which is the *server* package's name, so the imports
are rewritten to point inside ``checkpoint_client._proto``. The test suite runs this
script into a temporary directory and fails when the committed files differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
DEFAULT_OUT = ROOT / "client" / "checkpoint_client" / "_proto"
PACKAGE_PREFIX = "checkpoint_client._proto."


def generate(out_dir: Path) -> list[Path]:
    """Run protoc for every .proto under proto/ and return the files written."""
    import grpc_tools
    from grpc_tools import protoc  # build-time dependency only

    protos = sorted(p.relative_to(PROTO_ROOT).as_posix() for p in PROTO_ROOT.rglob("*.proto"))
    include = Path(grpc_tools.__file__).parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written: list[Path] = []
    for path in sorted(out_dir.rglob("*_pb2*.py*")):
        text = path.read_text()
        fixed = text.replace(
            "from checkpoint_gateway.", f"from {PACKAGE_PREFIX}checkpoint_gateway."
        )
        fixed = fixed.replace(
            "import checkpoint_gateway.", f"import {PACKAGE_PREFIX}checkpoint_gateway."
        )
        if fixed != text:
            path.write_text(fixed)
        written.append(path)
    for package_dir in {p.parent for p in written} | {out_dir}:
        d = package_dir
        while d != out_dir.parent and d.is_relative_to(out_dir):
            init = d / "__init__.py"
            if not init.exists():
                init.write_text('"""Generated code: do not edit (scripts/gen_proto.py)."""\n')
            d = d.parent
    return written


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    for path in generate(out):
        print(path.relative_to(out))


if __name__ == "__main__":
    main()
