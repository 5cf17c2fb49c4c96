"""The ``CheckpointStore`` interface every store implements.

In-process backends (``checkpoint_gateway.backends``), the gateway's own layers and the
gRPC client all implement it, so a program swaps a local store for the remote one by
changing the line that builds it.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from ._errors import CheckpointError
from ._models import Checkpoint, CheckpointPage, PendingWrite

__all__ = ["CheckpointStore", "iter_checkpoints"]


@runtime_checkable
class CheckpointStore(Protocol):
    """Async storage of checkpoints, addressed by (execution_id, namespace, checkpoint_id).

    Within one lineage ``(execution_id, namespace)`` each saved checkpoint gets the next
    version, starting at 1; "latest" is the highest version and listings are newest first.
    Every method raises a subclass of ``CheckpointError`` on failure.
    """

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        """Store a checkpoint and return it with ``checkpoint_id``, ``version``, ``created_at``.

        Saving an id that exists with the same content returns the stored checkpoint (a
        retry is a no-op); with different content it raises ``Conflict``.

        Args:
            checkpoint: what to store; an empty ``checkpoint_id`` gets a new UUIDv7.
            expected_version: compare-and-set: save only if the lineage's latest version is
                this (0 = the lineage is empty), else raise ``Conflict`` and write nothing.
        """
        ...

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        """Save several checkpoints in one call, in order, each on its own.

        Returns one entry per checkpoint, in order: the stored checkpoint (as ``save``
        returns it), or the error ``save`` would have raised for that item (an
        ``InvalidArgument``, a ``Conflict``...). Saves of one lineage get consecutive
        versions in order. Raises only when the call as a whole fails: more items than
        the store's limit (``InvalidArgument``), or the backend unreachable.

        Args:
            checkpoints: what to store; empty ids get new UUIDv7s.
            expected_versions: one compare-and-set version (or None) per checkpoint.
        """
        ...

    async def load(
        self, execution_id: str, checkpoint_id: str, *, namespace: str = ""
    ) -> Checkpoint:
        """Return one checkpoint with its pending writes, or raise ``NotFound``."""
        ...

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        """Return a lineage's newest checkpoint with its pending writes, or raise ``NotFound``."""
        ...

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
        """Return one page of a lineage's checkpoints, newest first.

        Args:
            limit: page size; ``None`` for the store's default, values over its maximum are
                lowered to it.
            page_token: ``next_page_token`` of the previous page.
            before: only checkpoints older than this checkpoint id (``NotFound`` if unknown).
            metadata_filter: only checkpoints whose metadata has each key with an equal
                scalar value.
        """
        ...

    async def delete(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> bool:
        """Remove one checkpoint and its writes; ``False`` when it did not exist."""
        ...

    async def clear(self, execution_id: str, *, namespace: str | None = None) -> int:
        """Remove an execution's checkpoints (one namespace, or all if None); return the count."""
        ...

    async def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        """Attach pending writes to a checkpoint; a ``(task_id, idx)`` seen before is replaced.

        Raises ``NotFound`` when the checkpoint does not exist. Returns how many were stored.
        """
        ...

    async def close(self) -> None:
        """Release connections and files. The store is unusable afterwards."""
        ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def iter_checkpoints(
    store: CheckpointStore,
    execution_id: str,
    *,
    namespace: str = "",
    page_size: int | None = None,
    metadata_filter: Mapping[str, Any] | None = None,
) -> AsyncIterator[Checkpoint]:
    """Yield every checkpoint of a lineage, newest first, one page in memory at a time."""
    token: str | None = None
    while True:
        page = await store.list(
            execution_id,
            namespace=namespace,
            limit=page_size,
            page_token=token,
            metadata_filter=metadata_filter,
        )
        for checkpoint in page.checkpoints:
            yield checkpoint
        token = page.next_page_token
        if token is None:
            return
