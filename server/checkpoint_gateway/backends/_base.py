"""What every backend shares: validation, id assignment, paging; backends store.

A backend subclasses ``Backend`` and implements the ``_``-prefixed primitives. The public
methods validate input first, so bad input never reaches storage, and every backend
answers the same request with the same result or the same error.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    CheckpointPage,
    CheckpointStore,
    Conflict,
    InvalidArgument,
    NotFound,
    PendingWrite,
)
from checkpoint_client._ids import with_id

from .. import validation as v
from . import _paging


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Retention:
    """How long checkpoints are kept. Both off by default.

    Attributes:
        max_checkpoints: keep only the newest N checkpoints of each lineage; older ones
            (and their writes) are deleted by the save that makes them surplus, in the
            same transaction where the backend has one.
        ttl_seconds: a checkpoint expires this long after it was saved. Expired
            checkpoints are never returned (load, latest, list, before), and are removed
            lazily by later saves to the lineage or by the backend's own expiry.
    """

    max_checkpoints: int | None = None
    ttl_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_checkpoints is not None and self.max_checkpoints < 1:
            raise ValueError("max_checkpoints must be at least 1")
        if self.ttl_seconds is not None and self.ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A backend's connection pool right now (for metrics)."""

    size: int  # connections open
    in_use: int  # connections lent to calls
    idle: int  # open and free
    waiting: int  # calls waiting for a connection
    max_size: int  # the most it may open


