"""Reading a file store: checkpoints, their channel values and writes, and listings that
open only the files they return (see the package docstring). Reads take no lock."""

from __future__ import annotations

import bisect
import builtins
import heapq
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from checkpoint_client import Channel, Checkpoint, InternalError, PendingWrite

from ... import validation as v
from .._base import AncestorWalk, PageBudget, Position, position
from .layout import (
    WRITE,
    alive,
    blob_file,
    checkpoint_key,
    checkpoint_names,
    decode_blob,
    decode_write,
    parse_header,
    parse_write_header,
    short,
    writes_dir,
)

__all__ = ["FileStats", "Found", "Reader"]

_LOWEST: Position = (-(2**63), "", "", 0)


class Found(NamedTuple):
    """A checkpoint file whose header was read.

    Attributes:
        lineage: its lineage directory.
        name: its file name.
        cp: the header: the checkpoint with an empty state and channels as references.
        length: the state's length.
        line: the header line as read. Stored files are never changed in place, and each
            header has a random nonce: a later open of the same name that reads the same
            line reads the same file; another line means the checkpoint was removed and
            its id saved again at the same version.
    """

    lineage: Path
    name: str
    cp: Checkpoint
    length: int
    line: bytes

    @property
    def path(self) -> Path:
        return self.lineage / self.name


@dataclass
class FileStats:
    """Counts of file reads, for diagnostics and tests.

    Attributes:
        headers_read: checkpoint files opened and their header parsed.
        states_read: checkpoint states read (each file's header is counted once more only
            when it is opened again for its state).
        values_read: channel value files read.
    """

    headers_read: int = 0
    states_read: int = 0
    values_read: int = 0


