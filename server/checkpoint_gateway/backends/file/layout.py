"""The on-disk layout of a file store: names derived from ids, file formats, and the
primitives that make writes atomic and durable (see the package docstring)."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from checkpoint_client import Channel, Checkpoint, InternalError, PendingWrite

from .._base import to_us

#: The layout this code writes: 1 kept a checkpoint's writes in ``<V>-<C>.w/`` and had
#: no channels; 2 keys writes by checkpoint id alone (``w-<C>/``), stores channel values
#: and a last-save marker per lineage. ``upgrade`` turns 1 into 2.
FORMAT = 2
FORMAT_FILE = ".format"
LOCKS = ".locks"

TMP = ".tmp-"
TMP_DEL = ".tmp-del-"  # a checkpoint being removed: ``.tmp-del-<C>``
TMP_COPY = ".tmp-copy-"  # a copy being built: ``.tmp-copy-<E>-<random>`` in the root

CKPT = re.compile(r"(\d{20})-([0-9a-f]{32})\.ckpt")
WRITES = re.compile(r"w-([0-9a-f]{32})")
WRITE = re.compile(r"[0-9a-f]{32}-\d{10}\.pw")
BLOB = re.compile(r"b-[0-9a-f]{32}-[0-9a-f]{32}\.blob")
MARKER = re.compile(r"u-(\d{20})")
DELETING = re.compile(r"\.tmp-del-([0-9a-f]{32})")
HASH = re.compile(r"[0-9a-f]{64}")
OLD_WRITES = re.compile(r"(\d{20}-[0-9a-f]{32})\.w")  # format 1

IDX_OFFSET = 2**31  # makes every 32-bit idx a non-negative, fixed-width file name part


# -- names ------------------------------------------------------------------------------------


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def short(text: str) -> str:
    """The 128-bit hash that names a checkpoint, task, channel or version in a lineage."""
    return sha(text)[:32]


def checkpoint_file(version: int, checkpoint_id: str) -> str:
    return f"{version:020d}-{short(checkpoint_id)}.ckpt"


def checkpoint_key(name: str) -> str:
    """The checkpoint id hash of a ``.ckpt`` file name."""
    return name[21:53]


def writes_dir(key: str) -> str:
    """The writes directory of the checkpoint id whose hash is ``key``."""
    return f"w-{key}"


def write_file(task_id: str, idx: int) -> str:
    return f"{short(task_id)}-{idx + IDX_OFFSET:010d}.pw"


def blob_file(name: str, version: str) -> str:
    return f"b-{short(name)}-{short(version)}.blob"


def marker_file(updated_us: int) -> str:
    return f"u-{updated_us:020d}"


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


def subdirs(directory: Path) -> builtins.list[Path]:
    """The execution directories of a root, or the lineage directories of an execution."""
    try:
        return [directory / e for e in sorted(os.listdir(directory)) if HASH.fullmatch(e)]
    except (FileNotFoundError, NotADirectoryError):
        return []


@dataclass
class Listing:
    """What a lineage directory holds, as a mutation (holding the lock) sees it.

    Attributes:
        names: the live checkpoints as (version, file name), oldest first.
        writes: the hashes of the checkpoint ids that have a writes directory.
        marker: when a checkpoint was last saved to the lineage (µs), if recorded.
    """

    names: builtins.list[tuple[int, str]]
    writes: set[str]
    marker: int | None

    @classmethod
    def of(cls, entries: builtins.list[str]) -> Listing:
        writes = {m.group(1) for e in entries if (m := WRITES.fullmatch(e))}
        markers = [int(m.group(1)) for e in entries if (m := MARKER.fullmatch(e))]
        return cls(parse_names(entries), writes, max(markers) if markers else None)


# -- formats ----------------------------------------------------------------------------------
#
# Every file is one line of ASCII JSON (the header) and then the raw bytes it describes.


def dumps(obj: Mapping[str, Any]) -> bytes:
    # ASCII JSON escapes every newline, so the header is exactly one line.
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, allow_nan=False).encode()


def encode_checkpoint(cp: Checkpoint) -> bytes:
    """A ``.ckpt`` file: the checkpoint with its channels as ``name -> version``, and a
    random nonce."""
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
        "channels": {name: ch.version for name, ch in cp.channels.items()},
        # Tells apart two files of the same name (an id removed and saved again at the
        # same version), so a reader never takes one's state for the other's.
        "nonce": secrets.token_hex(8),
    }
    return dumps(head) + b"\n" + cp.state_bytes


def parse_header(line: bytes, path: Path) -> tuple[Checkpoint, int]:
    """The checkpoint a header line describes (an empty state, channels as references)
    and its state length."""
    try:
        head = json.loads(line)
        refs = _str_map(head.get("channels", {}))  # format 1 had none
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
            channels={name: Channel(version) for name, version in refs.items()},
        )
        length = int(head["state_length"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InternalError(f"checkpoint file {path} is corrupt: bad header") from exc
    return cp, length


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(x, str) for x in value.values()):
        raise TypeError("expected an object of strings")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def encode_blob(name: str, channel: Channel) -> bytes:
    """A ``.blob`` file: one channel value, with a digest to compare a resent value."""
    value = channel.value_bytes
    assert value is not None
    head = {
        "format": FORMAT,
        "name": name,
        "version": channel.version,
        "content_type": channel.content_type,
        "value_length": len(value),
        "sha256": hashlib.sha256(value).hexdigest(),
    }
    return dumps(head) + b"\n" + value


@dataclass(frozen=True, slots=True)
class BlobHead:
    name: str
    version: str
    content_type: str
    length: int
    digest: str

    def holds(self, channel: Channel) -> bool:
        """Whether ``channel`` carries this very value."""
        value = channel.value_bytes
        assert value is not None
        return (
            self.content_type == channel.content_type
            and self.length == len(value)
            and self.digest == hashlib.sha256(value).hexdigest()
        )


def parse_blob_header(line: bytes, path: Path) -> BlobHead:
    try:
        head = json.loads(line)
        found = BlobHead(
            _str(head["name"]),
            _str(head["version"]),
            _str(head["content_type"]),
            int(head["value_length"]),
            _str(head["sha256"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InternalError(f"channel value file {path} is corrupt: bad header") from exc
    return found


def decode_blob(data: bytes, path: Path) -> tuple[BlobHead, Channel]:
    line, _, value = data.partition(b"\n")
    head = parse_blob_header(line, path)
    if head.length != len(value):
        raise InternalError(f"channel value file {path} is corrupt: value length mismatch")
    return head, Channel(head.version, value, content_type=head.content_type)


def encode_write(w: PendingWrite, checkpoint_id: str, stored_at: datetime) -> bytes:
    """A ``.pw`` file: one pending write, its checkpoint id and when it was stored."""
    head = {
        "format": FORMAT,
        "checkpoint_id": checkpoint_id,
        "created_at": stored_at.isoformat(timespec="microseconds"),
        "task_id": w.task_id,
        "idx": w.idx,
        "channel": w.channel,
        "content_type": w.content_type,
        "task_path": w.task_path,
        "value_length": len(w.value_bytes),
    }
    return dumps(head) + b"\n" + w.value_bytes


@dataclass(frozen=True, slots=True)
class WriteHead:
    checkpoint_id: str | None  # None in format 1, where the directory named it
    created_us: int  # when it was stored; 0 in format 1 (only saved checkpoints had writes)


def _write_head(head: Any) -> WriteHead:
    checkpoint_id = head.get("checkpoint_id")
    if checkpoint_id is not None and not isinstance(checkpoint_id, str):
        raise TypeError("checkpoint_id")
    created = head.get("created_at")
    return WriteHead(checkpoint_id, to_us(datetime.fromisoformat(created)) if created else 0)


def parse_write_header(line: bytes, path: Path) -> WriteHead:
    try:
        return _write_head(json.loads(line))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InternalError(f"pending write file {path} is corrupt: bad header") from exc


def decode_write(data: bytes, path: Path) -> tuple[WriteHead, PendingWrite]:
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
        meta = _write_head(head)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InternalError(f"pending write file {path} is corrupt: bad header") from exc
    if length != len(value):
        raise InternalError(f"pending write file {path} is corrupt: value length mismatch")
    return meta, write


# -- atomic, durable changes ------------------------------------------------------------------


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


def link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` hold what ``source`` holds; the caller fsyncs target's directory.

    A hard link shares the bytes; that is safe because no stored file is ever changed in
    place (a change writes a new file and renames it over the name). Where links do not
    work (another file system, or none supported), the bytes are copied and fsynced.
    """
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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


def alive(cp: Checkpoint, cutoff: datetime | None) -> bool:
    # Backend.is_live with the cutoff read once per operation.
    return cutoff is None or cp.created_at is None or cp.created_at >= cutoff
