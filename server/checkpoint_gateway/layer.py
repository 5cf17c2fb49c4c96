"""The base of the gateway's wrapping layers (see ``chain``).

A layer is a ``CheckpointStore`` around another one. Every method here forwards to the
inner store through one hook, ``_call``, so a layer says what it adds to a call (retries,
metrics, spans) once, instead of re-spelling each method of the interface.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    CheckpointPage,
    CheckpointStore,
    ExecutionPage,
    NamespacePage,
    PendingWrite,
    PruneStrategy,
)

_R = TypeVar("_R")


class StoreLayer(CheckpointStore):
    """A store that wraps ``inner`` and routes every call through ``_call``.

    Args:
        inner: the store this layer wraps.
    """

    def __init__(self, inner: CheckpointStore) -> None:
        self._inner = inner

    async def _call(
        self, operation: str, execution_id: str, call: Callable[[], Awaitable[_R]]
    ) -> _R:
        """Run one call to the inner store. ``call`` may be invoked more than once (a
        retry), so it makes a fresh coroutine each time. The default just runs it."""
        return await call()

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        return await self._call(
            "save",
            checkpoint.execution_id,
            lambda: self._inner.save(checkpoint, expected_version=expected_version),
        )

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        return await self._call(
            "save_many",
            checkpoints[0].execution_id if checkpoints else "",
            lambda: self._inner.save_many(checkpoints, expected_versions=expected_versions),
        )

    async def load(
        self, execution_id: str, checkpoint_id: str, *, namespace: str = ""
    ) -> Checkpoint:
        return await self._call(
            "load",
            execution_id,
            lambda: self._inner.load(execution_id, checkpoint_id, namespace=namespace),
        )

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        return await self._call(
            "latest", execution_id, lambda: self._inner.latest(execution_id, namespace=namespace)
        )

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
        return await self._call(
            "list",
            execution_id,
            lambda: self._inner.list(
                execution_id,
                namespace=namespace,
                limit=limit,
                page_token=page_token,
                before=before,
                metadata_filter=metadata_filter,
                all_namespaces=all_namespaces,
                with_writes=with_writes,
            ),
        )

    async def search(
        self,
        metadata_filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
        with_writes: bool = False,
    ) -> CheckpointPage:
        return await self._call(
            "search",
            "",
            lambda: self._inner.search(
                metadata_filter, limit=limit, page_token=page_token, with_writes=with_writes
            ),
        )

    async def namespaces(
        self, execution_id: str, *, limit: int | None = None, page_token: str | None = None
    ) -> NamespacePage:
        return await self._call(
            "namespaces",
            execution_id,
            lambda: self._inner.namespaces(execution_id, limit=limit, page_token=page_token),
        )

    async def executions(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ExecutionPage:
        return await self._call(
            "executions", "", lambda: self._inner.executions(limit=limit, page_token=page_token)
        )

    async def delete_where(
        self, metadata_filter: Mapping[str, Any], *, execution_id: str | None = None
    ) -> int:
        return await self._call(
            "delete_where",
            execution_id or "",
            lambda: self._inner.delete_where(metadata_filter, execution_id=execution_id),
        )

    async def copy_execution(self, source_execution_id: str, target_execution_id: str) -> int:
        return await self._call(
            "copy_execution",
            source_execution_id,
            lambda: self._inner.copy_execution(source_execution_id, target_execution_id),
        )

    async def prune(
        self, execution_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest"
    ) -> int:
        return await self._call(
            "prune", "", lambda: self._inner.prune(execution_ids, strategy=strategy)
        )

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
        return await self._call(
            "ancestors",
            execution_id,
            lambda: self._inner.ancestors(
                execution_id,
                checkpoint_id,
                namespace=namespace,
                include_self=include_self,
                channels=channels,
                include_state=include_state,
                limit=limit,
                page_token=page_token,
            ),
        )

    async def delete(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> bool:
        return await self._call(
            "delete",
            execution_id,
            lambda: self._inner.delete(execution_id, checkpoint_id, namespace=namespace),
        )

    async def clear(self, execution_id: str, *, namespace: str | None = None) -> int:
        return await self._call(
            "clear", execution_id, lambda: self._inner.clear(execution_id, namespace=namespace)
        )

    async def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        return await self._call(
            "put_writes",
            execution_id,
            lambda: self._inner.put_writes(
                execution_id, checkpoint_id, writes, namespace=namespace
            ),
        )

    async def close(self) -> None:
        await self._inner.close()
