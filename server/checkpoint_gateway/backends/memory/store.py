"""``MemoryStore``: the store over dicts in this process (see the package docstring)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checkpoint_client import Checkpoint, PendingWrite

from ... import validation as v
from .._base import Backend, check_cas, saved_or_conflict

__all__ = ["MemoryStore"]


@dataclass
class _Lineage:
    versions: list[int] = field(default_factory=list)  # ascending
    by_version: dict[int, Checkpoint] = field(default_factory=dict)
    by_id: dict[str, Checkpoint] = field(default_factory=dict)
    writes: dict[str, dict[tuple[str, int], PendingWrite]] = field(default_factory=dict)


class MemoryStore(Backend):
    """Checkpoints in a dict; nothing survives the process."""

    name = "memory"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lineages: dict[str, dict[str, _Lineage]] = {}

    def _lineage(self, execution_id: str, namespace: str) -> _Lineage | None:
        lineage = self._lineages.get(execution_id, {}).get(namespace)
        if lineage is not None:
            self._expire(lineage)
        return lineage

    def _expire(self, lineage: _Lineage) -> None:
        # Versions are saved in time order, so the expired ones are a prefix.
        while lineage.versions and not self.is_live(lineage.by_version[lineage.versions[0]]):
            self._remove(lineage, lineage.by_version[lineage.versions[0]])

    @staticmethod
    def _remove(lineage: _Lineage, cp: Checkpoint) -> None:
        del lineage.by_id[cp.checkpoint_id]
        del lineage.by_version[cp.version]
        lineage.versions.remove(cp.version)
        lineage.writes.pop(cp.checkpoint_id, None)

    def _with_writes(self, lineage: _Lineage, cp: Checkpoint) -> Checkpoint:
        writes = lineage.writes.get(cp.checkpoint_id, {})
        return cp.replace(pending_writes=[writes[k] for k in sorted(writes)])

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        lineage = self._lineages.setdefault(checkpoint.execution_id, {}).setdefault(
            checkpoint.namespace, _Lineage()
        )
        self._expire(lineage)
        stored = lineage.by_id.get(checkpoint.checkpoint_id)
        if stored is not None:
            return saved_or_conflict(checkpoint, stored.replace())
        latest = lineage.versions[-1] if lineage.versions else 0
        check_cas(checkpoint, expected_version, latest)
        saved = checkpoint.replace(version=latest + 1, created_at=self.now())
        lineage.versions.append(saved.version)
        lineage.by_version[saved.version] = saved
        lineage.by_id[saved.checkpoint_id] = saved
        keep = self.retention.max_checkpoints
        while keep is not None and len(lineage.versions) > keep:
            self._remove(lineage, lineage.by_version[lineage.versions[0]])
        return saved.replace()

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        lineage = self._lineage(execution_id, namespace)
        cp = lineage.by_id.get(checkpoint_id) if lineage else None
        return self._with_writes(lineage, cp) if lineage and cp else None

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        lineage = self._lineage(execution_id, namespace)
        if not lineage or not lineage.versions:
            return None
        return self._with_writes(lineage, lineage.by_version[lineage.versions[-1]])

    async def _version_of(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> int | None:
        lineage = self._lineage(execution_id, namespace)
        cp = lineage.by_id.get(checkpoint_id) if lineage else None
        return cp.version if cp else None

    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
    ) -> list[Checkpoint]:
        lineage = self._lineage(execution_id, namespace)
        if lineage is None:
            return []
        end = len(lineage.versions)
        if below_version is not None:
            end = bisect.bisect_left(lineage.versions, below_version)
        out: list[Checkpoint] = []
        for i in range(end - 1, -1, -1):
            cp = lineage.by_version[lineage.versions[i]]
            if v.matches(cp.metadata, metadata_filter):
                out.append(cp.replace())
                if len(out) == limit:
                    break
        return out

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        lineage = self._lineage(execution_id, namespace)
        cp = lineage.by_id.pop(checkpoint_id, None) if lineage else None
        if lineage is None or cp is None:
            return False
        lineage.by_id[checkpoint_id] = cp
        self._remove(lineage, cp)
        return True

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        spaces = self._lineages.get(execution_id, {})
        for lineage in spaces.values():
            self._expire(lineage)
        if namespace is None:
            removed = spaces
            self._lineages.pop(execution_id, None)
        else:
            removed = {namespace: spaces.pop(namespace)} if namespace in spaces else {}
        return sum(len(lin.versions) for lin in removed.values())

    async def _put_writes(
        self, execution_id: str, namespace: str, checkpoint_id: str, writes: list[PendingWrite]
    ) -> bool:
        lineage = self._lineage(execution_id, namespace)
        if lineage is None or checkpoint_id not in lineage.by_id:
            return False
        slot = lineage.writes.setdefault(checkpoint_id, {})
        for w in writes:
            slot[(w.task_id, w.idx)] = w
        return True

    async def close(self) -> None:
        self._lineages.clear()
