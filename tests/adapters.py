"""Test adapter: drives the *sync* client through the async contract suite.

Each call runs the blocking method in a worker thread, so the suite's event loop (which
also runs the gateway under test) stays free to serve it. Real sync client, real wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    CheckpointPage,
    CheckpointStore,
    ExecutionPage,
    NamespacePage,
    PendingWrite,
    PruneStrategy,
    SyncCheckpointStore,
)


class SyncAsAsync(CheckpointStore):
    def __init__(self, sync: SyncCheckpointStore) -> None:
        self.sync = sync

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        return await asyncio.to_thread(
            self.sync.save, checkpoint, expected_version=expected_version
        )

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> list[Checkpoint | CheckpointError]:
        return await asyncio.to_thread(
            self.sync.save_many, checkpoints, expected_versions=expected_versions
        )

    async def load(
        self, execution_id: str, checkpoint_id: str, *, namespace: str = ""
    ) -> Checkpoint:
        return await asyncio.to_thread(
            self.sync.load, execution_id, checkpoint_id, namespace=namespace
        )

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        return await asyncio.to_thread(self.sync.latest, execution_id, namespace=namespace)

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
        return await asyncio.to_thread(
            self.sync.list,
            execution_id,
            namespace=namespace,
            limit=limit,
            page_token=page_token,
            before=before,
            metadata_filter=metadata_filter,
            all_namespaces=all_namespaces,
            with_writes=with_writes,
        )

    async def search(
        self,
        metadata_filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
        with_writes: bool = False,
    ) -> CheckpointPage:
        return await asyncio.to_thread(
            self.sync.search,
            metadata_filter,
            limit=limit,
            page_token=page_token,
            with_writes=with_writes,
        )

    async def namespaces(
        self, execution_id: str, *, limit: int | None = None, page_token: str | None = None
    ) -> NamespacePage:
        return await asyncio.to_thread(
            self.sync.namespaces, execution_id, limit=limit, page_token=page_token
        )

    async def executions(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ExecutionPage:
        return await asyncio.to_thread(self.sync.executions, limit=limit, page_token=page_token)

    async def delete_where(
        self, metadata_filter: Mapping[str, Any], *, execution_id: str | None = None
    ) -> int:
        return await asyncio.to_thread(
            self.sync.delete_where, metadata_filter, execution_id=execution_id
        )

    async def copy_execution(self, source_execution_id: str, target_execution_id: str) -> int:
        return await asyncio.to_thread(
            self.sync.copy_execution, source_execution_id, target_execution_id
        )

    async def prune(
        self, execution_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest"
    ) -> int:
        return await asyncio.to_thread(self.sync.prune, execution_ids, strategy=strategy)

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
        return await asyncio.to_thread(
            self.sync.ancestors,
            execution_id,
            checkpoint_id,
            namespace=namespace,
            include_self=include_self,
            channels=channels,
            include_state=include_state,
            limit=limit,
            page_token=page_token,
        )

    async def delete(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> bool:
        return await asyncio.to_thread(
            self.sync.delete, execution_id, checkpoint_id, namespace=namespace
        )

    async def clear(self, execution_id: str, *, namespace: str | None = None) -> int:
        return await asyncio.to_thread(self.sync.clear, execution_id, namespace=namespace)

    async def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        return await asyncio.to_thread(
            self.sync.put_writes, execution_id, checkpoint_id, writes, namespace=namespace
        )

    async def close(self) -> None:
        await asyncio.to_thread(self.sync.close)
