"""``AsyncCheckpointClient``: the gateway over gRPC, as a ``CheckpointStore``."""

from __future__ import annotations

import builtins
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

import grpc
import grpc.aio

from . import _convert as c
from ._errors import (
    CheckpointError,
    InternalError,
    InvalidArgument,
    Unavailable,
    error_for_code,
)
from ._ids import with_id
from ._models import (
    Checkpoint,
    CheckpointPage,
    ExecutionPage,
    NamespacePage,
    PendingWrite,
)
from ._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc
from ._store import CheckpointStore, PruneStrategy
from ._tracing import with_trace_context

__all__ = ["DEFAULT_SERVICE_CONFIG", "DEFAULT_TIMEOUT", "AsyncCheckpointClient"]

#: Seconds a call may take, retries included, unless the client is given another
#: ``timeout``: several times a healthy call's latency and the gateway's retries of a
#: backend blip, yet short enough that an agent learns of an outage while it can act.
DEFAULT_TIMEOUT = 10.0

#: gRPC service config: retry UNAVAILABLE only (the gateway is draining, restarting, or
#: its backend is down; nothing was done, or the call is idempotent by key), at most 4
#: attempts with randomized exponential backoff (0.1 s growing to 1 s), all within the
#: call's deadline; a retry budget (``retryThrottling``) stops retries once most calls
#: fail, so an outage is not multiplied by four. Other codes are never retried.
DEFAULT_SERVICE_CONFIG: Mapping[str, Any] = MappingProxyType(
    {
        "methodConfig": [
            {
                "name": [{"service": "checkpoint_gateway.v1.CheckpointService"}],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
        "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
    }
)

_MiB = 1024 * 1024

_R = TypeVar("_R")


class AsyncCheckpointClient(CheckpointStore):
    """A ``CheckpointStore`` that talks to a checkpoint-gateway.

    Args:
        target: ``host:port``, or any gRPC target such as ``dns:///gateway:50051``.
        timeout: deadline in seconds for each call, retries included (``None``: no
            deadline).
        credentials: TLS credentials (``grpc.ssl_channel_credentials(...)``); plaintext if None.
        metadata: sent with every call, e.g. ``[("x-team", "a")]``.
        token: a bearer token for the gateway's authentication, or a function that returns
            the current one (called for every call, so a token that is refreshed elsewhere,
            such as a short-lived JWT, is always the fresh one).
        call_credentials: gRPC call credentials (``grpc.metadata_call_credentials``...), for
            tokens a plugin refreshes; gRPC sends them over TLS (or local) channels only.
        max_message_bytes: largest message sent or received.
        options: extra gRPC channel options.
        service_config: gRPC service config (as a dict); the default retries UNAVAILABLE
            (see ``DEFAULT_SERVICE_CONFIG``); ``None`` turns client retries off. A
            ``grpc.service_config`` in ``options`` wins over it.

    Example:
        >>> async with AsyncCheckpointClient("127.0.0.1:50051") as store:  # doctest: +SKIP
        ...     saved = await store.save(Checkpoint("run-1", {"step": 1}))
    """

    def __init__(
        self,
        target: str,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        credentials: grpc.ChannelCredentials | None = None,
        metadata: Sequence[tuple[str, str]] = (),
        max_message_bytes: int = 64 * _MiB,
        options: Sequence[tuple[str, Any]] = (),
        service_config: Mapping[str, Any] | None = DEFAULT_SERVICE_CONFIG,
        token: str | Callable[[], str] | None = None,
        call_credentials: grpc.CallCredentials | None = None,
    ) -> None:
        channel_options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            *options,
        ]
        if service_config is not None and all(name != "grpc.service_config" for name, _ in options):
            channel_options.append(("grpc.service_config", json.dumps(dict(service_config))))
        if call_credentials is not None:
            if credentials is None:
                raise InvalidArgument("call_credentials need channel credentials (TLS)")
            credentials = grpc.composite_channel_credentials(credentials, call_credentials)
        if credentials is None:
            self._channel = grpc.aio.insecure_channel(target, options=channel_options)
        else:
            self._channel = grpc.aio.secure_channel(target, credentials, options=channel_options)
        self._stub = pb_grpc.CheckpointServiceStub(self._channel)  # type: ignore[no-untyped-call]
        # Save takes requests already encoded too (large states, see _convert.save_request).
        self._save = self._channel.unary_unary(
            _SAVE_METHOD,
            request_serializer=_serialize,
            response_deserializer=c.pb.SaveResponse.FromString,
        )
        self._timeout = timeout
        self._metadata = tuple(metadata)
        self._token = token
        self.target = target

    async def _call(self, method: Callable[..., Awaitable[_R]], build: Callable[[], Any]) -> _R:
        """Build the request (protobuf refuses what it cannot encode), call, map errors."""
        try:
            request = build()
        except (ValueError, TypeError) as exc:  # includes UnicodeEncodeError
            raise InvalidArgument(f"the request cannot be encoded: {exc}") from exc
        try:
            # The caller's trace goes along, so the gateway's spans join it.
            metadata = self._metadata
            if self._token is not None:
                token = self._token() if callable(self._token) else self._token
                metadata = (*metadata, ("authorization", f"Bearer {token}"))
            metadata = with_trace_context(metadata)
            return await method(request, timeout=self._timeout, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise _map_rpc_error(exc) from None

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        # The id is chosen here, not by the server, so that a retried call is idempotent.
        checkpoint = with_id(checkpoint)
        reply: c.pb.SaveResponse = await self._call(
            self._save, lambda: c.save_request(checkpoint, expected_version)
        )
        return _saved(checkpoint, reply)

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        if expected_versions is not None and len(expected_versions) != len(checkpoints):
            raise InvalidArgument(
                f"{len(expected_versions)} expected_versions for {len(checkpoints)} checkpoints"
            )
        # Ids chosen here, as for save: a retried call stores nothing twice.
        items = [with_id(cp) for cp in checkpoints]
        versions = expected_versions or [None] * len(items)
        if not items:
            return []
        reply = await self._call(
            self._stub.SaveMany,
            lambda: c.pb.SaveManyRequest(
                saves=[
                    c.pb.SaveRequest(checkpoint=c.checkpoint_to_pb(cp), expected_version=ev)
                    for cp, ev in zip(items, versions, strict=True)
                ]
            ),
        )
        if len(reply.results) != len(items):
            raise InternalError(
                f"the gateway answered {len(reply.results)} results for {len(items)} saves"
            )
        out: builtins.list[Checkpoint | CheckpointError] = []
        for cp, result in zip(items, reply.results, strict=True):
            if result.HasField("saved"):
                out.append(_saved(cp, result.saved))
            else:
                out.append(c.item_error_from_pb(result.error))
        return out

    async def load(
        self, execution_id: str, checkpoint_id: str, *, namespace: str = ""
    ) -> Checkpoint:
        reply = await self._call(
            self._stub.Load,
            lambda: c.pb.LoadRequest(
                execution_id=execution_id, namespace=namespace, checkpoint_id=checkpoint_id
            ),
        )
        return c.checkpoint_from_pb(reply.checkpoint)

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        reply = await self._call(
            self._stub.Latest,
            lambda: c.pb.LatestRequest(execution_id=execution_id, namespace=namespace),
        )
        return c.checkpoint_from_pb(reply.checkpoint)

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
        size = _page_size(limit)
        reply = await self._call(
            self._stub.List,
            lambda: c.pb.ListRequest(
                execution_id=execution_id,
                namespace=namespace,
                page_size=size,
                page_token=page_token or "",
                before=before or "",
                metadata_filter=c.filter_to_json(metadata_filter),
                all_namespaces=all_namespaces,
                include_writes=with_writes,
            ),
        )
        return _page(reply)

    async def search(
        self,
        metadata_filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
        with_writes: bool = False,
    ) -> CheckpointPage:
        size = _page_size(limit)
        reply = await self._call(
            self._stub.Search,
            lambda: c.pb.SearchRequest(
                metadata_filter=c.filter_to_json(metadata_filter),
                page_size=size,
                page_token=page_token or "",
                include_writes=with_writes,
            ),
        )
        return _page(reply)

    async def namespaces(
        self, execution_id: str, *, limit: int | None = None, page_token: str | None = None
    ) -> NamespacePage:
        size = _page_size(limit)
        reply = await self._call(
            self._stub.ListNamespaces,
            lambda: c.pb.ListNamespacesRequest(
                execution_id=execution_id, page_size=size, page_token=page_token or ""
            ),
        )
        return NamespacePage(list(reply.namespaces), reply.next_page_token or None)

    async def executions(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ExecutionPage:
        size = _page_size(limit)
        reply = await self._call(
            self._stub.ListExecutions,
            lambda: c.pb.ListExecutionsRequest(page_size=size, page_token=page_token or ""),
        )
        return ExecutionPage(
            [c.execution_from_pb(m) for m in reply.executions], reply.next_page_token or None
        )

    async def delete_where(
        self, metadata_filter: Mapping[str, Any], *, execution_id: str | None = None
    ) -> int:
        reply = await self._call(
            self._stub.DeleteWhere,
            lambda: c.pb.DeleteWhereRequest(
                metadata_filter=c.filter_to_json(metadata_filter), execution_id=execution_id
            ),
        )
        return int(reply.deleted)

    async def copy_execution(self, source_execution_id: str, target_execution_id: str) -> int:
        reply = await self._call(
            self._stub.CopyExecution,
            lambda: c.pb.CopyExecutionRequest(
                source_execution_id=source_execution_id, target_execution_id=target_execution_id
            ),
        )
        return int(reply.copied)

    async def prune(
        self, execution_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest"
    ) -> int:
        if isinstance(execution_ids, str):
            raise InvalidArgument("execution_ids must be a sequence of ids, not a string")
        reply = await self._call(
            self._stub.Prune,
            lambda: c.pb.PruneRequest(
                execution_ids=list(execution_ids), strategy=c.prune_strategy_to_pb(strategy)
            ),
        )
        return int(reply.deleted)

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
        if isinstance(channels, str):
            raise InvalidArgument("channels must be a sequence of names, not a string")
        size = _page_size(limit)
        reply = await self._call(
            self._stub.Ancestors,
            lambda: c.pb.AncestorsRequest(
                execution_id=execution_id,
                namespace=namespace,
                checkpoint_id=checkpoint_id,
                include_self=include_self,
                channels=list(channels or ()),
                include_state=include_state,
                page_size=size,
                page_token=page_token or "",
            ),
        )
        return _page(reply)

    async def delete(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> bool:
        reply = await self._call(
            self._stub.Delete,
            lambda: c.pb.DeleteRequest(
                execution_id=execution_id, namespace=namespace, checkpoint_id=checkpoint_id
            ),
        )
        return bool(reply.deleted)

    async def clear(self, execution_id: str, *, namespace: str | None = None) -> int:
        reply = await self._call(
            self._stub.Clear,
            lambda: c.pb.ClearRequest(execution_id=execution_id, namespace=namespace),
        )
        return int(reply.deleted)

    async def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        reply = await self._call(
            self._stub.PutWrites,
            lambda: c.pb.PutWritesRequest(
                execution_id=execution_id,
                namespace=namespace,
                checkpoint_id=checkpoint_id,
                writes=[c.write_to_pb(w) for w in writes],
            ),
        )
        return int(reply.stored)

    async def close(self) -> None:
        await self._channel.close(grace=None)


_SAVE_METHOD = "/{}/Save".format(c.pb.DESCRIPTOR.services_by_name["CheckpointService"].full_name)


def _serialize(request: Any) -> bytes:
    """A request message as protobuf encodes it; one already encoded, as it is."""
    if isinstance(request, bytes):
        return request
    encoded: bytes = request.SerializeToString()
    return encoded


def _saved(checkpoint: Checkpoint, reply: c.pb.SaveResponse) -> Checkpoint:
    """What the gateway stored for ``checkpoint``, from its answer to the save."""
    return checkpoint.replace(
        checkpoint_id=reply.checkpoint_id,
        version=reply.version,
        created_at=c.datetime_from_pb(reply.created_at),
        pending_writes=(),
        # As every store answers a save: channels as references (Load has the values).
        channels={name: ch.reference() for name, ch in checkpoint.channels.items()},
    )


def _page_size(limit: int | None) -> int:
    """A page size for a request: 0 for the gateway's default (which lowers larger ones)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidArgument("limit must be a positive integer")
    return min(limit or 0, 2**31 - 1)


def _page(reply: Any) -> CheckpointPage:
    return CheckpointPage(
        [c.checkpoint_from_pb(m) for m in reply.checkpoints], reply.next_page_token or None
    )


def _map_rpc_error(exc: grpc.aio.AioRpcError) -> CheckpointError:
    code = exc.code()
    name = code.name if code is not None else "UNKNOWN"
    if name == "CANCELLED":
        # Our own cancellations surface as asyncio.CancelledError, not as a status, so
        # this one came from the server or a proxy going away: retryable.
        return Unavailable(f"the call was cancelled by the server: {exc.details()}")
    return error_for_code(name)(exc.details() or name)