class Backend(CheckpointStore, ABC):
    """Base class of the storage backends.

    Args:
        limits: request bounds; the defaults suit in-process use.
        retention: pruning and expiry; off by default.
        clock: the time source for ``created_at`` and expiry (tests inject one).
    """

    name: ClassVar[str]

    def __init__(
        self,
        *,
        limits: v.Limits | None = None,
        retention: Retention | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.limits = limits or v.Limits()
        self.retention = retention or Retention()
        self.clock = clock

    def pool_stats(self) -> PoolStats | None:
        """The connection pool's state, or None for backends without a pool."""
        return None

    def now(self) -> datetime:
        """Creation time for a new checkpoint (UTC, whole microseconds)."""
        return self.clock()

    def expired_before(self) -> datetime | None:
        """Checkpoints created before this instant are expired; None without a TTL."""
        ttl = self.retention.ttl_seconds
        return None if ttl is None else self.clock() - timedelta(seconds=ttl)

    def is_live(self, checkpoint: Checkpoint) -> bool:
        cutoff = self.expired_before()
        return cutoff is None or checkpoint.created_at is None or checkpoint.created_at >= cutoff

    # -- the CheckpointStore interface --------------------------------------------------

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        return await self._save(self._prepared(checkpoint, expected_version), expected_version)

    def _prepared(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        """A valid checkpoint as it is stored: with an id, without pending writes (saves
        carry none; PutWrites adds them). Raises ``InvalidArgument`` for bad input."""
        v.check_checkpoint(checkpoint, self.limits)
        v.check_expected_version(expected_version)
        checkpoint = with_id(checkpoint)
        if checkpoint.pending_writes:
            checkpoint = checkpoint.replace(pending_writes=())
        return checkpoint

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        """Save several checkpoints in order; each is stored or fails on its own.

        Returns one entry per checkpoint: the stored checkpoint, or the error that item
        got (``InvalidArgument``, ``Conflict``...), as ``save`` would have raised it. Items
        run in order, so saves of one lineage get consecutive versions. A failure of the
        whole call (the backend unreachable) is raised instead.
        """
        items = v.check_batch(checkpoints, expected_versions, self.limits)
        out: builtins.list[Checkpoint | CheckpointError | None] = [None] * len(items)
        valid: builtins.list[tuple[Checkpoint, int | None]] = []
        positions: builtins.list[int] = []
        for i, (checkpoint, expected) in enumerate(items):
            try:
                valid.append((self._prepared(checkpoint, expected), expected))
            except InvalidArgument as exc:
                out[i] = exc
                continue
            positions.append(i)
        if valid:
            for i, result in zip(positions, await self._save_many(valid), strict=True):
                out[i] = result
        return [r for r in out if r is not None]

    async def load(
        self, execution_id: str, checkpoint_id: str, *, namespace: str = ""
    ) -> Checkpoint:
        v.check_lineage(execution_id, namespace, self.limits)
        v.check_name(checkpoint_id, "checkpoint_id", self.limits)
        found = await self._load(execution_id, namespace, checkpoint_id)
        if found is None:
            raise NotFound(
                f"checkpoint {checkpoint_id!r} of execution {execution_id!r}"
                f"{_in_namespace(namespace)} does not exist"
            )
        return found

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        v.check_lineage(execution_id, namespace, self.limits)
        found = await self._latest(execution_id, namespace)
        if found is None:
            raise NotFound(
                f"execution {execution_id!r}{_in_namespace(namespace)} has no checkpoints"
            )
        return found

    async def list(
        self,
        execution_id: str,
        *,
        namespace: str = "",
        limit: int | None = None,
        page_token: str | None = None,
        before: str | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
    ) -> CheckpointPage:
        v.check_lineage(execution_id, namespace, self.limits)
        size = v.page_size(limit, self.limits)
        wanted = v.check_metadata_filter(metadata_filter, self.limits)
        below: int | None = None
        if page_token:
            below = _paging.decode(page_token, execution_id, namespace, wanted)
        elif before:
            v.check_name(before, "before", self.limits)
            below = await self._version_of(execution_id, namespace, before)
            if below is None:
                raise NotFound(
                    f"checkpoint {before!r} (before) of execution {execution_id!r}"
                    f"{_in_namespace(namespace)} does not exist"
                )
        items = await self._list(execution_id, namespace, below, size + 1, wanted)
        token = None
        if len(items) > size:
            items = items[:size]
            token = _paging.encode(execution_id, namespace, wanted, items[-1].version)
        return CheckpointPage(items, token)

    async def delete(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> bool:
        v.check_lineage(execution_id, namespace, self.limits)
        v.check_name(checkpoint_id, "checkpoint_id", self.limits)
        return await self._delete(execution_id, namespace, checkpoint_id)

    async def clear(self, execution_id: str, *, namespace: str | None = None) -> int:
        v.check_name(execution_id, "execution_id", self.limits)
        if namespace is not None:
            v.check_name(namespace, "namespace", self.limits, allow_empty=True)
        return await self._clear(execution_id, namespace)

    async def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        v.check_lineage(execution_id, namespace, self.limits)
        v.check_name(checkpoint_id, "checkpoint_id", self.limits)
        v.check_writes(writes, self.limits)
        # The last write for a key wins, as if the writes were applied one by one.
        unique = list({(w.task_id, w.idx): w for w in writes}.values())
        if not await self._put_writes(execution_id, namespace, checkpoint_id, unique):
            raise NotFound(
                f"checkpoint {checkpoint_id!r} of execution {execution_id!r}"
                f"{_in_namespace(namespace)} does not exist"
            )
        return len(unique)

    # -- what a backend implements ------------------------------------------------------

    @abstractmethod
    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        """Store atomically and return the stored checkpoint (without writes).

        In one atomic step: delete the lineage's expired checkpoints; if the id exists, answer with
        ``saved_or_conflict``; else ``check_cas`` against the latest live version; else
        store with ``version = latest + 1`` and ``created_at = self.now()``, then apply
        ``self.retention.max_checkpoints`` and drop expired checkpoints of the lineage.
        """

    async def _save_many(
        self, items: builtins.list[tuple[Checkpoint, int | None]]
    ) -> builtins.list[Checkpoint | CheckpointError]:
        """Store valid items (ids assigned) in order; one result or error per item.

        The default runs ``_save`` item by item. A backend with round trips to save
        overrides it to store a whole batch in one (``_batch.Coalescer`` also sends
        concurrent single saves here). Raise, rather than return, what failed the whole
        batch (a lost connection), so that callers retry it.
        """
        out: builtins.list[Checkpoint | CheckpointError] = []
        for checkpoint, expected in items:
            try:
                out.append(await self._save(checkpoint, expected))
            except CheckpointError as exc:
                if not _item_error(exc):
                    raise
                out.append(exc)
        return out

    @abstractmethod
    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        """The checkpoint with its pending writes (sorted by task_id, idx), or None."""

    @abstractmethod
    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        """The highest-version checkpoint with its pending writes, or None."""

    @abstractmethod
    async def _version_of(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> int | None:
        """The version of a checkpoint, or None when it does not exist."""

    @abstractmethod
    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
    ) -> builtins.list[Checkpoint]:
        """Up to ``limit`` matching checkpoints with version < below_version, newest first,
        without pending writes, reading no more than it needs."""

    @abstractmethod
    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        """Remove the checkpoint and its writes; False when it did not exist."""

    @abstractmethod
    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        """Remove checkpoints and writes of one namespace or all; return the count."""

    @abstractmethod
    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> bool:
        """Upsert writes by (task_id, idx); False when the checkpoint does not exist."""


# -- rules the backends share --------------------------------------------------------------


def saved_or_conflict(new: Checkpoint, stored: Checkpoint) -> Checkpoint:
    """The answer to saving ``new`` when its id is already ``stored``.

    The same content is a retry and returns what is stored; other content is a conflict.
    """
    if new.same_content(stored):
        return stored
    raise Conflict(
        f"checkpoint {new.checkpoint_id!r} of execution {new.execution_id!r}"
        f"{_in_namespace(new.namespace)} already exists with different content"
    )


def check_cas(checkpoint: Checkpoint, expected_version: int | None, latest_version: int) -> None:
    """Raise Conflict when compare-and-set was asked for and the lineage moved on."""
    if expected_version is not None and expected_version != latest_version:
        raise Conflict(
            f"expected version {expected_version} of execution {checkpoint.execution_id!r}"
            f"{_in_namespace(checkpoint.namespace)}, but the latest is {latest_version}"
        )


def _item_error(exc: CheckpointError) -> bool:
    """Whether an error belongs to one item of a batch (the backend answered about it),
    rather than to the whole call (unreachable, overloaded, a defect)."""
    return isinstance(exc, InvalidArgument | NotFound | Conflict)


def _in_namespace(namespace: str) -> str:
    return f" in namespace {namespace!r}" if namespace else ""
