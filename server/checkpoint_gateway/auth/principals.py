"""Principals: who a caller is, their tenant and roles, and the file that names them.

The principals file (``--auth-principals-file``, YAML or JSON) lists each principal with
the hashes of its bearer tokens and the identities of its client certificates::

    principals:
      - name: team-a-agents            # in logs and metrics; never a token
        tenant: team-a                 # the wall: a tenant sees only its own data
        roles: [read, write]           # read, write, admin
        tokens:
          - sha256:5e8848...           # checkpoint-gateway token prints a token and this
        certificates:
          - spiffe://example.org/ns/team-a/sa/agent   # a SAN URI, or
          - CN=agent-a                 # the subject (as grpc prints it) or CN=<common name>
        limits: {in_flight: 64, requests_per_second: 500}   # optional, per principal

Tokens are stored hashed (SHA-256 of the token: tokens are long random secrets, so a
hash is enough, and a leaked file gives none away). The file is read again when it
changes (its modification time and size are checked at most once a second), so tokens
are added and revoked without a restart; a file that fails to parse keeps the previous
principals and is logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .watched import WatchedFile

__all__ = [
    "ROLES",
    "Limits",
    "Principal",
    "PrincipalsFile",
    "PrincipalsFileError",
    "check_tenant",
    "hash_token",
    "metrics_authorizer",
    "new_token",
]

log = logging.getLogger("checkpoint_gateway.auth")

ROLES = frozenset({"read", "write", "admin", "metrics"})
_TENANT = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}")


class PrincipalsFileError(ValueError):
    """The principals file is malformed (the message names the entry and the field)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-principal bounds; None: the gateway's default."""

    in_flight: int | None = None
    requests_per_second: float | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    Attributes:
        name: who it is (logged; for a JWT, its subject).
        tenant: the data it may reach.
        roles: ``read``, ``write``, ``admin``.
        limits: its own bounds, if the principals file gives them.
    """

    name: str
    tenant: str
    roles: frozenset[str]
    limits: Limits = field(default_factory=Limits)


def check_tenant(value: object) -> str:
    """A tenant name: 1-63 lowercase letters, digits and dashes (no leading or trailing
    dash), so that it can prefix an execution id unambiguously."""
    if not isinstance(value, str) or not _TENANT.fullmatch(value):
        raise ValueError(
            f"tenant {value!r} must be 1-63 lowercase letters, digits and dashes, "
            "not starting or ending with a dash"
        )
    return value


def hash_token(token: str) -> str:
    """How the principals file stores a token: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A new bearer token: 256 random bits, URL-safe."""
    return "cpg_" + secrets.token_urlsafe(32)


def _roles(value: object, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise PrincipalsFileError(f"{where}: roles must be a list of {sorted(ROLES)}")
    unknown = set(value) - ROLES
    if unknown:
        raise PrincipalsFileError(f"{where}: unknown roles {sorted(unknown)}; use {sorted(ROLES)}")
    return frozenset(value)


def _limits(value: object, where: str) -> Limits:
    if value is None:
        return Limits()
    if not isinstance(value, Mapping) or set(value) - {"in_flight", "requests_per_second"}:
        raise PrincipalsFileError(f"{where}: limits takes in_flight and requests_per_second")
    in_flight = value.get("in_flight")
    rate = value.get("requests_per_second")
    if in_flight is not None and (not isinstance(in_flight, int) or in_flight < 1):
        raise PrincipalsFileError(f"{where}: limits.in_flight must be a positive integer")
    if rate is not None and (not isinstance(rate, int | float) or rate <= 0):
        raise PrincipalsFileError(f"{where}: limits.requests_per_second must be positive")
    return Limits(in_flight, None if rate is None else float(rate))


@dataclass(frozen=True)
class _Index:
    by_token: dict[str, Principal]
    by_identity: dict[str, Principal]
    count: int


def parse(text: str) -> _Index:
    """Parse a principals file (YAML, of which JSON is a subset)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PrincipalsFileError(f"not valid YAML: {exc}") from None
    if not isinstance(doc, Mapping) or not isinstance(doc.get("principals"), list):
        raise PrincipalsFileError("the file must hold a list under 'principals'")
    by_token: dict[str, Principal] = {}
    by_identity: dict[str, Principal] = {}
    names: set[str] = set()
    for i, entry in enumerate(doc["principals"]):
        where = f"principals[{i}]"
        if not isinstance(entry, Mapping):
            raise PrincipalsFileError(f"{where} must be a mapping")
        extra = set(entry) - {"name", "tenant", "roles", "tokens", "certificates", "limits"}
        if extra:
            raise PrincipalsFileError(f"{where}: unknown fields {sorted(extra)}")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise PrincipalsFileError(f"{where}: name must be 1-128 of A-Za-z0-9_.:@/-")
        if name in names:
            raise PrincipalsFileError(f"{where}: principal {name!r} appears twice")
        names.add(name)
        try:
            tenant = check_tenant(entry.get("tenant"))
        except ValueError as exc:
            raise PrincipalsFileError(f"{where}: {exc}") from None
        principal = Principal(
            name, tenant, _roles(entry.get("roles"), where), _limits(entry.get("limits"), where)
        )
        for token in entry.get("tokens") or []:
            if not isinstance(token, str) or not _HASH.fullmatch(token):
                raise PrincipalsFileError(
                    f"{where}: tokens are stored hashed, as sha256:<64 hex digits> "
                    "(checkpoint-gateway token prints one)"
                )
            if token in by_token:
                raise PrincipalsFileError(f"{where}: a token hash appears twice")
            by_token[token] = principal
        for identity in entry.get("certificates") or []:
            if not isinstance(identity, str) or not identity or len(identity) > 1024:
                raise PrincipalsFileError(f"{where}: certificates must be identity strings")
            if identity in by_identity:
                raise PrincipalsFileError(f"{where}: certificate identity {identity!r} twice")
            by_identity[identity] = principal
    return _Index(by_token, by_identity, len(names))


class PrincipalsFile:
    """The principals file, read again when it changes (see ``watched``).

    Args:
        path: the file.
        clock: monotonic time, for the once-a-second change check (tests inject one).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, clock: Callable[[], float] = time.monotonic
    ):
        self._file = WatchedFile(
            path,
            parse,
            what="principals file",
            errors=(PrincipalsFileError,),
            describe=lambda index: f"{index.count} principals",
            clock=clock,
        )
        self.path = self._file.path
        log.info("principals file: %d principals", self._file.current().count)

    def _current(self) -> _Index:
        return self._file.current()

    def by_token(self, token: str) -> Principal | None:
        return self._current().by_token.get(hash_token(token))

    def by_identities(self, identities: list[str]) -> Principal | None:
        index = self._current()
        for identity in identities:
            found = index.by_identity.get(identity)
            if found is not None:
                return found
        return None


def metrics_authorizer(path: str | os.PathLike[str]) -> Callable[[str], bool]:
    """Whether a bearer token may scrape /metrics: one of a principal with the ``metrics``
    (or ``admin``) role in the principals file at ``path``."""
    principals = PrincipalsFile(path)

    def authorize(token: str) -> bool:
        found = principals.by_token(token)
        return found is not None and bool(found.roles & {"metrics", "admin"})

    return authorize


def dump_example(principal: str, tenant: str, roles: list[str], token: str) -> str:
    """The principals-file entry for a new token (what ``checkpoint-gateway token``
    prints)."""
    entry: dict[str, Any] = {
        "name": principal,
        "tenant": tenant,
        "roles": roles,
        "tokens": [hash_token(token)],
    }
    return json.dumps({"principals": [entry]}, indent=2)
