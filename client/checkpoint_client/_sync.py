"""Blocking forms of any async store, without a second copy of its logic.

``SyncCheckpointStore`` runs an async ``CheckpointStore`` on a private event loop in a
background thread and forwards each call to it; ``CheckpointClient`` is that, around an
``AsyncCheckpointClient``. Safe to call from several threads at once.
"""

from __future__ import annotations

import asyncio
import builtins
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc

from ._client import DEFAULT_SERVICE_CONFIG, DEFAULT_TIMEOUT, AsyncCheckpointClient
from ._errors import CheckpointError
from ._models import Checkpoint, CheckpointPage, ExecutionPage, NamespacePage, PendingWrite
from ._store import CheckpointStore, PruneStrategy

__all__ = ["CheckpointClient", "SyncCheckpointStore"]

_R = TypeVar("_R")


class SyncCheckpointStore:
    """The blocking twin of a ``CheckpointStore``: same methods, same errors, no ``await``.

    Args:
        factory: builds the async store; it is called on the private loop's thread.
    """

    def __init__(self, factory: Callable[[], CheckpointStore]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="checkpoint-store-loop", daemon=True
        )
        self._thread.start()
        self._closed = False

        async def create() -> CheckpointStore:
            return factory()

        try:
            self._store = self._run(create())
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coro: Coroutine[Any, Any, _R]) -> _R:
        if self._closed:
            coro.close()
            raise RuntimeError("the store is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def run(self, work: Callable[[CheckpointStore], Coroutine[Any, Any, _R]]) -> _R:
        """Run ``work(store)`` on the private loop and return what it returns.

        For adapters that write their logic once, as coroutines over the async store, and
        offer it blocking too (``checkpoint_client.langgraph.GatewaySaver``).
        """
        return self._run(work(self._store))

    def save(self, checkpoint: Checkpoint, *, expected_version: int | None = None) -> Checkpoint:
        return self._run(self._store.save(checkpoint, expected_version=expected_version))

    def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        return self._run(self._store.save_many(checkpoints, expected_versions=expected_versions))

    def load(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> Checkpoint:
        return self._run(self._store.load(execution_id, checkpoint_id, namespace=namespace))

    def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        return self._run(self._store.latest(execution_id, namespace=namespace))

    def list(
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
        return self._run(
            self._store.list(
                execution_id,
                namespace=namespace,
                limit=limit,
                page_token=page_token,
                before=before,
                metadata_filter=metadata_filter,
                all_namespaces=all_namespaces,
                with_writes=with_writes,
            )
        )

    def iter_checkpoints(
        self,
        execution_id: str,
        *,
        namespace: str = "",
        page_size: int | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        all_namespaces: bool = False,
        with_writes: bool = False,
        before: str | None = None,
    ) -> Iterator[Checkpoint]:
        """Yield every checkpoint of a lineage (or execution), newest first, one page at a
        time; with ``before``, only those older than that checkpoint."""
        token: str | None = None
        while True:
            page = self.list(
                execution_id,
                namespace=namespace,
                limit=page_size,
                page_token=token,
                before=before if token is None else None,
                metadata_filter=metadata_filter,
                all_namespaces=all_namespaces,
                with_writes=with_writes,
            )
            yield from page.checkpoints
            token = page.next_page_token
            if token is None:
                return

    def search(
        self,
        metadata_filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
        with_writes: bool = False,
    ) -> CheckpointPage:
        return self._run(
            self._store.search(
                metadata_filter, limit=limit, page_token=page_token, with_writes=with_writes
            )
        )

    def namespaces(
        self, execution_id: str, *, limit: int | None = None, page_token: str | None = None
    ) -> NamespacePage:
        return self._run(self._store.namespaces(execution_id, limit=limit, page_token=page_token))

    def executions(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ExecutionPage:
        return self._run(self._store.executions(limit=limit, page_token=page_token))

    def delete_where(
        self, metadata_filter: Mapping[str, Any], *, execution_id: str | None = None
    ) -> int:
        return self._run(self._store.delete_where(metadata_filter, execution_id=execution_id))

    def copy_execution(self, source_execution_id: str, target_execution_id: str) -> int:
        return self._run(self._store.copy_execution(source_execution_id, target_execution_id))

    def prune(
        self, execution_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest"
    ) -> int:
        return self._run(self._store.prune(execution_ids, strategy=strategy))

    def ancestors(
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
        return self._run(
            self._store.ancestors(
                execution_id,
                checkpoint_id,
                namespace=namespace,
                include_self=include_self,
                channels=channels,
                include_state=include_state,
                limit=limit,
                page_token=page_token,
            )
        )

    def delete(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> bool:
        return self._run(self._store.delete(execution_id, checkpoint_id, namespace=namespace))

    def clear(self, execution_id: str, *, namespace: str | None = None) -> int:
        return self._run(self._store.clear(execution_id, namespace=namespace))

    def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        return self._run(
            self._store.put_writes(execution_id, checkpoint_id, writes, namespace=namespace)
        )

    def close(self) -> None:
        """Close the async store and stop the loop thread. Safe to call twice."""
        if self._closed:
            return
        try:
            self._run(self._store.close())
        finally:
            self._closed = True
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class CheckpointClient(SyncCheckpointStore):
    """The blocking gRPC client; takes the same arguments as ``AsyncCheckpointClient``.

    Example:
        >>> with CheckpointClient("127.0.0.1:50051") as store:  # doctest: +SKIP
        ...     store.save(Checkpoint("run-1", {"step": 1}))
    """

    def __init__(
        self,
        target: str,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Sequence[tuple[str, str]] = (),
        max_message_bytes: int = 64 * 1024 * 1024,
        options: Sequence[tuple[str, Any]] = (),
        service_config: Mapping[str, Any] | None = DEFAULT_SERVICE_CONFIG,
        token: str | Callable[[], str] | None = None,
        call_credentials: grpc.CallCredentials | None = None,
    ) -> None:
        self.target = target
        super().__init__(
            lambda: AsyncCheckpointClient(
                target,
                timeout=timeout,
                credentials=credentials,
                metadata=metadata,
                max_message_bytes=max_message_bytes,
                options=options,
                service_config=service_config,
                token=token,
                call_credentials=call_credentials,
            )
        )
