"""``MemoryStore``: the store over dicts in this process (see the package docstring)."""

from __future__ import annotations

import bisect
import builtins
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from checkpoint_client import (
    Channel,
    Checkpoint,
    Conflict,
    ExecutionInfo,
    NotFound,
    PendingWrite,
)

from ... import validation as v
from .._base import (
    Backend,
    PageBudget,
    Position,
    channel_conflict,
    check_cas,
    from_us,
    missing_channel,
    position,
    saved_or_conflict,
    to_us,
)

__all__ = ["MemoryStore"]


@dataclass
class _Lineage:
    versions: list[int] = field(default_factory=list)  # ascending
    # Checkpoints as stored: channels are references; their values are in ``blobs``.
    by_version: dict[int, Checkpoint] = field(default_factory=dict)
    by_id: dict[str, Checkpoint] = field(default_factory=dict)
    # Writes by checkpoint id, saved or not: key -> (write, when it was stored in µs).
    writes: dict[str, dict[tuple[str, int], tuple[PendingWrite, int]]] = field(default_factory=dict)
    blobs: dict[tuple[str, str], Channel] = field(default_factory=dict)


@dataclass
class _Execution:
    lineages: dict[str, _Lineage] = field(default_factory=dict)
    updated_us: int = 0  # when a checkpoint was last saved to it


