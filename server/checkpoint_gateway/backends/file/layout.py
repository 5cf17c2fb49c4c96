"""The on-disk layout of a file store: names derived from ids, file formats, and the
primitives that make writes atomic and durable (see the package docstring)."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from checkpoint_client import Checkpoint, InternalError, PendingWrite

TMP = ".tmp-"
CKPT = re.compile(r"(\d{20})-[0-9a-f]{32}\.ckpt")
WRITES_DIR = re.compile(r"(\d{20}-[0-9a-f]{32})\.w")
WRITE = re.compile(r"[0-9a-f]{32}-\d{10}\.pw")
HASH = re.compile(r"[0-9a-f]{64}")
IDX_OFFSET = 2**31  # makes every 32-bit idx a non-negative, fixed-width file name part
FORMAT = 1


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def alive(cp: Checkpoint, cutoff: datetime | None) -> bool:
    # Backend.is_live with the cutoff read once per operation.
    return cutoff is None or cp.created_at is None or cp.created_at >= cutoff


def parse_names(entries: builtins.list[str]) -> builtins.list[tuple[int, str]]:
    """The checkpoint files among ``entries`` as (version, name), oldest first."""
    found: builtins.list[tuple[int, str]] = []
    for entry in entries:
        m = CKPT.fullmatch(entry)
        if m:
            found.append((int(m.group(1)), entry))
    found.sort()
    return found


def checkpoint_names(lineage: Path) -> builtins.list[tuple[int, str]]:
    try:
        return parse_names(os.listdir(lineage))
    except FileNotFoundError:
        return []


def dumps(obj: Mapping[str, Any]) -> bytes:
    # ASCII JSON escapes every newline, so the header is exactly one line.
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()


def encode_checkpoint(cp: Checkpoint) -> bytes:
    assert cp.created_at is not None
    head = {
        "format": FORMAT,
        "execution_id": cp.execution_id,
        "namespace": cp.namespace,
        "checkpoint_id": cp.checkpoint_id,
        "parent_id": cp.parent_id,
        "node": cp.node,
        "next_nodes": builtins.list(cp.next_nodes),
        "content_type": cp.content_type,
        "metadata": cp.metadata,
        "created_at": cp.created_at.isoformat(timespec="microseconds"),
        "version": cp.version,
        "state_length": len(cp.state_bytes),
    }
    return dumps(head) + b"\n" + cp.state_bytes


def parse_header(line: bytes, path: Path) -> tuple[Checkpoint, int]:
    """The checkpoint a header line describes (with an empty state) and its state length."""
    try:
        head = json.loads(line)
        cp = Checkpoint(
            head["execution_id"],
            b"",
            namespace=head["namespace"],
            checkpoint_id=head["checkpoint_id"],
            parent_id=head["parent_id"],
            node=head["node"],
            next_nodes=head["next_nodes"],
            content_type=head["content_type"],
            metadata=head["metadata"],
            created_at=datetime.fromisoformat(head["created_at"]),
            version=head["version"],
        )
        length = int(head["state_length"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InternalError(f"checkpoint file {path} is corrupt: bad header") from exc
    return cp, length


def encode_write(w: PendingWrite) -> bytes:
    head = {
        "format": FORMAT,
        "task_id": w.task_id,
        "idx": w.idx,
        "channel": w.channel,
        "content_type": w.content_type,
        "task_path": w.task_path,
        "value_length": len(w.value_bytes),
    }
    return dumps(head) + b"\n" + w.value_bytes


def decode_write(data: bytes, path: Path) -> PendingWrite:
    line, _, value = data.partition(b"\n")
    try:
        head = json.loads(line)
        length = int(head["value_length"])
        write = PendingWrite(
            head["task_id"],
            head["idx"],
            head["channel"],
            value,
            content_type=head["content_type"],
            task_path=head["task_path"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InternalError(f"pending write file {path} is corrupt: bad header") from exc
    if length != len(value):
        raise InternalError(f"pending write file {path} is corrupt: value length mismatch")
    return write


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(lineage: Path) -> None:
    """Create the execution and lineage directories, each durably linked into its parent."""
    for directory in (lineage.parent, lineage):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        fsync_dir(directory.parent)


def write_atomic(directory: Path, name: str, data: bytes) -> None:
    """Make ``directory/name`` hold ``data``, all or nothing; the caller fsyncs directory."""
    fd, tmp = tempfile.mkstemp(prefix=TMP, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_path(path: Path, parent: Path | None = None) -> None:
    """Delete a file or a directory tree; a tree first leaves its name in one atomic step.

    Renaming a directory to ``.tmp-`` before deleting it means readers see all of it or
    none of it, and a crash mid-way leaves only a ``.tmp-`` name that nothing reads.
    With ``parent`` (the directory holding ``path``), the rename is made durable first.
    """
    if not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    if path.name.startswith(TMP):
        shutil.rmtree(path, ignore_errors=True)
        return
    doomed = path.with_name(f"{TMP}{uuid.uuid4().hex}")
    try:
        os.rename(path, doomed)
    except FileNotFoundError:
        return
    if parent is not None:
        fsync_dir(parent)
    shutil.rmtree(doomed, ignore_errors=True)
