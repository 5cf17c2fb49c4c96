"""The ``CheckpointStore`` interface every store implements.

In-process backends (``checkpoint_gateway.backends``), the gateway's own layers and the
gRPC client all implement it, so a program swaps a local store for the remote one by
changing the line that builds it.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol, Self, runtime_checkable

from ._errors import CheckpointError
from ._models import Checkpoint, CheckpointPage, ExecutionPage, NamespacePage, PendingWrite

__all__ = ["CheckpointStore", "PruneStrategy", "iter_checkpoints"]

#: ``keep_latest``: keep each namespace's newest checkpoint; ``delete``: remove everything.
PruneStrategy = Literal["keep_latest", "delete"]


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
        all_namespaces: bool = False,
        with_writes: bool = False,
    ) -> CheckpointPage:
        """Return one page of a lineage's checkpoints, newest first.

        Args:
            limit: page size; ``None`` for the store's default, values over its maximum are
                lowered to it. A page of large checkpoints may hold fewer.
            page_token: ``next_page_token`` of the previous page.
            before: only checkpoints older than this checkpoint id (``NotFound`` if unknown),
                looked up in ``namespace``.
            metadata_filter: only checkpoints whose metadata has each key with an equal
                scalar value.
            all_namespaces: every namespace of the execution, newest first by
                ``created_at`` (then namespace and version, descending).
            with_writes: fill each checkpoint's ``pending_writes``.
        """
        ...

    async def search(
        self,
        metadata_filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
        with_writes: bool = False,
    ) -> CheckpointPage:
        """Return one page of checkpoints across every execution and namespace, newest
        first (``created_at``, then execution, namespace and version, descending), whose
        metadata matches ``metadata_filter`` (all of them when it is empty)."""
        ...

    async def namespaces(
        self, execution_id: str, *, limit: int | None = None, page_token: str | None = None
    ) -> NamespacePage:
        """Return one page of the namespaces of an execution that hold checkpoints, in
        code point order (``""`` first)."""
        ...

    async def executions(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ExecutionPage:
        """Return one page of the executions that hold checkpoints, the most recently
        saved to first."""
        ...

    async def delete_where(
        self, metadata_filter: Mapping[str, Any], *, execution_id: str | None = None
    ) -> int:
        """Remove every checkpoint whose metadata matches (with its pending writes), in one
        execution or across all of them; return how many went. The filter must not be
        empty (``InvalidArgument``)."""
        ...

    async def copy_execution(self, source_execution_id: str, target_execution_id: str) -> int:
        """Copy an execution to a new id: every namespace, checkpoint (id, parent, version,
        created_at and channels kept) and pending write; return how many checkpoints.

        Raises ``NotFound`` when the source holds no checkpoints and ``Conflict`` when the
        target holds some. A reader never sees a half-done copy as a complete one.
        """
        ...

    async def prune(
        self, execution_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest"
    ) -> int:
        """Thin executions: keep each namespace's newest checkpoint (with its writes and
        channels), or delete everything; return how many checkpoints went."""
        ...

    async def ancestors(
        self,
        execution_id: str,
        checkpoint_id: str,
        *,
        namespace: str = "",
        include_self: bool = False,
        channels: Sequence[str] | None = None,
        include_state: bool = False,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> CheckpointPage:
        """Return one page of a checkpoint's parent chain, the parent first, each with its
        pending writes.

        Args:
            include_self: start with the checkpoint itself.
            channels: only these channels and their writes; the walk then ends at the
                first checkpoint by which each of them has been found in the channels of
                a returned checkpoint (what a LangGraph DeltaChannel replays onto).
            include_state: fill ``state`` (left empty otherwise).

        Raises ``NotFound`` when the starting checkpoint does not exist.
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
        """Attach pending writes to a checkpoint, saved already or not yet.

        Keyed by ``(task_id, idx)``: for ``idx >= 0`` the first write of a key wins (a
        retry changes nothing); a special write (``idx < 0``) replaces the earlier one.
        Writes of a checkpoint that is not saved yet are returned with it once it is.
        Returns how many distinct keys the call carried.
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
    all_namespaces: bool = False,
    with_writes: bool = False,
    before: str | None = None,
) -> AsyncIterator[Checkpoint]:
    """Yield every checkpoint of a lineage (or execution), newest first, one page in
    memory at a time; with ``before``, only those older than that checkpoint."""
    token: str | None = None
    while True:
        page = await store.list(
            execution_id,
            namespace=namespace,
            limit=page_size,
            page_token=token,
            before=before if token is None else None,
            metadata_filter=metadata_filter,
            all_namespaces=all_namespaces,
            with_writes=with_writes,
        )
        for checkpoint in page.checkpoints:
            yield checkpoint
        token = page.next_page_token
        if token is None:
            return
