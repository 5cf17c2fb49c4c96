"""The gRPC servicer: requests in, store calls, responses out, errors mapped once.

Validation is done by the store chain (see ``backends._base``), so a request is checked by
exactly the same code whether it arrives over gRPC or from an in-process caller. This
layer turns protobuf into models (rejecting malformed JSON, ignoring the fields the
gateway sets), and exceptions into status codes: ``CheckpointError`` subclasses by their
``grpc_code``, anything else INTERNAL. What the caller reads is decided in
``caller_errors``: its own mistakes in full, the gateway's failures as a fixed sentence
with an error id; the details and any traceback go to the log, never on the wire.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
import grpc.aio

from checkpoint_client import (
    Checkpoint,
    CheckpointPage,
    CheckpointStore,
    InvalidArgument,
)
from checkpoint_client import _convert as c
from checkpoint_client._proto.checkpoint_gateway.v1 import checkpoint_pb2_grpc as pb_grpc

from . import context as call_context
from .caller_errors import answer
from .wire import SplitSave

_Req = TypeVar("_Req")
_Paged = TypeVar("_Paged", c.pb.ListResponse, c.pb.AncestorsResponse)
_One = TypeVar("_One", c.pb.LoadResponse, c.pb.LatestResponse)
_Resp = TypeVar("_Resp")
Handler = Callable[[Any, _Req, grpc.aio.ServicerContext[Any, Any]], Awaitable[_Resp]]

_RESPONSE_HEADROOM = 64 * 1024
_DEADLINE_MARGIN = 0.05  # seconds; at most 5% of the time the caller gave


def _rpc(handler: Handler[_Req, _Resp]) -> Handler[_Req, _Resp]:
    """Map exceptions raised by a handler to gRPC status codes, within the deadline.

    The client's deadline becomes ``context.deadline`` for the store chain (whose
    resilient layer also applies the server's own bound), and the handler is cancelled
    when it passes, so no store call outlives the RPC.
    """
    method = handler.__name__

    async def wrapper(
        self: Any, request: _Req, context: grpc.aio.ServicerContext[Any, Any]
    ) -> _Resp:
        # grpc-stubs says float, but grpc returns None when the client set no deadline.
        remaining: float | None = context.time_remaining()
        if remaining is None:
            token = call_context.deadline.set(None)
            scope = None
        else:
            # Stop a little before the caller does, so our DEADLINE_EXCEEDED reaches it
            # instead of racing its own expiry (a status sent after that fails in grpc).
            remaining = max(0.0, remaining - min(_DEADLINE_MARGIN, remaining / 20))
            deadline = time.monotonic() + remaining
            token = call_context.deadline.set(deadline)
            scope = asyncio.timeout(remaining)
            cancelling = call_context.cancelled_at.set(deadline)
        try:
            if scope is None:
                return await handler(self, request, context)
            async with scope:
                return await handler(self, request, context)
        except TimeoutError as exc:
            if scope is not None and scope.expired():
                code, details = grpc.StatusCode.DEADLINE_EXCEEDED, "the call's deadline passed"
            else:  # raised by the store, not by our deadline: a defect
                code, details = answer(exc, method)
        except Exception as exc:
            code, details = answer(exc, method)
        finally:
            call_context.deadline.reset(token)
            if scope is not None:
                call_context.cancelled_at.reset(cancelling)
        if context.done():
            # The call already ended (the caller's deadline passed, or it went away):
            # there is nobody to tell, and grpc would log the failed send as an error.
            raise asyncio.CancelledError
        await context.abort(code, details)
        raise AssertionError("unreachable: abort raises")

    wrapper.__name__ = method
    return wrapper


def _limit(page_size: int) -> int | None:
    if page_size < 0:
        raise InvalidArgument("page_size must not be negative")
    return page_size or None


def _answer_save(reply: c.pb.SaveResponse, saved: Checkpoint) -> None:
    """Fill a SaveResponse (alone, or one item of SaveMany) from what was stored."""
    reply.checkpoint_id = saved.checkpoint_id
    reply.version = saved.version
    c.datetime_to_pb(saved.created_at, reply.created_at)


class CheckpointServicer(pb_grpc.CheckpointServiceServicer):
    """Serves ``checkpoint_gateway.v1.CheckpointService`` from a ``CheckpointStore``.

    Args:
        store: the store chain to serve from.
        max_response_bytes: a List page is cut short so its response stays under this.
        max_json_length: metadata and metadata filters longer than this (in characters)
            are refused before they are parsed; the store checks the size that counts
            (``max_metadata_bytes``, as compact JSON) after.
        encoded_replies: the handlers' response serializers pass ``bytes`` through
            (``Gateway.start`` makes them so): replies carrying a large state are then
            encoded here, the state copied once (``_convert.checkpoint_field``), instead of
            into a message and again into its encoding.
    """

    def __init__(
        self,
        store: CheckpointStore,
        *,
        max_response_bytes: int,
        max_json_length: int | None = None,
        encoded_replies: bool = False,
    ) -> None:
        self._store = store
        self._max_response_bytes = max_response_bytes
        self._max_json_length = max_json_length
        self._encoded_replies = encoded_replies

    def _one(self, reply_type: Callable[..., _One], cp: Checkpoint) -> _One | bytes:
        """A reply of one checkpoint (Load, Latest: both are field 1)."""
        if self._encoded_replies and len(cp.state_bytes) >= c.SPLICE_THRESHOLD:
            return b"".join(c.checkpoint_field(cp))
        return reply_type(checkpoint=c.checkpoint_to_pb(cp))

    def _to_save(self, m: c.pb.Checkpoint, state: bytes | None = None) -> Checkpoint:
        """The checkpoint a Save asks to store. What the gateway sets (created_at, version,
        pending_writes) is ignored, not parsed: an old or careless client that echoes a
        loaded checkpoint back, or a hostile one, cannot fail the save with it."""
        return c.checkpoint_from_pb(
            m, stored_fields=False, max_metadata_length=self._max_json_length, state=state
        )

    @_rpc
    async def Save(self, request: c.pb.SaveRequest | SplitSave, context: Any) -> c.pb.SaveResponse:
        # A large request comes with its state taken out (wire.split_save_request).
        state = None
        if isinstance(request, SplitSave):
            state = request.state
            request = request.message
        checkpoint = self._to_save(request.checkpoint, state)
        expected = request.expected_version if request.HasField("expected_version") else None
        reply = c.pb.SaveResponse()
        _answer_save(reply, await self._store.save(checkpoint, expected_version=expected))
        return reply

    @_rpc
    async def SaveMany(self, request: c.pb.SaveManyRequest, context: Any) -> c.pb.SaveManyResponse:
        checkpoints: list[Checkpoint] = []
        expected: list[int | None] = []
        refused: dict[int, BaseException] = {}
        for i, item in enumerate(request.saves):
            try:
                checkpoints.append(self._to_save(item.checkpoint))
            except Exception as exc:  # malformed metadata (or a defect): this item only
                refused[i] = exc
                continue
            expected.append(item.expected_version if item.HasField("expected_version") else None)
        results = iter(await self._store.save_many(checkpoints, expected_versions=expected))
        reply = c.pb.SaveManyResponse()
        for i in range(len(request.saves)):
            result = refused.get(i) or next(results)
            out = reply.results.add()
            if isinstance(result, BaseException):
                code, details = answer(result, f"SaveMany item {i}")
                out.error.CopyFrom(c.pb.ItemError(code=code.value[0], message=details))
            else:
                _answer_save(out.saved, result)
        return reply

    @_rpc
    async def Load(self, request: c.pb.LoadRequest, context: Any) -> c.pb.LoadResponse | bytes:
        cp = await self._store.load(
            request.execution_id, request.checkpoint_id, namespace=request.namespace
        )
        return self._one(c.pb.LoadResponse, cp)

    @_rpc
    async def Latest(
        self, request: c.pb.LatestRequest, context: Any
    ) -> c.pb.LatestResponse | bytes:
        cp = await self._store.latest(request.execution_id, namespace=request.namespace)
        return self._one(c.pb.LatestResponse, cp)

    @_rpc
    async def List(self, request: c.pb.ListRequest, context: Any) -> c.pb.ListResponse | bytes:
        return await self._page(
            request.page_size,
            lambda limit: self._store.list(
                request.execution_id,
                namespace=request.namespace,
                limit=limit,
                page_token=request.page_token or None,
                before=request.before or None,
                metadata_filter=c.filter_from_json(request.metadata_filter, self._max_json_length),
                all_namespaces=request.all_namespaces,
                with_writes=request.include_writes,
            ),
            c.pb.ListResponse,
        )

    @_rpc
    async def Search(self, request: c.pb.SearchRequest, context: Any) -> c.pb.ListResponse | bytes:
        return await self._page(
            request.page_size,
            lambda limit: self._store.search(
                c.filter_from_json(request.metadata_filter, self._max_json_length),
                limit=limit,
                page_token=request.page_token or None,
                with_writes=request.include_writes,
            ),
            c.pb.ListResponse,
        )

    @_rpc
    async def Ancestors(
        self, request: c.pb.AncestorsRequest, context: Any
    ) -> c.pb.AncestorsResponse | bytes:
        return await self._page(
            request.page_size,
            lambda limit: self._store.ancestors(
                request.execution_id,
                request.checkpoint_id,
                namespace=request.namespace,
                include_self=request.include_self,
                channels=list(request.channels),
                include_state=request.include_state,
                limit=limit,
                page_token=request.page_token or None,
            ),
            c.pb.AncestorsResponse,
        )

    async def _page(
        self,
        page_size: int,
        fetch: Callable[[int | None], Awaitable[CheckpointPage]],
        reply_type: Callable[..., _Paged],
    ) -> _Paged | bytes:
        """One page of checkpoints as a reply that fits one message.

        Stores already stop a page before ``Limits.max_page_bytes``; should the encoded
        reply still be too large, the page is asked for again with the items that fit, so
        that its token comes from the store and stays consistent with what was sent.
        A page with a large state is encoded here (see ``encoded_replies``).
        """
        if page_size < 0:
            raise InvalidArgument("page_size must not be negative")
        limit = page_size or None
        while True:
            page = await fetch(limit)
            token = page.next_page_token or ""
            if self._encoded_replies and any(
                len(cp.state_bytes) >= c.SPLICE_THRESHOLD for cp in page.checkpoints
            ):
                fields: list[list[bytes]] = [c.checkpoint_field(cp) for cp in page.checkpoints]
                # The size of each checkpoint's encoding, as ByteSize() gives it.
                fits = self._fitting([sum(map(len, parts[1:])) for parts in fields])
                if fits == len(page.checkpoints):
                    tail = reply_type(next_page_token=token).SerializeToString()
                    return b"".join([*(p for parts in fields for p in parts), tail])
            else:
                reply = reply_type(
                    checkpoints=[c.checkpoint_to_pb(cp) for cp in page.checkpoints],
                    next_page_token=token,
                )
                fits = self._fitting([m.ByteSize() for m in reply.checkpoints])
                if fits == len(page.checkpoints):
                    return reply
            limit = fits

    def _fitting(self, sizes: Sequence[int]) -> int:
        """How many of the first checkpoints, of these encoded sizes, fit a reply."""
        budget = self._max_response_bytes - _RESPONSE_HEADROOM
        total = 0
        for i, size in enumerate(sizes):
            total += size + 8
            if total > budget:
                return max(i, 1)
        return len(sizes)

    @_rpc
    async def ListNamespaces(
        self, request: c.pb.ListNamespacesRequest, context: Any
    ) -> c.pb.ListNamespacesResponse:
        page = await self._store.namespaces(
            request.execution_id,
            limit=_limit(request.page_size),
            page_token=request.page_token or None,
        )
        return c.pb.ListNamespacesResponse(
            namespaces=page.namespaces, next_page_token=page.next_page_token or ""
        )

    @_rpc
    async def ListExecutions(
        self, request: c.pb.ListExecutionsRequest, context: Any
    ) -> c.pb.ListExecutionsResponse:
        page = await self._store.executions(
            limit=_limit(request.page_size), page_token=request.page_token or None
        )
        return c.pb.ListExecutionsResponse(
            executions=[c.execution_to_pb(info) for info in page.executions],
            next_page_token=page.next_page_token or "",
        )

    @_rpc
    async def DeleteWhere(
        self, request: c.pb.DeleteWhereRequest, context: Any
    ) -> c.pb.DeleteWhereResponse:
        deleted = await self._store.delete_where(
            c.filter_from_json(request.metadata_filter, self._max_json_length) or {},
            execution_id=request.execution_id if request.HasField("execution_id") else None,
        )
        return c.pb.DeleteWhereResponse(deleted=deleted)

    @_rpc
    async def CopyExecution(
        self, request: c.pb.CopyExecutionRequest, context: Any
    ) -> c.pb.CopyExecutionResponse:
        copied = await self._store.copy_execution(
            request.source_execution_id, request.target_execution_id
        )
        return c.pb.CopyExecutionResponse(copied=copied)

    @_rpc
    async def Prune(self, request: c.pb.PruneRequest, context: Any) -> c.pb.PruneResponse:
        deleted = await self._store.prune(
            list(request.execution_ids), strategy=c.prune_strategy_from_pb(request.strategy)
        )
        return c.pb.PruneResponse(deleted=deleted)

    @_rpc
    async def Delete(self, request: c.pb.DeleteRequest, context: Any) -> c.pb.DeleteResponse:
        deleted = await self._store.delete(
            request.execution_id, request.checkpoint_id, namespace=request.namespace
        )
        return c.pb.DeleteResponse(deleted=deleted)

    @_rpc
    async def Clear(self, request: c.pb.ClearRequest, context: Any) -> c.pb.ClearResponse:
        namespace = request.namespace if request.HasField("namespace") else None
        deleted = await self._store.clear(request.execution_id, namespace=namespace)
        return c.pb.ClearResponse(deleted=deleted)

    @_rpc
    async def PutWrites(
        self, request: c.pb.PutWritesRequest, context: Any
    ) -> c.pb.PutWritesResponse:
        writes = [c.write_from_pb(w) for w in request.writes]
        stored = await self._store.put_writes(
            request.execution_id, request.checkpoint_id, writes, namespace=request.namespace
        )
        return c.pb.PutWritesResponse(stored=stored)
