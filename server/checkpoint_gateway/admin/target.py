"""Where an admin command finds the checkpoints: a running gateway, or the store itself.

    --target HOST:PORT   a gateway, over gRPC with the Python client (TLS, a bearer token
                         and an admin's ``--tenant``); the gateway enforces roles and
                         tenants, so a command can do only what its token may
    --backend URL        the store itself, opened in this process (``open_backend``), with
                         ``--backend-setting postgres-schema=...`` for its settings

Both are a ``CheckpointStore``, so every command is written once against that interface.
The variables ``CHECKPOINT_GATEWAY_TARGET``, ``CHECKPOINT_GATEWAY_TOKEN`` and
``CHECKPOINT_GATEWAY_TLS_CA`` stand in for their flags (a token on the command line is
visible to other users of the machine: prefer the variable).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc

from checkpoint_client import AsyncCheckpointClient, CheckpointStore

from .. import config
from .. import context as call_context
from ..auth.interceptor import TENANT_HEADER
from ..backends._paging import PageTokens
from ..secrets import mask_url, redact
from ..tenancy import TENANT_ID_ROOM, TenantStore
from ..validation import Limits
from .errors import AdminError, UsageError

__all__ = [
    "ENV_TARGET",
    "ENV_TLS_CA",
    "ENV_TOKEN",
    "StoreSpec",
    "add_store_arguments",
    "open_store",
    "opened",
    "spec_from_args",
]

ENV_TARGET = "CHECKPOINT_GATEWAY_TARGET"
ENV_TOKEN = "CHECKPOINT_GATEWAY_TOKEN"  # noqa: S105 - a variable's name, not a secret
ENV_TLS_CA = "CHECKPOINT_GATEWAY_TLS_CA"

#: Seconds a call to the gateway may take: long enough for a page of large states.
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class StoreSpec:
    """A store to open: a gateway (``target``) or a backend URL (``backend``).

    Attributes:
        target: the gateway's ``HOST:PORT``, or None.
        backend: the backend's URL, or None.
        backend_settings: ``--backend-setting`` values by setting name (``postgres_schema``).
        token: the bearer token sent to the gateway.
        tls: connect with TLS (implied by a CA file or a client certificate).
        tls_ca_file: PEM of the CA that signs the gateway's certificate.
        tls_cert_file: PEM of a client certificate (mutual TLS), with ``tls_key_file``.
        tls_key_file: its key.
        tenant: act in this tenant (an admin's ``x-checkpoint-tenant``; on a backend, the
            same tenant wall the gateway puts up).
        timeout: seconds per gateway call.
    """

    target: str | None = None
    backend: str | None = None
    backend_settings: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None
    tls: bool = False
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tenant: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def describe(self) -> str:
        """Where, for messages: the gateway's address or the masked URL."""
        if self.target is not None:
            return f"gateway {self.target}"
        return f"backend {mask_url(self.backend or '')}"


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that say where the checkpoints are."""
    where = parser.add_argument_group("where the checkpoints are (one of)")
    where.add_argument(
        "--target", metavar="HOST:PORT", help=f"a running gateway (env {ENV_TARGET})"
    )
    where.add_argument(
        "--backend",
        metavar="URL",
        help="the store itself: memory://, file:///DIR, sqlite:///FILE, postgresql://..., "
        "redis://...",
    )
    conn = parser.add_argument_group("connection")
    conn.add_argument(
        "--backend-setting",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a backend setting for --backend, e.g. postgres-schema=team_a "
        "(CHECKPOINT_GATEWAY_POSTGRES_*/REDIS_* variables are read too)",
    )
    conn.add_argument("--token", help=f"bearer token for --target (env {ENV_TOKEN})")
    conn.add_argument(
        "--tls", action="store_true", help="connect to --target with TLS (system CAs)"
    )
    conn.add_argument(
        "--tls-ca-file", metavar="PEM", help=f"CA of the gateway's certificate (env {ENV_TLS_CA})"
    )
    conn.add_argument("--tls-cert-file", metavar="PEM", help="client certificate (mutual TLS)")
    conn.add_argument("--tls-key-file", metavar="PEM", help="its private key")
    conn.add_argument(
        "--tenant",
        help="act in this tenant: on --target an admin token's x-checkpoint-tenant; "
        "on --backend the ids the gateway stores under it",
    )
    conn.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"deadline of each call to --target (default {DEFAULT_TIMEOUT:g})",
    )


def spec_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> StoreSpec:
    """The store the flags (or, failing them, the variables) name; ``UsageError`` if none
    or both."""
    environ = os.environ if environ is None else environ
    target, backend = args.target, args.backend
    if target and backend:
        raise UsageError("give --target or --backend, not both")
    if not target and not backend:
        target = environ.get(ENV_TARGET) or None
    if not target and not backend:
        raise UsageError(
            "say where the checkpoints are: --target HOST:PORT (a running gateway) or "
            f"--backend URL (the store itself); or set {ENV_TARGET}"
        )
    if target:
        try:
            config.parse_listen(target)
        except ValueError as exc:
            raise UsageError(f"--target {target!r}: {exc}") from None
    if (args.tls_cert_file is None) != (args.tls_key_file is None):
        raise UsageError("--tls-cert-file and --tls-key-file go together")
    return StoreSpec(
        target=target or None,
        backend=backend or None,
        backend_settings=parse_settings(args.backend_setting, "--backend-setting"),
        token=args.token or environ.get(ENV_TOKEN) or None,
        tls=bool(args.tls),
        tls_ca_file=args.tls_ca_file or environ.get(ENV_TLS_CA) or None,
        tls_cert_file=args.tls_cert_file,
        tls_key_file=args.tls_key_file,
        tenant=args.tenant or None,
        timeout=args.timeout,
    )


def parse_settings(items: list[str], flag: str) -> dict[str, str]:
    """``["postgres-schema=x"]`` -> ``{"postgres_schema": "x"}``, names checked against
    the backend settings (``config.describe``)."""
    known = {
        name.removeprefix("--").replace("-", "_")
        for name, _, _, _ in config.describe()
        if name.startswith(("--postgres-", "--redis-"))
    }
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        key = name.strip().removeprefix("--").replace("-", "_")
        if not sep or key not in known:
            raise UsageError(
                f"{flag} {item!r}: expected NAME=VALUE with NAME a backend setting such as "
                "postgres-schema or redis-key-prefix (README: Backend settings)"
            )
        out[key] = value
    return out


async def open_store(spec: StoreSpec) -> CheckpointStore:
    """Open the store ``spec`` names. Close it when done (``async with``).

    Raises:
        UsageError: a malformed backend URL or setting.
        AdminError: the backend cannot be opened.
    """
    if spec.target is not None:
        return AsyncCheckpointClient(
            spec.target,
            timeout=spec.timeout,
            credentials=_credentials(spec),
            metadata=[(TENANT_HEADER, spec.tenant)] if spec.tenant else [],
            token=spec.token,
        )
    assert spec.backend is not None
    return await _open_backend(spec.backend, spec.backend_settings, spec.tenant)


async def _open_backend(
    url: str, settings: Mapping[str, str], tenant: str | None
) -> CheckpointStore:
    from ..backends import BackendURLError, StoreLocationError, open_backend

    # Only the backend's own variables: the gateway's other settings (its listen address,
    # its TLS files) are not this command's business and must not fail it.
    environ = {
        k: v
        for k, v in os.environ.items()
        if k.startswith((f"{config.ENV_PREFIX}POSTGRES_", f"{config.ENV_PREFIX}REDIS_"))
    }
    try:
        loaded = config.load(argparse.Namespace(backend=url, **settings), environ)
    except config.SettingsError as exc:
        raise UsageError(str(exc)) from None
    options: dict[str, Any] = {
        "limits": Limits(max_id_length=Limits().max_id_length + (TENANT_ID_ROOM if tenant else 0)),
        # --page-token must work in the next run: the gateway's key when it is set here
        # (tokens then work on both), else one derived from the URL (whoever has the URL
        # reads the store anyway; the MAC only keeps a gateway's callers from forging).
        "page_tokens": PageTokens(os.environ.get(f"{config.ENV_PREFIX}PAGE_TOKEN_KEY") or url),
    }
    scheme = url.partition("://")[0].lower()
    if scheme in ("postgresql", "postgres"):
        options["settings"] = loaded.postgres
    elif scheme.startswith("redis"):
        options["settings"] = loaded.redis
    try:
        store: CheckpointStore = await open_backend(url, **options)
    except (BackendURLError, StoreLocationError) as exc:
        raise UsageError(f"--backend: {exc}") from None
    except Exception as exc:
        raise AdminError(f"cannot open backend {mask_url(url)}: {redact(str(exc), url)}") from None
    if tenant:
        from ..auth import check_tenant

        try:
            check_tenant(tenant)
        except ValueError as exc:
            await store.close()
            raise UsageError(f"--tenant: {exc}") from None
        # The same wall the gateway puts up: ids in under the tenant's prefix, out without.
        call_context.tenant.set(tenant)
        store = TenantStore(store, limits=Limits())
    return store


def _credentials(spec: StoreSpec) -> grpc.ChannelCredentials | None:
    if not (spec.tls or spec.tls_ca_file or spec.tls_cert_file):
        return None
    try:
        root = _read(spec.tls_ca_file)
        cert = _read(spec.tls_cert_file)
        key = _read(spec.tls_key_file)
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror}") from None
    return grpc.ssl_channel_credentials(
        root_certificates=root, private_key=key, certificate_chain=cert
    )


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


@asynccontextmanager
async def opened(args: argparse.Namespace) -> AsyncIterator[CheckpointStore]:
    """The store a command's flags name, open for the length of the ``async with``."""
    store = await open_store(spec_from_args(args))
    try:
        yield store
    finally:
        await store.close()