class MemoryStore(Backend):
    """Checkpoints in a dict; nothing survives the process."""

    name = "memory"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._executions_: dict[str, _Execution] = {}

    # -- bookkeeping -------------------------------------------------------------------

    def _lineage(self, execution_id: str, namespace: str) -> _Lineage | None:
        execution = self._executions_.get(execution_id)
        lineage = execution.lineages.get(namespace) if execution else None
        if lineage is not None:
            self._expire(lineage)
        return lineage

    def _cutoff_us(self) -> int | None:
        cutoff = self.expired_before()
        return None if cutoff is None else to_us(cutoff)

    def _expire(self, lineage: _Lineage) -> None:
        cutoff = self._cutoff_us()
        if cutoff is None:
            return
        # Versions are saved in time order, so the expired ones are a prefix.
        gone = []
        while lineage.versions and position(lineage.by_version[lineage.versions[0]])[0] < cutoff:
            gone.append(self._unlink(lineage, lineage.by_version[lineage.versions[0]]))
        for cid in [c for c in lineage.writes if c not in lineage.by_id]:
            kept = {k: x for k, x in lineage.writes[cid].items() if x[1] >= cutoff}
            if kept:
                lineage.writes[cid] = kept
            else:
                del lineage.writes[cid]
        if gone:
            _collect_blobs(lineage)

    @staticmethod
    def _unlink(lineage: _Lineage, cp: Checkpoint) -> Checkpoint:
        """Remove a checkpoint and its writes (the caller collects unreferenced blobs)."""
        del lineage.by_id[cp.checkpoint_id]
        del lineage.by_version[cp.version]
        lineage.versions.remove(cp.version)
        lineage.writes.pop(cp.checkpoint_id, None)
        return cp

    def _thin(self, lineage: _Lineage, doomed: Iterable[Checkpoint]) -> int:
        """Remove checkpoints, the orphan writes stored before the newest of them, and
        the channel values no remaining checkpoint carries."""
        gone = [self._unlink(lineage, cp) for cp in doomed]
        if gone:
            newest = max(position(cp)[0] for cp in gone)
            for cid in [c for c in lineage.writes if c not in lineage.by_id]:
                kept = {k: x for k, x in lineage.writes[cid].items() if x[1] >= newest}
                if kept:
                    lineage.writes[cid] = kept
                else:
                    del lineage.writes[cid]
            _collect_blobs(lineage)
        return len(gone)

    def _full(self, lineage: _Lineage, cp: Checkpoint, *, with_writes: bool = True) -> Checkpoint:
        """A stored checkpoint with its channel values (and writes)."""
        changes: dict[str, Any] = {
            "channels": {n: lineage.blobs[(n, c.version)] for n, c in cp.channels.items()}
        }
        if with_writes:
            slot = lineage.writes.get(cp.checkpoint_id, {})
            changes["pending_writes"] = [slot[k][0] for k in sorted(slot)]
        return cp.replace(**changes)

    def _live(self, execution_id: str) -> Iterator[tuple[_Lineage, Checkpoint]]:
        execution = self._executions_.get(execution_id)
        for namespace in sorted(execution.lineages) if execution else ():
            lineage = self._lineage(execution_id, namespace)
            assert lineage is not None
            for version in lineage.versions:
                yield lineage, lineage.by_version[version]

    def _drop_if_empty(self, execution_id: str) -> None:
        execution = self._executions_.get(execution_id)
        if execution is None:
            return
        for namespace in [n for n, lin in execution.lineages.items() if not lin.versions]:
            if not execution.lineages[namespace].writes:
                del execution.lineages[namespace]
        if not execution.lineages:
            del self._executions_[execution_id]

    # -- the primitives -----------------------------------------------------------------

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        execution = self._executions_.setdefault(checkpoint.execution_id, _Execution())
        lineage = execution.lineages.setdefault(checkpoint.namespace, _Lineage())
        self._expire(lineage)
        stored = lineage.by_id.get(checkpoint.checkpoint_id)
        if stored is not None:
            return saved_or_conflict(checkpoint, stored)
        new_blobs: dict[tuple[str, str], Channel] = {}
        for name, ch in checkpoint.channels.items():
            held = lineage.blobs.get((name, ch.version))
            if ch.value_bytes is None:
                if held is None:
                    raise missing_channel(checkpoint, name)
            elif held is None:
                new_blobs[(name, ch.version)] = ch
            elif (held.value_bytes, held.content_type) != (ch.value_bytes, ch.content_type):
                raise channel_conflict(checkpoint, name)
        latest = lineage.versions[-1] if lineage.versions else 0
        check_cas(checkpoint, expected_version, latest)
        saved = checkpoint.replace(version=latest + 1, created_at=self.now())
        lineage.blobs.update(new_blobs)
        stored = saved.replace(channels={n: c.reference() for n, c in saved.channels.items()})
        lineage.versions.append(saved.version)
        lineage.by_version[saved.version] = stored
        lineage.by_id[saved.checkpoint_id] = stored
        execution.updated_us = max(execution.updated_us, position(saved)[0])
        keep = self.retention.max_checkpoints
        if keep is not None and len(lineage.versions) > keep:
            surplus = lineage.versions[: len(lineage.versions) - keep]
            self._thin(lineage, [lineage.by_version[n] for n in surplus])
        return saved

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        lineage = self._lineage(execution_id, namespace)
        cp = lineage.by_id.get(checkpoint_id) if lineage else None
        return self._full(lineage, cp) if lineage and cp else None

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        lineage = self._lineage(execution_id, namespace)
        if not lineage or not lineage.versions:
            return None
        return self._full(lineage, lineage.by_version[lineage.versions[-1]])

    async def _locate(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> tuple[int, int] | None:
        lineage = self._lineage(execution_id, namespace)
        cp = lineage.by_id.get(checkpoint_id) if lineage else None
        return None if cp is None else (cp.version, position(cp)[0])

    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[list[Checkpoint], bool]:
        lineage = self._lineage(execution_id, namespace)
        if lineage is None:
            return [], False
        end = len(lineage.versions)
        if below_version is not None:
            end = bisect.bisect_left(lineage.versions, below_version)
        found = ((lineage, lineage.by_version[lineage.versions[i]]) for i in range(end - 1, -1, -1))
        return self._page(found, limit, metadata_filter, with_writes, max_bytes)

    def _page(
        self,
        candidates: Iterable[tuple[_Lineage, Checkpoint]],
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[list[Checkpoint], bool]:
        budget = PageBudget(max_bytes)
        out: list[Checkpoint] = []
        for lineage, cp in candidates:
            if not v.matches(cp.metadata, metadata_filter):
                continue
            full = self._full(lineage, cp, with_writes=with_writes)
            if not budget.admit(full):
                break
            out.append(full)
            if len(out) == limit:
                break
        return out, budget.cut

    def _by_position(
        self, execution_ids: Iterable[str], after: Position | None
    ) -> list[tuple[_Lineage, Checkpoint]]:
        found = [pair for eid in execution_ids for pair in self._live(eid)]
        if after is not None:
            found = [pair for pair in found if position(pair[1]) < after]
        found.sort(key=lambda pair: position(pair[1]), reverse=True)
        return found

    async def _list_execution(
        self,
        execution_id: str,
        after: Position | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[list[Checkpoint], bool]:
        found = self._by_position([execution_id], after)
        return self._page(found, limit, metadata_filter, with_writes, max_bytes)

    async def _search(
        self,
        prefix: str,
        after: Position | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[list[Checkpoint], bool]:
        ids = [e for e in self._executions_ if e.startswith(prefix)]
        found = self._by_position(ids, after)
        return self._page(found, limit, metadata_filter, with_writes, max_bytes)

    async def _namespaces(self, execution_id: str, after: str | None, limit: int) -> list[str]:
        execution = self._executions_.get(execution_id)
        names = []
        for namespace in sorted(execution.lineages) if execution else ():
            lineage = self._lineage(execution_id, namespace)
            if lineage and lineage.versions and (after is None or namespace > after):
                names.append(namespace)
                if len(names) == limit:
                    break
        return names

    async def _executions(
        self, prefix: str, after: tuple[int, str] | None, limit: int
    ) -> list[ExecutionInfo]:
        keys = sorted(
            ((x.updated_us, eid) for eid, x in self._executions_.items() if eid.startswith(prefix)),
            reverse=True,
        )
        out = []
        for updated_us, eid in keys:
            if after is not None and (updated_us, eid) >= after:
                continue
            if next(self._live(eid), None) is None:
                continue
            out.append(ExecutionInfo(eid, from_us(updated_us)))
            if len(out) == limit:
                break
        return out

    async def _delete_where(
        self, prefix: str, execution_id: str | None, metadata_filter: Mapping[str, v.Scalar]
    ) -> int:
        ids = (
            [execution_id]
            if execution_id is not None
            else [e for e in self._executions_ if e.startswith(prefix)]
        )
        deleted = 0
        for eid in ids:
            execution = self._executions_.get(eid)
            if execution is None:
                continue
            for namespace in builtins.list(execution.lineages):
                lineage = self._lineage(eid, namespace)
                assert lineage is not None
                doomed = [
                    lineage.by_version[n]
                    for n in lineage.versions
                    if v.matches(lineage.by_version[n].metadata, metadata_filter)
                ]
                for cp in doomed:
                    self._unlink(lineage, cp)
                if doomed:
                    _collect_blobs(lineage)
                deleted += len(doomed)
            self._drop_if_empty(eid)
        return deleted

    async def _copy_execution(self, source: str, target: str) -> int:
        pairs = builtins.list(self._live(source))
        if not pairs:
            raise NotFound(f"execution {source!r} has no checkpoints to copy")
        if next(self._live(target), None) is not None:
            raise Conflict(f"execution {target!r} already has checkpoints; copy to a new id")
        copy = _Execution(updated_us=to_us(self.now()))
        for namespace, lineage in self._executions_[source].lineages.items():
            twin = _Lineage(
                versions=builtins.list(lineage.versions),
                by_version={
                    n: cp.replace(execution_id=target) for n, cp in lineage.by_version.items()
                },
                writes={cid: dict(slot) for cid, slot in lineage.writes.items()},
                blobs=dict(lineage.blobs),
            )
            twin.by_id = {cp.checkpoint_id: cp for cp in twin.by_version.values()}
            copy.lineages[namespace] = twin
        self._executions_[target] = copy
        return len(pairs)

    async def _prune(self, execution_id: str) -> int:
        execution = self._executions_.get(execution_id)
        deleted = 0
        for namespace in builtins.list(execution.lineages) if execution else ():
            lineage = self._lineage(execution_id, namespace)
            assert lineage is not None
            surplus = [lineage.by_version[n] for n in lineage.versions[:-1]]
            deleted += self._thin(lineage, surplus)
        return deleted

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        lineage = self._lineage(execution_id, namespace)
        if lineage is None:
            return False
        lineage.writes.pop(checkpoint_id, None)
        cp = lineage.by_id.get(checkpoint_id)
        if cp is not None:
            self._unlink(lineage, cp)
            _collect_blobs(lineage)
        self._drop_if_empty(execution_id)
        return cp is not None

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        execution = self._executions_.get(execution_id)
        if execution is None:
            return 0
        names = builtins.list(execution.lineages) if namespace is None else [namespace]
        count = 0
        for name in names:
            lineage = self._lineage(execution_id, name)
            if lineage is not None:
                count += len(lineage.versions)
                del execution.lineages[name]
        self._drop_if_empty(execution_id)
        return count

    async def _put_writes(
        self, execution_id: str, namespace: str, checkpoint_id: str, writes: list[PendingWrite]
    ) -> None:
        execution = self._executions_.setdefault(execution_id, _Execution())
        lineage = execution.lineages.setdefault(namespace, _Lineage())
        self._expire(lineage)
        slot = lineage.writes.setdefault(checkpoint_id, {})
        now = to_us(self.now())
        for w in writes:
            key = (w.task_id, w.idx)
            if w.idx < 0 or key not in slot:
                slot[key] = (w, now)

    async def close(self) -> None:
        self._executions_.clear()


def _collect_blobs(lineage: _Lineage) -> None:
    """Drop the channel values no checkpoint of the lineage carries any more."""
    used = {(n, c.version) for cp in lineage.by_id.values() for n, c in cp.channels.items()}
    for key in [k for k in lineage.blobs if k not in used]:
        del lineage.blobs[key]
