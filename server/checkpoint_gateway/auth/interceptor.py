"""The authentication interceptor: who calls, may they, and how much.

For every call to the checkpoint service (and to server reflection, when it is put
behind authentication), before the servicer runs:

1. **Who.** A bearer token (``authorization: Bearer <token>``): a JWT when it looks like
   one and JWTs are configured, else looked up (hashed) in the principals file. Without
   one, the client certificate's identities (SAN URIs such as a SPIFFE ID, the subject,
   ``CN=<common name>``) are looked up in the principals file. No credential, or one that
   matches nothing: UNAUTHENTICATED (the message does not say which check failed).
2. **May they.** Reads need the ``read`` role, changes ``write`` (``ROLE_OF``); otherwise
   PERMISSION_DENIED. A principal acts in its own tenant; an ``admin`` may name another
   with the ``x-checkpoint-tenant`` header (the only way across the wall), anyone else
   naming another tenant is PERMISSION_DENIED.
3. **How much.** The principal's calls in flight and per second (``limits``): over
   either, RESOURCE_EXHAUSTED with a ``retry-after-ms`` trailer.

Refusals are counted by reason (``checkpoint_gateway_auth_denied_total``,
``checkpoint_gateway_limited_total``) and logged with the principal's name, never the
credential. Health is never intercepted: probes carry no credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from .. import context as call_context
from .jwt import InvalidToken, JwtVerifier, looks_like_jwt
from .limits import Limiter
from .principals import Principal, PrincipalsFile

if TYPE_CHECKING:
    from ..metrics import Metrics

__all__ = ["ROLE_OF", "TENANT_HEADER", "AuthInterceptor", "Authenticator"]

log = logging.getLogger("checkpoint_gateway.auth")

_SERVICE = "/checkpoint_gateway.v1.CheckpointService/"
_READS = ("Load", "Latest", "List", "Search", "ListNamespaces", "ListExecutions", "Ancestors")
_WRITES = (
    "Save",
    "SaveMany",
    "PutWrites",
    "Delete",
    "Clear",
    "DeleteWhere",
    "CopyExecution",
    "Prune",
)
#: The role each method needs.
ROLE_OF: dict[str, str] = {
    **{_SERVICE + m: "read" for m in _READS},
    **{_SERVICE + m: "write" for m in _WRITES},
}
_REFLECTION = (
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
)
#: An admin acts on another tenant's data by naming it in this header.
TENANT_HEADER = "x-checkpoint-tenant"


class _Denied(Exception):
    def __init__(self, code: grpc.StatusCode, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class Authenticator:
    """Finds the principal of a call from its credentials.

    Args:
        principals: the principals file (tokens and certificate identities), if any.
        jwt: the JWT verifier, if JWTs are accepted.
    """

    def __init__(self, principals: PrincipalsFile | None, jwt: JwtVerifier | None) -> None:
        if principals is None and jwt is None:
            raise ValueError("an authenticator needs a principals file or JWT settings")
        self.principals = principals
        self.jwt = jwt

    async def authenticate(self, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        token = _bearer(context)
        if token is not None:
            if self.jwt is not None and looks_like_jwt(token):
                try:
                    return await self.jwt.verify(token)
                except InvalidToken as exc:
                    raise _Denied(
                        grpc.StatusCode.UNAUTHENTICATED, "invalid", f"JWT refused: {exc}"
                    ) from None
            found = self.principals.by_token(token) if self.principals else None
            if found is None:
                raise _Denied(grpc.StatusCode.UNAUTHENTICATED, "invalid", "unknown token")
            return found
        identities = _certificate_identities(context)
        if identities and self.principals is not None:
            found = self.principals.by_identities(identities)
            if found is not None:
                return found
            raise _Denied(
                grpc.StatusCode.UNAUTHENTICATED,
                "invalid",
                f"client certificate {identities[0]!r} names no principal",
            )
        raise _Denied(grpc.StatusCode.UNAUTHENTICATED, "missing", "no credentials")


def _bearer(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise _Denied(
                grpc.StatusCode.UNAUTHENTICATED, "invalid", "authorization is not a bearer token"
            )
    return None


def _certificate_identities(context: grpc.aio.ServicerContext[Any, Any]) -> list[str]:
    auth = context.auth_context()
    found: list[str] = []
    for key in ("peer_spiffe_id", "x509_subject_alternative_name", "x509_subject"):
        found += [v.decode(errors="replace") for v in auth.get(key, ())]
    found += [f"CN={v.decode(errors='replace')}" for v in auth.get("x509_common_name", ())]
    return list(dict.fromkeys(found))


def _authorize(principal: Principal, context: grpc.aio.ServicerContext[Any, Any], role: str) -> str:
    """The tenant the call acts in, or ``_Denied``."""
    if role and role not in principal.roles and "admin" not in principal.roles:
        raise _Denied(
            grpc.StatusCode.PERMISSION_DENIED,
            "role",
            f"principal {principal.name!r} lacks the {role!r} role this call needs",
        )
    asked = _tenant_asked(context)
    if asked is None or asked == principal.tenant:
        return principal.tenant
    if "admin" not in principal.roles:
        raise _Denied(
            grpc.StatusCode.PERMISSION_DENIED,
            "tenant",
            f"principal {principal.name!r} may not act in another tenant",
        )
    return asked


def _tenant_asked(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == TENANT_HEADER and isinstance(value, str):
            return value
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Authenticates, authorizes and limits every call to the checkpoint service.

    Args:
        authenticator: finds the principal.
        limiter: per-principal bounds.
        metrics: counts refusals (None: not counted).
        guard_reflection: also require a principal (any role) for server reflection.
    """

    def __init__(
        self,
        authenticator: Authenticator,
        limiter: Limiter,
        *,
        metrics: Metrics | None = None,
        guard_reflection: bool = True,
    ) -> None:
        self._authenticator = authenticator
        self._limiter = limiter
        self._metrics = metrics
        self._guard_reflection = guard_reflection

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        method: str = details.method
        handler = await continuation(details)
        if handler is None:
            return handler
        role = ROLE_OF.get(method)
        if role is None:
            if not (self._guard_reflection and method.startswith(_REFLECTION)):
                return handler
            role = ""  # any principal may look at the schema
        if handler.unary_unary is not None:
            inner: Any = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                principal = await self._admit(context, method, role)
                try:
                    return await inner(request, context)
                finally:
                    self._limiter.release(principal)
                    self._reset()

            return grpc.unary_unary_rpc_method_handler(
                unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None:
            stream: Any = handler.stream_stream

            async def streaming(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                principal = await self._admit(context, method, role)
                try:
                    async for reply in stream(requests, context):
                        yield reply
                finally:
                    self._limiter.release(principal)

            return grpc.stream_stream_rpc_method_handler(
                streaming,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    async def _admit(
        self, context: grpc.aio.ServicerContext[Any, Any], method: str, role: str
    ) -> Principal:
        """The call's principal, counted in; or abort the call with the refusal."""
        principal: Principal | None = None
        try:
            principal = await self._authenticator.authenticate(context)
            tenant = _authorize(principal, context, role)
            refusal = self._limiter.acquire(principal)
            if refusal is not None:
                if self._metrics is not None:
                    self._metrics.limited.labels(refusal.reason).inc()
                retry = max(1, round(refusal.retry_after * 1000))
                context.set_trailing_metadata((("retry-after-ms", str(retry)),))
                log.info(
                    "%s refused for %s: %s limit; retry after %d ms",
                    method,
                    principal.name,
                    refusal.reason,
                    retry,
                )
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"too many calls from this principal ({refusal.reason.replace('_', ' ')} "
                    f"limit); retry after {retry} ms",
                )
        except _Denied as denied:
            if self._metrics is not None:
                self._metrics.auth_denied.labels(denied.reason).inc()
            log.info(
                "%s refused for %s: %s",
                method,
                principal.name if principal else "an unauthenticated caller",
                denied,
            )
            message = (
                "authentication required: a valid bearer token or client certificate"
                if denied.code is grpc.StatusCode.UNAUTHENTICATED
                else str(denied)
            )
            await context.abort(denied.code, message)
        assert principal is not None
        call_context.principal_name.set(principal.name)
        call_context.tenant.set(tenant)
        return principal

    @staticmethod
    def _reset() -> None:
        call_context.principal_name.set(None)
        call_context.tenant.set("")
