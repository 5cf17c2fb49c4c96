"""Bringing a store written by an older layout up to ``FORMAT`` (see the package
docstring), once, when a store is opened on it.

Format 1 kept a checkpoint's writes in ``<V>-<C>.w/``, named after the checkpoint's
version, so writes could only exist for a saved checkpoint; a ``.w`` directory without
its ``.ckpt`` was what a crashed delete left behind. Format 2 names writes directories
after the checkpoint id alone (``w-<C>/``) and keeps a last-save marker per lineage. The
upgrade, per execution and holding its lock: renames each ``.w`` directory whose
checkpoint exists to ``w-<C>`` (one atomic rename; the write files keep their format-1
headers, which read as "stored at the epoch"), deletes the crash leftovers, and records
the newest checkpoint's ``created_at`` as the lineage's marker. Then it writes the root's
``.format`` file. Each step is idempotent, so an upgrade cut short by a crash is finished
by the next open. Old checkpoint files are read as they are (they have no channels).

Stop every process running the old code before opening the store with this one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from checkpoint_client import InternalError

from .._base import to_us
from .layout import (
    FORMAT,
    FORMAT_FILE,
    OLD_WRITES,
    WRITE,
    WRITES,
    Listing,
    dumps,
    fsync_dir,
    marker_file,
    parse_header,
    remove_path,
    subdirs,
    write_atomic,
)

__all__ = ["stored_format", "upgrade"]


def stored_format(root: Path) -> int | None:
    """The layout ``root`` declares, or None when it declares none."""
    try:
        data = (root / FORMAT_FILE).read_bytes()
    except FileNotFoundError:
        return None
    try:
        found = json.loads(data)["format"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InternalError(f"{root / FORMAT_FILE} is corrupt") from exc
    if not isinstance(found, int):
        raise InternalError(f"{root / FORMAT_FILE} is corrupt")
    return found


def upgrade(root: Path, lock: Callable[[str], AbstractContextManager[None]]) -> bool:
    """Bring ``root`` to ``FORMAT``; return whether there was anything to convert.

    Args:
        root: the store's root directory (existing).
        lock: takes the lock of an execution, by the name of its directory.
    """
    found = stored_format(root)
    if found is not None and found > FORMAT:
        raise InternalError(
            f"the file store {str(root)!r} has layout {found}, newer than this gateway "
            f"reads ({FORMAT}); upgrade the gateway"
        )
    executions = subdirs(root)
    if found == FORMAT:
        return False
    for execution in executions:
        with lock(execution.name):
            for lineage in subdirs(execution):
                _upgrade_lineage(lineage)
    write_atomic(root, FORMAT_FILE, dumps({"format": FORMAT}) + b"\n")
    fsync_dir(root)
    return bool(executions)


def _upgrade_lineage(lineage: Path) -> None:
    try:
        entries = os.listdir(lineage)
    except FileNotFoundError:
        return
    listing = Listing.of(entries)
    saved = {name.removesuffix(".ckpt") for _, name in listing.names}
    changed = False
    for entry in entries:
        m = OLD_WRITES.fullmatch(entry)
        if m is None:
            continue
        old = lineage / entry
        if m.group(1) not in saved:
            remove_path(old)  # what a crashed delete left: it belonged to no checkpoint
        else:
            _move_writes(old, lineage / f"w-{m.group(1)[21:]}")
        changed = True
    if listing.names and listing.marker is None:
        newest = lineage / listing.names[-1][1]
        with newest.open("rb") as f:
            head, _ = parse_header(f.readline(), newest)
        assert head.created_at is not None
        (lineage / marker_file(to_us(head.created_at))).touch()
        changed = True
    if changed:
        fsync_dir(lineage)


def _move_writes(old: Path, new: Path) -> None:
    assert WRITES.fullmatch(new.name)
    try:
        os.rename(old, new)  # fails when new exists and is not empty
        return
    except OSError:
        if not new.is_dir():
            raise
    # Both exist (cannot happen with one writer, but costs little to get right): keep
    # what the new directory holds and add the rest.
    for entry in os.listdir(old):
        if WRITE.fullmatch(entry) and not (new / entry).exists():
            os.rename(old / entry, new / entry)
    fsync_dir(new)
    with contextlib.suppress(FileNotFoundError):
        remove_path(old)