class Reader:
    """Reads checkpoints, channel values and writes under ``root``, counting reads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stats = FileStats()
        self._lock = threading.Lock()

    def _count(self, field: str) -> None:
        with self._lock:
            setattr(self.stats, field, getattr(self.stats, field) + 1)

    # -- single files ------------------------------------------------------------------------

    def head(self, lineage: Path, name: str) -> Found | None:
        """A checkpoint file's header, or None when the file is gone."""
        path = lineage / name
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        with f:
            line = f.readline()
        self._count("headers_read")
        cp, length = parse_header(line, path)
        return Found(lineage, name, cp, length, line)

    def state(self, found: Found) -> bytes | None:
        """The state of a checkpoint whose header was read, or None when that file is
        gone (removed, or replaced by another checkpoint of the same name)."""
        try:
            f = found.path.open("rb")
        except FileNotFoundError:
            return None
        with f:
            if f.readline() != found.line:
                return None
            data = f.read(found.length + 1)
        self._count("states_read")
        if len(data) != found.length:
            raise InternalError(f"checkpoint file {found.path} is corrupt: state length mismatch")
        return data

    def still_there(self, found: Found) -> bool:
        try:
            with found.path.open("rb") as f:
                return f.readline() == found.line
        except FileNotFoundError:
            return False

    def channels(self, found: Found, wanted: set[str] | None = None) -> dict[str, Channel] | None:
        """The values of a checkpoint's channels (only ``wanted`` ones, if given), or None
        when the checkpoint was removed meanwhile (its values may have gone with it)."""
        out: dict[str, Channel] = {}
        for channel, ref in found.cp.channels.items():
            if wanted is not None and channel not in wanted:
                continue
            path = found.lineage / blob_file(channel, ref.version)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                if self.still_there(found):
                    raise InternalError(
                        f"channel value file {path} of checkpoint file {found.path} is missing"
                    ) from None
                return None
            self._count("values_read")
            head, value = decode_blob(data, path)
            if (head.name, head.version) != (channel, ref.version):
                raise InternalError(f"channel value file {path} holds another channel")
            out[channel] = value
        return out

    def writes(self, lineage: Path, checkpoint_id: str) -> tuple[PendingWrite, ...]:
        """The writes stored under a checkpoint id, sorted by (task_id, idx)."""
        directory = lineage / writes_dir(short(checkpoint_id))
        try:
            entries = os.listdir(directory)
        except FileNotFoundError:
            return ()
        found: builtins.list[PendingWrite] = []
        for entry in entries:
            if not WRITE.fullmatch(entry):
                continue
            try:
                data = (directory / entry).read_bytes()
            except FileNotFoundError:
                continue
            meta, write = decode_write(data, directory / entry)
            if meta.checkpoint_id in (None, checkpoint_id):
                found.append(write)
        found.sort(key=lambda w: (w.task_id, w.idx))
        return tuple(found)

    def write_created_us(self, path: Path) -> int | None:
        """When a write file was stored (µs), or None when it is gone."""
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        with f:
            line = f.readline()
        return parse_write_header(line, path).created_us

    # -- one lineage -------------------------------------------------------------------------

    def find(
        self,
        lineage: Path,
        names: builtins.list[tuple[int, str]],
        checkpoint_id: str,
        cutoff: datetime | None,
    ) -> Found | None:
        """The live checkpoint with this id, or None."""
        key = short(checkpoint_id)
        for _, name in reversed(names):
            if checkpoint_key(name) != key:
                continue
            found = self.head(lineage, name)
            if found is not None and found.cp.checkpoint_id == checkpoint_id:
                return found if alive(found.cp, cutoff) else None
        return None

    def newest(
        self, lineage: Path, names: builtins.list[tuple[int, str]], cutoff: datetime | None
    ) -> Found | None:
        """The highest-version live checkpoint, or None."""
        for _, name in reversed(names):
            found = self.head(lineage, name)
            if found is None:
                continue  # removed meanwhile
            if not alive(found.cp, cutoff):
                return None  # every older one expired too
            return found
        return None

    def live_names(
        self, lineage: Path, names: builtins.list[tuple[int, str]], cutoff: datetime | None
    ) -> builtins.list[tuple[int, str]]:
        """``names`` without the expired ones, which (saved in time order) are a prefix."""
        if cutoff is None:
            return names
        for i, (_, name) in enumerate(names):
            found = self.head(lineage, name)
            if found is not None and alive(found.cp, cutoff):
                return names[i:]
        return []

    def load(self, found: Found) -> Checkpoint | None:
        """A checkpoint found by its header, whole: state, channel values and writes."""
        channels = self.channels(found)
        state = None if channels is None else self.state(found)
        if channels is None or state is None:
            return None
        writes = self.writes(found.lineage, found.cp.checkpoint_id)
        return found.cp.replace(state=state, channels=channels, pending_writes=writes)

    def below(
        self, lineage: Path, below_version: int | None, cutoff: datetime | None
    ) -> Iterator[Found]:
        """The live checkpoints of a lineage below a version, newest first, header by
        header (versions are in the names, so none above it is opened)."""
        for version, name in reversed(checkpoint_names(lineage)):
            if below_version is not None and version >= below_version:
                continue
            found = self.head(lineage, name)
            if found is None:
                continue
            if not alive(found.cp, cutoff):
                return  # every older one expired too
            yield found

    def stream(
        self, lineage: Path, after: Position | None, cutoff: datetime | None
    ) -> Iterator[Found]:
        """The live checkpoints of a lineage strictly below ``after``, by position
        descending. Within a lineage positions rise with versions (created_at is taken
        under the lock, in version order), so the start is found by bisection: about
        log2(n) headers are read to skip what earlier pages served."""
        names = checkpoint_names(lineage)
        heads: dict[int, Found | None] = {}

        def head(i: int) -> Found | None:
            if i not in heads:
                heads[i] = self.head(lineage, names[i][1])
            return heads[i]

        def key(i: int) -> Position:
            # A file removed meanwhile sorts as its nearest older neighbour (still in order).
            for j in range(i, -1, -1):
                found = head(j)
                if found is not None:
                    return position(found.cp)
            return _LOWEST

        end = len(names)
        if after is not None and names:
            end = bisect.bisect_left(range(len(names)), after, key=key)
        for i in range(end - 1, -1, -1):
            found = head(i)
            if found is None:
                continue
            if not alive(found.cp, cutoff):
                return
            yield found

    # -- pages -------------------------------------------------------------------------------

    def page(
        self,
        candidates: Iterable[Found],
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        """Up to ``limit`` matching candidates, whole, within ``max_bytes``; True when
        the budget cut the page short. A state is read only once the page admits its
        checkpoint (whose weight the header's state length gives)."""
        budget = PageBudget(max_bytes)
        out: builtins.list[Checkpoint] = []
        for found in candidates:
            if not v.matches(found.cp.metadata, metadata_filter):
                continue
            channels = self.channels(found)
            if channels is None:
                continue  # removed meanwhile
            writes = self.writes(found.lineage, found.cp.checkpoint_id) if with_writes else ()
            probe = found.cp.replace(
                state=bytes(found.length), channels=channels, pending_writes=writes
            )
            if not budget.admit(probe):
                break
            state = self.state(found)
            if state is None:
                continue
            out.append(probe.replace(state=state))
            if len(out) == limit:
                break
        return out, budget.cut

    def merged(
        self, lineages: Iterable[Path], after: Position | None, cutoff: datetime | None, prefix: str
    ) -> Iterator[Found]:
        """The live checkpoints of several lineages below ``after``, by position
        descending (a k-way merge: one header per lineage before the first item), of
        executions whose id starts with ``prefix``."""
        streams = [_scoped(self.stream(lineage, after, cutoff), prefix) for lineage in lineages]
        return heapq.merge(*streams, key=lambda found: position(found.cp), reverse=True)

    # -- the parent chain --------------------------------------------------------------------

    def ancestors(
        self,
        lineage: Path,
        start: str,
        include_start: bool,
        walk: AncestorWalk,
        cutoff: datetime | None,
    ) -> str | None:
        """Feed ``walk`` the chain from ``start`` (see ``Backend._ancestors``), listing the
        lineage once and reading of each checkpoint only what the walk keeps."""
        by_key = {checkpoint_key(name): name for _, name in checkpoint_names(lineage)}

        def get(checkpoint_id: str) -> Found | None:
            name = by_key.get(short(checkpoint_id))
            found = None if name is None else self.head(lineage, name)
            if found is None or found.cp.checkpoint_id != checkpoint_id:
                return None
            return found if alive(found.cp, cutoff) else None

        current = get(start)
        if current is None:
            return None
        if not include_start:
            if not current.cp.parent_id:
                return ""
            current = get(current.cp.parent_id)
        while current is not None:
            cp = current.cp
            channels = self.channels(current, walk.wanted())
            if channels is None:
                return ""  # removed meanwhile: the chain is cut here
            writes = self.writes(lineage, cp.checkpoint_id)
            # Weighed with a stand-in state; the real one is read once the page takes it.
            probe = cp.replace(
                state=bytes(current.length) if walk.include_state else b"",
                channels=channels,
                pending_writes=writes,
            )
            if not walk.take(probe):
                return cp.checkpoint_id
            if walk.include_state:
                state = self.state(current)
                if state is None:
                    walk.items.pop()
                    return ""
                walk.items[-1] = walk.items[-1].replace(state=state)
            following = walk.next_after(cp)
            if following is not None:
                return following
            current = get(cp.parent_id)
        return ""  # the chain was cut (a parent deleted or pruned)


def _scoped(stream: Iterator[Found], prefix: str) -> Iterator[Found]:
    """A lineage's stream, or nothing when its execution id does not start with prefix."""
    for found in stream:
        if not found.cp.execution_id.startswith(prefix):
            return
        yield found
