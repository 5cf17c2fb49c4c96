"""How a call's request is taken in: whole, parseable and in time, or refused.

grpc reads a unary call's request before any interceptor's or servicer's code runs, and
parses it with the method's deserializer. Two things go wrong there that the gateway
must answer itself:

- Bytes that are no valid message (a truncated field, invalid UTF-8 in a string): grpc
  answers UNKNOWN with the parser's exception in the status details ("Unexpected <class
  'google.protobuf.message.DecodeError'>...") and logs a traceback. Here the answer is
  INVALID_ARGUMENT, "the request is not a valid message for <method>", logged as any
  refused request is.
- A call that sends its headers and then nothing, or half a message: grpc waits for the
  rest as long as the client keeps the stream open, whatever the gateway's deadline.
  Here the wait is bounded by the call's deadline, the client's or the server's own
  (``--deadline-seconds``), whichever comes first; then DEADLINE_EXCEEDED.

``IntakeInterceptor`` goes first (outermost): it turns every handler of a unary request
into one of a streaming request, so that it, not grpc, reads the message, under a
timeout, with a deserializer that returns a ``Refused`` instead of raising.
``RefusalInterceptor`` goes last (innermost): it answers a ``Refused`` request with its
status. Everything between (drain, tracing, metrics, the failure log line) sees a
refused request as any other failed call. Handlers of streaming requests (reflection)
keep their own reading, with the same safe deserializer: a malformed message there ends
the stream with INVALID_ARGUMENT.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio

__all__ = ["IntakeInterceptor", "RefusalInterceptor", "Refused"]

_Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any]"]]


@dataclass(frozen=True, slots=True)
class Refused:
    """Stands in for a request that could not be taken in; answered with ``code``."""

    code: grpc.StatusCode
    details: str


def _safe(deserializer: Callable[[bytes], Any] | None, method: str) -> Callable[[bytes], Any]:
    malformed = Refused(
        grpc.StatusCode.INVALID_ARGUMENT, f"the request is not a valid message for {method}"
    )

    def parse(raw: bytes) -> Any:
        if deserializer is None:
            return raw
        try:
            return deserializer(raw)
        except Exception:  # DecodeError, and whatever else a parser may raise on garbage
            return malformed

    return parse


class IntakeInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Reads each unary request itself, within the call's deadline; see the module doc.

    Args:
        timeout: the server's own bound, in seconds, on the wait for a request message
            (None: only the client's deadline bounds it).
    """

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method
        parse = _safe(handler.request_deserializer, method)
        serialize = handler.response_serializer
        receive = self._receive
        if handler.unary_unary is not None:
            unary: Any = handler.unary_unary

            async def unary_behavior(requests: Any, context: Any) -> Any:
                return await unary(await receive(context), context)

            return grpc.stream_unary_rpc_method_handler(
                unary_behavior, request_deserializer=parse, response_serializer=serialize
            )
        if handler.unary_stream is not None:
            streaming: Any = handler.unary_stream
            if inspect.isasyncgenfunction(streaming):

                async def generate(requests: Any, context: Any) -> AsyncIterator[Any]:
                    async for response in streaming(await receive(context), context):
                        yield response

                behavior: Any = generate
            else:  # the reader/writer API: a coroutine that writes through the context

                async def write(requests: Any, context: Any) -> Any:
                    return await streaming(await receive(context), context)

                behavior = write
            return grpc.stream_stream_rpc_method_handler(
                behavior, request_deserializer=parse, response_serializer=serialize
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                _checked(handler.stream_unary),
                request_deserializer=parse,
                response_serializer=serialize,
            )
        return grpc.stream_stream_rpc_method_handler(
            _checked(handler.stream_stream),
            request_deserializer=parse,
            response_serializer=serialize,
        )

    async def _receive(self, context: Any) -> Any:
        """The request message, or a ``Refused`` saying why there is none."""
        bound = self._timeout
        remaining: float | None = context.time_remaining()
        if remaining is not None and (bound is None or remaining < bound):
            bound = remaining
        try:
            async with asyncio.timeout(bound):
                request = await context.read()
        except TimeoutError:
            return Refused(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"no request message arrived within the call's deadline ({bound:.3g} s)",
            )
        if request is grpc.aio.EOF:  # type: ignore[attr-defined]  # not in grpc-stubs
            return Refused(grpc.StatusCode.INVALID_ARGUMENT, "the call carried no request message")
        return request


def _checked(behavior: Any) -> Any:
    """A streaming-request behaviour whose requests end the call at the first refused one."""

    async def requests(iterator: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        async for request in iterator:
            if isinstance(request, Refused):
                await context.abort(request.code, request.details)
            yield request

    if inspect.isasyncgenfunction(behavior):

        async def generate(iterator: Any, context: Any) -> AsyncIterator[Any]:
            async for response in behavior(requests(iterator, context), context):
                yield response

        return generate

    async def call(iterator: Any, context: Any) -> Any:
        return await behavior(requests(iterator, context), context)

    return call


class RefusalInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Answers a ``Refused`` request (see ``IntakeInterceptor``) with its status."""

    async def intercept_service(
        self, continuation: _Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        if handler.unary_unary is not None:
            unary: Any = handler.unary_unary

            async def unary_behavior(request: Any, context: Any) -> Any:
                if isinstance(request, Refused):
                    await _refuse(request, context)
                return await unary(request, context)

            return grpc.unary_unary_rpc_method_handler(
                unary_behavior,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            streaming: Any = handler.unary_stream
            if inspect.isasyncgenfunction(streaming):

                async def generate(request: Any, context: Any) -> AsyncIterator[Any]:
                    if isinstance(request, Refused):
                        await _refuse(request, context)
                    async for response in streaming(request, context):
                        yield response

                behavior: Any = generate
            else:

                async def write(request: Any, context: Any) -> Any:
                    if isinstance(request, Refused):
                        await _refuse(request, context)
                    return await streaming(request, context)

                behavior = write
            return grpc.unary_stream_rpc_method_handler(
                behavior,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


async def _refuse(refused: Refused, context: Any) -> None:
    if context.done():
        # The call already ended (the client's deadline passed, or it went away).
        raise asyncio.CancelledError
    await context.abort(refused.code, refused.details)
