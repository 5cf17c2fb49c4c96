"""LangGraph's checkpointer, over checkpoint-gateway: ``GatewaySaver``.

Install with the ``langgraph`` extra (``pip install "checkpoint-gateway-client[langgraph]"``).
Moving a graph from ``InMemorySaver()`` or ``PostgresSaver.from_conn_string(...)`` to the
gateway is one line::

    from checkpoint_client.langgraph import GatewaySaver

    with GatewaySaver("gateway:50051") as checkpointer:
        graph = builder.compile(checkpointer=checkpointer)

How LangGraph's model maps onto the gateway's:

- ``thread_id`` is the execution, ``checkpoint_ns`` the namespace, the checkpoint's id
  its ``checkpoint_id`` and the config's ``checkpoint_id`` (the one it follows) its
  ``parent_id``; metadata is stored as JSON, so ``list(filter=...)`` and
  ``delete_for_runs`` are served by the gateway's metadata index.
- Each channel value is a gateway channel, stored once per channel version: a save sends
  only the channels whose version changed (``new_versions``), as LangGraph's own savers
  store one blob per version; the rest of the checkpoint (versions seen, ids) is the
  state. Values go through the saver's serializer (``serde``), so
  ``EncryptedSerializer`` encrypts everything the gateway stores but metadata.
- Writes may reach the gateway before their checkpoint (``durability="async"``): the
  gateway keeps them and returns them with it. A regular write of a ``(task_id, idx)`` is
  stored once; an error, interrupt or resume write replaces the earlier one.
- ``get_delta_channel_history`` (``DeltaChannel``) is one call (``Ancestors``) for a page
  of ancestors, whatever the number of channels, instead of one per ancestor.

The saver has both the sync and the async methods. The async ones use a client on the
calling event loop (one per loop, made on first use); the sync ones a client on a private
loop thread, so they may be called from any thread. Both run the same code.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar, cast
from urllib.parse import quote, unquote

import grpc
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.base import (
    PendingWrite as LangGraphWrite,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from . import _models as m
from ._client import DEFAULT_SERVICE_CONFIG, DEFAULT_TIMEOUT, AsyncCheckpointClient
from ._errors import Conflict, NotFound
from ._store import CheckpointStore, iter_checkpoints
from ._sync import SyncCheckpointStore

__all__ = ["CONTENT_TYPE", "GatewaySaver"]

#: The media type of what the saver stores; ``serde`` names the serializer's type.
CONTENT_TYPE = "application/x-langgraph"
_SERDE = f"{CONTENT_TYPE};serde="
#: Listings go page by page; a page of this many checkpoints per call.
_PAGE = 100
#: Metadata keys a DeltaChannel leaves on the threads it is used in.
_DELTA_KEYS = ("counters_since_delta_snapshot", "delta_writes_versioned")

_R = TypeVar("_R")


def _content_type(kind: str) -> str:
    return _SERDE + quote(kind, safe="+-._")


def _kind(content_type: str) -> str:
    if not content_type.startswith(_SERDE):
        raise ValueError(
            f"not saved by a LangGraph saver (content type {content_type!r}): "
            "a thread written by other clients cannot be read as LangGraph state"
        )
    return unquote(content_type[len(_SERDE) :])


class GatewaySaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer that stores in a checkpoint-gateway.

    Args:
        target: the gateway, ``host:port`` or any gRPC target (``dns:///gateway:50051``).
        serde: the serializer for checkpoints, channel values and writes (LangGraph's
            ``JsonPlusSerializer`` by default; ``EncryptedSerializer`` works).
        timeout: deadline in seconds of each call to the gateway (``None``: none).
        credentials: TLS credentials (``grpc.ssl_channel_credentials(...)``).
        metadata: gRPC metadata sent with every call.
        token: a bearer token for the gateway, or a function returning the current one.
        call_credentials: per-call credentials (e.g. a plugin that refreshes a token);
            needs TLS ``credentials``.
        options: extra gRPC channel options.
        service_config: the client's retry policy (see ``AsyncCheckpointClient``).
        store: instead of ``target``: any async ``CheckpointStore`` (a client you built,
            or an in-process backend). The saver then has only its async methods.

    Example:
        >>> with GatewaySaver("127.0.0.1:50051") as saver:  # doctest: +SKIP
        ...     graph = builder.compile(checkpointer=saver)
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        serde: SerializerProtocol | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Sequence[tuple[str, str]] = (),
        token: str | Callable[[], str] | None = None,
        call_credentials: grpc.CallCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        service_config: Mapping[str, Any] | None = DEFAULT_SERVICE_CONFIG,
        store: CheckpointStore | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if (target is None) == (store is None):
            raise ValueError("give either a gateway target or a store")
        self._target = target
        self._client_options: dict[str, Any] = {
            "timeout": timeout,
            "credentials": credentials,
            "metadata": metadata,
            "token": token,
            "call_credentials": call_credentials,
            "options": options,
            "service_config": service_config,
        }
        self._store = store
        self._per_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncCheckpointClient
        ] = weakref.WeakKeyDictionary()
        self._sync: SyncCheckpointStore | None = None
        self._lock = threading.Lock()

    # -- the clients -----------------------------------------------------------------------

    def _new_client(self) -> AsyncCheckpointClient:
        assert self._target is not None
        return AsyncCheckpointClient(self._target, **self._client_options)

    def _async_store(self) -> CheckpointStore:
        if self._store is not None:
            return self._store
        loop = asyncio.get_running_loop()
        client = self._per_loop.get(loop)
        if client is None:
            client = self._per_loop[loop] = self._new_client()
        return client

    def _run(self, work: Callable[[CheckpointStore], Coroutine[Any, Any, _R]]) -> _R:
        """Run the async ``work`` for a sync method, on the private loop thread."""
        if self._target is None:
            raise RuntimeError(
                "a GatewaySaver built on a store has only async methods; "
                "give it a target to use the sync ones"
            )
        with self._lock:
            if self._sync is None:
                self._sync = SyncCheckpointStore(self._new_client)
            sync = self._sync
        return sync.run(work)

    def close(self) -> None:
        """Close the sync client and the clients of loops that are closed or this one."""
        with self._lock:
            sync, self._sync = self._sync, None
        if sync is not None:
            sync.close()

    async def aclose(self) -> None:
        """Close the client of the running loop (and the sync client)."""
        client = self._per_loop.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()
        await asyncio.to_thread(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- LangGraph values <-> gateway records ----------------------------------------------

    def _dump(self, value: Any) -> tuple[bytes, str]:
        kind, data = self.serde.dumps_typed(value)
        return data, _content_type(kind)

    def _load(self, data: bytes, content_type: str) -> Any:
        return self.serde.loads_typed((_kind(content_type), data))

    def _to_record(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
        *,
        every_value: bool = False,
        own_versions: bool = False,
    ) -> m.Checkpoint:
        """The gateway's record of a checkpoint. Channels the checkpoint changed
        (``new_versions``) carry their values, the others are references; with
        ``every_value`` all carry values, and with ``own_versions`` too, under versions
        of this checkpoint's own (see ``_put``)."""
        conf = config["configurable"]
        # Numbers, booleans and None stay in the state, as LangGraph's PostgresSaver keeps
        # them inline: a stored value of its own would cost more than it saves.
        values = checkpoint["channel_values"]
        inline = {k: v for k, v in values.items() if _inline(v)}
        rest = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        rest["channel_values"] = inline
        state, content_type = self._dump(rest)
        versions = checkpoint["channel_versions"]
        channels: dict[str, m.Channel] = {}
        for name, value in values.items():
            if name in inline:
                continue
            version = str(versions[name])
            if own_versions or every_value or name in new_versions:
                data, kind = self._dump(value)
                if own_versions:
                    version = f"{version}@{checkpoint['id']}"
                channels[name] = m.Channel(version, data, content_type=kind)
            else:
                channels[name] = m.Channel(version)
        return m.Checkpoint(
            conf["thread_id"],
            state,
            namespace=conf.get("checkpoint_ns", ""),
            checkpoint_id=checkpoint["id"],
            parent_id=conf.get("checkpoint_id") or "",
            content_type=content_type,
            metadata=_json_safe(get_serializable_checkpoint_metadata(config, metadata)),
            channels=channels,
        )

    def _writes(self, writes: Sequence[m.PendingWrite]) -> list[LangGraphWrite]:
        ordered = sorted(writes, key=lambda w: writes_sort_key(w.task_path, w.task_id, w.idx))
        return [(w.task_id, w.channel, self._load(w.value_bytes, w.content_type)) for w in ordered]

    def _to_tuple(self, record: m.Checkpoint) -> CheckpointTuple:
        checkpoint: Checkpoint = self._load(record.state_bytes, record.content_type)
        checkpoint["channel_values"] = {
            **checkpoint.get("channel_values", {}),
            **{
                name: self._load(ch.value_bytes or b"", ch.content_type)
                for name, ch in record.channels.items()
            },
        }
        return CheckpointTuple(
            config=_config(record.execution_id, record.namespace, record.checkpoint_id),
            checkpoint=checkpoint,
            metadata=cast(CheckpointMetadata, dict(record.metadata)),
            parent_config=(
                _config(record.execution_id, record.namespace, record.parent_id)
                if record.parent_id
                else None
            ),
            pending_writes=self._writes(record.pending_writes),
        )

    # -- the operations, once, async --------------------------------------------------------

    async def _get(self, store: CheckpointStore, config: RunnableConfig) -> CheckpointTuple | None:
        conf = config["configurable"]
        namespace = conf.get("checkpoint_ns", "")
        checkpoint_id = get_checkpoint_id(config)
        try:
            if checkpoint_id:
                record = await store.load(conf["thread_id"], checkpoint_id, namespace=namespace)
            else:
                record = await store.latest(conf["thread_id"], namespace=namespace)
        except NotFound:
            return None
        return self._to_tuple(record)

    async def _put(
        self,
        store: CheckpointStore,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        record = self._to_record(config, checkpoint, metadata, new_versions)
        try:
            await store.save(record)
        except NotFound:
            # A channel was sent as unchanged but its value is not stored in this lineage
            # (a checkpoint put by hand, or copied from elsewhere): send every value.
            record = self._to_record(config, checkpoint, metadata, new_versions, every_value=True)
            try:
                await store.save(record)
            except Conflict:
                await self._save_own_versions(store, config, checkpoint, metadata, new_versions)
        except Conflict:
            await self._save_own_versions(store, config, checkpoint, metadata, new_versions)
        conf = config["configurable"]
        return _config(conf["thread_id"], conf.get("checkpoint_ns", ""), checkpoint["id"])

    async def _save_own_versions(
        self,
        store: CheckpointStore,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> None:
        """Save a checkpoint that gives a stored channel version another value.

        LangGraph's own version numbers never do that (``get_next_version`` adds a random
        part), but a checkpoint put by hand may: the gateway keeps one value per version,
        so its values go under versions of its own and it reads back what it was given.
        (A checkpoint that then refers to that version without sending it gets the first
        value, as with LangGraph's PostgresSaver.) A conflict on the checkpoint id itself
        is raised again, as it should be.
        """
        record = self._to_record(config, checkpoint, metadata, new_versions, own_versions=True)
        await store.save(record)

    async def _put_writes(
        self,
        store: CheckpointStore,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> None:
        conf = config["configurable"]
        records = []
        for idx, (channel, value) in enumerate(writes):
            data, kind = self._dump(value)
            records.append(
                m.PendingWrite(
                    task_id,
                    WRITES_IDX_MAP.get(channel, idx),
                    channel,
                    data,
                    content_type=kind,
                    task_path=task_path,
                )
            )
        await store.put_writes(
            conf["thread_id"],
            conf["checkpoint_id"],
            records,
            namespace=conf.get("checkpoint_ns", ""),
        )

    async def _list(
        self,
        store: CheckpointStore,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> AsyncIterator[CheckpointTuple]:
        # The gateway filters on scalar values; other values (LangGraph compares any value
        # for equality) are checked here.
        served = {k: v for k, v in (filter or {}).items() if _scalar(v)}
        checked = {k: v for k, v in (filter or {}).items() if not _scalar(v)}
        before_id = get_checkpoint_id(before) if before else None
        records = self._records(store, config, served, before_id)
        left = limit
        async for record in records:
            if checked and not all(record.metadata.get(k) == v for k, v in checked.items()):
                continue
            if left is not None:
                if left <= 0:
                    break
                left -= 1
            yield self._to_tuple(record)

    async def _records(
        self,
        store: CheckpointStore,
        config: RunnableConfig | None,
        served: dict[str, Any],
        before_id: str | None,
    ) -> AsyncIterator[m.Checkpoint]:
        if config is None:
            # Every thread: LangGraph's `before` compares checkpoint ids.
            token: str | None = None
            while True:
                page = await store.search(served, limit=_PAGE, page_token=token, with_writes=True)
                for record in page.checkpoints:
                    if before_id is None or record.checkpoint_id < before_id:
                        yield record
                token = page.next_page_token
                if token is None:
                    return
        conf = config["configurable"]
        thread_id = conf["thread_id"]
        namespace = conf.get("checkpoint_ns")
        if checkpoint_id := get_checkpoint_id(config):
            try:
                record = await store.load(thread_id, checkpoint_id, namespace=namespace or "")
            except NotFound:
                return
            if all(record.metadata.get(k) == v for k, v in served.items()) and (
                before_id is None or checkpoint_id < before_id
            ):
                yield record
            return
        scope: dict[str, Any] = {
            "namespace": namespace or "",
            "page_size": _PAGE,
            "metadata_filter": served,
            "all_namespaces": namespace is None,
            "with_writes": True,
        }
        yielded = False
        try:
            async for record in iter_checkpoints(store, thread_id, before=before_id, **scope):
                yielded = True
                yield record
            return
        except NotFound:
            if before_id is None or yielded:
                raise
        # `before` is no checkpoint of this thread: LangGraph then compares ids.
        async for record in iter_checkpoints(store, thread_id, **scope):
            if record.checkpoint_id < before_id:
                yield record

    async def _prune(
        self, store: CheckpointStore, thread_ids: Sequence[str], strategy: str
    ) -> None:
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}; use 'keep_latest' or 'delete'")
        if strategy == "keep_latest":
            # As LangGraph's PostgresSaver does: keeping only the latest checkpoint of a
            # thread that uses a DeltaChannel would cut the history it rebuilds from.
            for thread_id in thread_ids:
                if await _uses_delta_channels(store, thread_id):
                    raise NotImplementedError(
                        f"keep_latest can't prune threads that use a DeltaChannel: {thread_id}"
                    )
        await store.prune(
            list(thread_ids), strategy="delete" if strategy == "delete" else "keep_latest"
        )

    async def _history(
        self, store: CheckpointStore, config: RunnableConfig, channels: Sequence[str]
    ) -> dict[str, DeltaChannelHistory]:
        if not channels:
            return {}
        conf = config["configurable"]
        thread_id, namespace = conf["thread_id"], conf.get("checkpoint_ns", "")
        collected: dict[str, list[LangGraphWrite]] = {c: [] for c in channels}
        seeds: dict[str, Any] = {}
        target = get_checkpoint_id(config)
        if not target:
            try:
                target = (await store.latest(thread_id, namespace=namespace)).checkpoint_id
            except NotFound:
                target = None
        token: str | None = None
        while target:
            try:
                page = await store.ancestors(
                    thread_id,
                    target,
                    namespace=namespace,
                    channels=list(channels),
                    page_token=token,
                    limit=1000,
                )
            except NotFound:
                break
            for record in page.checkpoints:  # newest first
                for write in reversed(self._writes(record.pending_writes)):
                    if write[1] in collected and write[1] not in seeds:
                        collected[write[1]].append(write)
                for name, ch in record.channels.items():
                    if name in collected and name not in seeds:
                        seeds[name] = self._load(ch.value_bytes or b"", ch.content_type)
            token = page.next_page_token
            if token is None:
                break
        result: dict[str, DeltaChannelHistory] = {}
        for name in channels:
            entry: DeltaChannelHistory = {"writes": list(reversed(collected[name]))}
            if name in seeds:
                entry["seed"] = seeds[name]
            result[name] = entry
        return result

    # -- BaseCheckpointSaver: async ---------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await self._get(self._async_store(), config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        async for item in self._list(self._async_store(), config, filter, before, limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await self._put(self._async_store(), config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._put_writes(self._async_store(), config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._async_store().clear(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        store = self._async_store()
        for run_id in run_ids:
            await store.delete_where({"run_id": run_id})

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        try:
            await self._async_store().copy_execution(source_thread_id, target_thread_id)
        except NotFound:
            return  # nothing to copy

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await self._prune(self._async_store(), thread_ids, strategy)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await self._history(self._async_store(), config, channels)

    # -- BaseCheckpointSaver: sync (the same coroutines, on the private loop) -------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._run(lambda store: self._get(store, config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        items: AsyncIterator[CheckpointTuple] | None = None

        async def step(store: CheckpointStore) -> tuple[bool, CheckpointTuple | None]:
            nonlocal items
            if items is None:
                items = self._list(store, config, filter, before, limit)
            try:
                return True, await anext(items)
            except StopAsyncIteration:
                return False, None

        while True:
            more, item = self._run(step)
            if not more:
                return
            assert item is not None
            yield item

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._run(lambda store: self._put(store, config, checkpoint, metadata, new_versions))

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._run(lambda store: self._put_writes(store, config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._run(lambda store: store.clear(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        async def work(store: CheckpointStore) -> None:
            for run_id in run_ids:
                await store.delete_where({"run_id": run_id})

        self._run(work)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        async def work(store: CheckpointStore) -> None:
            try:
                await store.copy_execution(source_thread_id, target_thread_id)
            except NotFound:
                return

        self._run(work)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        self._run(lambda store: self._prune(store, thread_ids, strategy))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return self._run(lambda store: self._history(store, config, channels))

    def get_next_version(self, current: str | None, channel: None) -> str:
        # As LangGraph's own savers: an increasing integer part, and a random fraction so
        # that two forks of one checkpoint never store different values under one version.
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(current.split(".")[0])
        return f"{number + 1:032}.{random.random():016}"


def _config(thread_id: str, namespace: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": namespace,
            "checkpoint_id": checkpoint_id,
        }
    }


def _inline(value: Any) -> bool:
    """Whether a channel value stays in the checkpoint's state: a number, a boolean or
    None (strings may be long: they are channels, stored once per version)."""
    return value is None or isinstance(value, bool | int | float)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _json_safe(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata as JSON holds it (tuples become lists), as LangGraph's PostgresSaver
    stores it; a value JSON cannot hold is an error, as it is there."""
    result: dict[str, Any] = json.loads(json.dumps(dict(metadata), ensure_ascii=False))
    return result


async def _uses_delta_channels(store: CheckpointStore, thread_id: str) -> bool:
    token: str | None = None
    while True:
        page = await store.namespaces(thread_id, page_token=token)
        for namespace in page.namespaces:
            try:
                latest = await store.latest(thread_id, namespace=namespace)
            except NotFound:
                continue
            if any(key in latest.metadata for key in _DELTA_KEYS):
                return True
        token = page.next_page_token
        if token is None:
            return False
