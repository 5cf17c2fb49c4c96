"""JSON Web Tokens, checked by PyJWT against a JWKS (a file, or a URL).

What is checked: the signature (asymmetric algorithms only, the key chosen by the
token's ``kid``), ``exp`` and ``nbf`` with a bounded clock skew (``leeway``), and ``iss``
and ``aud`` when they are configured (both are, in any real deployment). The principal
is the ``sub`` claim; its tenant and roles come from two claims (``tenant`` and
``roles`` by default; roles may be a list or a space-separated string, like ``scope``).

A JWKS file is read again when it changes (checked at most once a second); a JWKS URL
is fetched by PyJWT's client, which caches the keys and fetches again for an unknown
``kid`` (key rotation), off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWKClient, PyJWKSet

from .principals import ROLES, Principal, check_tenant
from .watched import WatchedFile

__all__ = ["ALGORITHMS", "InvalidToken", "JwtSettings", "JwtVerifier", "looks_like_jwt"]

log = logging.getLogger("checkpoint_gateway.auth")

#: Asymmetric only: a symmetric algorithm would let anyone who has the public key sign.
ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
MAX_LEEWAY = 300.0


class InvalidToken(Exception):
    """The token is not one this gateway accepts (the reason is for the log only)."""


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


@dataclass(frozen=True, slots=True)
class JwtSettings:
    """Where the keys are and what a token must say.

    Attributes:
        jwks_file: a JWKS document on disk.
        jwks_url: or one at a URL (https in production).
        issuer: the required ``iss``.
        audience: the required ``aud``.
        leeway: seconds of clock skew allowed on ``exp`` and ``nbf`` (at most 300).
        tenant_claim: the claim naming the tenant.
        roles_claim: the claim listing the roles.
    """

    jwks_file: str | None = None
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway: float = 30.0
    tenant_claim: str = "tenant"
    roles_claim: str = "roles"

    def __post_init__(self) -> None:
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("give a JWKS file or a JWKS URL (one of them)")
        if not 0 <= self.leeway <= MAX_LEEWAY:
            raise ValueError(f"the JWT leeway must be between 0 and {MAX_LEEWAY:g} seconds")


class _FileKeys:
    def __init__(self, path: str, clock: Callable[[], float]) -> None:
        self._file = WatchedFile(
            path,
            lambda text: PyJWKSet.from_dict(json.loads(text)),
            what="JWKS file",
            errors=(ValueError, jwt.PyJWTError),
            clock=clock,
        )
        self._seen = 0

    def changed(self) -> bool:
        """Whether the keys were reloaded since the last call (refreshing them first)."""
        self._file.current()
        changed = self._file.generation != self._seen
        self._seen = self._file.generation
        return changed

    def key(self, kid: str | None) -> Any:
        keys = self._file.current().keys
        if kid is None and len(keys) == 1:
            return keys[0].key
        for key in keys:
            if key.key_id == kid:
                return key.key
        raise InvalidToken(f"no key with kid {kid!r}")


class JwtVerifier:
    """Turns a JWT into a ``Principal``, or raises ``InvalidToken``.

    An agent sends the same token with every call until it expires, so a verified token
    is remembered (at most ``_CACHED`` of them) with its ``nbf`` and ``exp``: a call
    with it again costs a dictionary lookup and a time check, not a signature check. The
    memory is dropped whenever the keys change (a JWKS file reloaded).
    """

    _CACHED = 10_000

    def __init__(
        self, settings: JwtSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self._verified: dict[str, tuple[Principal, float, float]] = {}
        self._file = _FileKeys(settings.jwks_file, clock) if settings.jwks_file else None
        self._client = (
            PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300, timeout=5)
            if settings.jwks_url
            else None
        )

    async def verify(self, token: str) -> Principal:
        if self._file is not None and self._file.changed():
            self._verified.clear()
        known = self._verified.get(token)
        if known is not None:
            principal, not_before, expires = known
            now = time.time()
            leeway = self.settings.leeway
            if not_before - leeway <= now < expires + leeway:
                return principal
            del self._verified[token]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed: {exc}") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if self._file is not None:
            key = self._file.key(kid)
        else:
            assert self._client is not None
            try:
                # PyJWKClient fetches with urllib (blocking) when it has no such key yet.
                signing = await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)
            except jwt.PyJWTError as exc:
                raise InvalidToken(f"no signing key: {exc}") from None
            key = signing.key
        s = self.settings
        options = {"require": ["exp", "sub"], "verify_aud": s.audience is not None}
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway,
                options=options,  # type: ignore[arg-type]
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        principal = self._principal(claims)
        if len(self._verified) >= self._CACHED:
            self._verified.clear()
        nbf = claims.get("nbf")
        self._verified[token] = (
            principal,
            float(nbf) if isinstance(nbf, int | float) else float("-inf"),
            float(claims["exp"]),
        )
        return principal

    def _principal(self, claims: dict[str, Any]) -> Principal:
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 256:
            raise InvalidToken("sub must be a non-empty string")
        try:
            tenant = check_tenant(claims.get(self.settings.tenant_claim))
        except ValueError as exc:
            raise InvalidToken(f"claim {self.settings.tenant_claim!r}: {exc}") from None
        raw = claims.get(self.settings.roles_claim, [])
        if isinstance(raw, str):
            raw = raw.split()
        if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
            raise InvalidToken(f"claim {self.settings.roles_claim!r} must list roles")
        # Roles other than ours (a shared identity provider's) are ignored, not refused.
        roles = frozenset(r for r in raw if r in ROLES)
        return Principal(subject, tenant, roles)
