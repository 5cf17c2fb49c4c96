"""Where a local backend (file, SQLite) keeps its data, checked before it is used.

A URL that names a place no store can live in (a path under a regular file, a
directory where a database file should be, a file that is not a database, a directory
nobody may write to) is a bad setting, not an outage: ``StoreLocationError`` says which
in one line, and the CLI names ``--backend`` with it instead of a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path


class StoreLocationError(ValueError):
    """The backend URL's path cannot hold a store; the message says why."""


def make_directory(directory: Path) -> None:
    """Create ``directory`` and its parents, or say plainly why they cannot be."""
    if directory.is_dir():
        return
    for ancestor in (directory, *directory.parents):
        if ancestor.exists() and not ancestor.is_dir():
            raise StoreLocationError(f"{ancestor} is a file, not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        raise StoreLocationError(f"cannot create the directory {directory}: {reason}") from None


def check_database_file(path: Path) -> None:
    """Fail early when ``path`` is a directory: SQLite would say only "unable to open"."""
    if path.is_dir():
        raise StoreLocationError(f"{path} is a directory, not a database file")
