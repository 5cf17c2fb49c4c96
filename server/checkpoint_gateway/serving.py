"""``serve`` and ``migrate``: open the backend, build the store chain, run the gateway.

``cli`` parses the command line and imports this module only for these two commands, so
that the admin commands and ``token`` start without the server's modules (the store
chain, resilience, metrics, tracing, gRPC server pieces: about half of the start-up).

Exit codes: 0 after a clean shutdown, 1 when the gateway cannot start (backend
unreachable, port taken) or, with ``--workers``, when a worker died, 2 for bad settings.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from . import __version__, chain, config, logs, secrets, tracing, workers
from . import loop as event_loop
from .app import SERVICE_NAME, Gateway, ListenError
from .auth import (
    Authenticator,
    AuthInterceptor,
    JwtSettings,
    JwtVerifier,
    Limiter,
    PrincipalsFile,
    metrics_authorizer,
)
from .backends import (
    Backend,
    BackendURLError,
    Retention,
    StateStorage,
    StoreLocationError,
    open_backend,
)
from .backends._paging import PageTokens
from .connections import ConnectionLimits
from .instrumented import RpcObserver
from .metrics import PUBLISH_INTERVAL, Metrics, MetricsServer
from .secrets import mask_url
from .tenancy import TENANT_ID_ROOM
from .validation import Limits

if TYPE_CHECKING:
    from .console import Console

log = logging.getLogger("checkpoint_gateway")


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """``serve`` or ``migrate``, as parsed; return the exit code."""
    try:
        settings = config.load(args)
    except config.SettingsError as exc:
        print(f"checkpoint-gateway: error: {exc}", file=sys.stderr)
        return 2
    worker = workers.WorkerRole.from_args(args)
    logs.configure(
        settings.log_level,
        settings.log_format,
        worker=None if worker is None else worker.index,
        secrets=_secrets(settings),
    )
    supervising = args.command == "serve" and settings.workers > 1 and worker is None
    telemetry = None
    if args.command == "serve" and not supervising:  # a supervisor serves no calls
        try:
            telemetry = tracing.from_env()
        except tracing.TracingConfigError as exc:
            print(f"checkpoint-gateway: error: {exc}", file=sys.stderr)
            return 2
        if telemetry is not None:
            telemetry.set_global()
    try:
        if supervising:
            return asyncio.run(
                workers.supervise(
                    settings,
                    argv,
                    prepare=lambda: _prepare(settings),
                    announce=lambda port: _announce(settings, port),
                )
            )
        try:
            event_loop.resolve(settings.event_loop)
        except ValueError as exc:
            print(f"checkpoint-gateway: error: --event-loop: {exc}", file=sys.stderr)
            return 2
        event_loop.run(
            lambda: (
                serve(settings, telemetry, worker) if args.command == "serve" else migrate(settings)
            ),
            settings.event_loop,
        )
    except (BackendURLError, StoreLocationError) as exc:
        print(
            f"checkpoint-gateway: error: --backend / CHECKPOINT_GATEWAY_BACKEND: {exc}",
            file=sys.stderr,
        )
        return 2
    except (OSError, RuntimeError) as exc:
        # Port taken, directory not writable, backend unreachable: say what, no traceback.
        print(f"checkpoint-gateway: error: cannot start: {_safe(exc, settings)}", file=sys.stderr)
        return 1
    except Exception as exc:
        from checkpoint_client import CheckpointError

        if isinstance(exc, CheckpointError):
            print(
                f"checkpoint-gateway: error: cannot start: {_safe(exc, settings)}", file=sys.stderr
            )
            return 1
        raise
    finally:
        if telemetry is not None:
            telemetry.shutdown()  # export the spans still buffered
    return 0


async def _open(settings: config.Settings) -> Backend:
    limits = Limits(
        # With tenants, execution ids gain their tenant's prefix below the tenant layer,
        # which checks callers' ids against max_id_length itself.
        max_id_length=settings.max_id_length + (TENANT_ID_ROOM if settings.auth_enabled else 0),
        max_state_bytes=settings.max_state_bytes,
        max_metadata_bytes=settings.max_metadata_bytes,
        default_page_size=settings.default_page_size,
        max_page_size=settings.max_page_size,
        max_batch_items=settings.max_batch_items,
    )
    retention = Retention(
        max_checkpoints=settings.max_checkpoints, ttl_seconds=settings.ttl_seconds
    )
    options: dict[str, Any] = {
        "limits": limits,
        "retention": retention,
        "page_tokens": PageTokens(settings.page_token_key),
        "state_storage": state_storage(settings),
    }
    scheme = settings.backend.partition("://")[0].lower()
    if scheme in ("postgresql", "postgres"):
        options["settings"] = settings.postgres
    elif scheme.startswith("redis"):
        options["settings"] = settings.redis
    return await open_backend(settings.backend, **options)


def state_storage(settings: config.Settings) -> StateStorage:
    """How the gateway's backend stores states, from the ``--state-*`` settings."""
    return StateStorage(
        enabled=settings.state_compression,
        snapshot_every=settings.state_snapshot_every,
        level=settings.state_compression_level,
        min_bytes=settings.state_compression_min_bytes,
        cache_bytes=settings.state_cache_bytes,
    )


async def serve(
    settings: config.Settings,
    telemetry: tracing.Tracing | None = None,
    worker: workers.WorkerRole | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then drain. As one of several ``worker`` processes:
    the port is shared, metrics go to the supervisor (which serves /metrics), and the
    supervisor is told once this one listens."""
    # Handlers first: a signal that arrives once we say we listen must drain, not kill.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if worker is not None:
        worker.watch_supervisor(loop, stop.set)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("settings: %s", _settings_summary(settings))
    backend = await _open(settings)
    log.debug("backend %s open", mask_url(settings.backend))
    metrics = None
    if settings.metrics_listen:
        metrics = Metrics(multiprocess=worker is not None)
    tracer = telemetry.tracer if telemetry is not None else None
    store = chain.build(backend, settings, metrics=metrics, tracer=tracer)
    # The tracing interceptor first: the observer's failure log line and exemplars then
    # carry the RPC's trace id.
    interceptors: list[grpc.aio.ServerInterceptor[Any, Any]] = []
    if telemetry is not None:
        interceptors.append(telemetry.server_interceptor(SERVICE_NAME))
    interceptors.append(RpcObserver(metrics, traced=telemetry is not None))
    if settings.auth_enabled:
        interceptors.append(_auth_interceptor(settings, metrics))
    exporter: MetricsServer | None = None
    console = _console(settings) if worker is None or worker.index == 1 else None
    try:
        if metrics is not None:
            metrics.init_grpc_service(SERVICE_NAME)
        if metrics is not None and settings.metrics_listen and worker is None:
            metrics_host, _, metrics_port = settings.metrics_listen.rpartition(":")
            try:
                exporter = metrics.serve(
                    metrics_host, int(metrics_port), authorize=_metrics_authorizer(settings)
                )
            except OSError as exc:
                raise config.listen_error("metrics_listen", settings.metrics_listen, exc) from exc
        if worker is None:  # a worker shares the supervisor's SO_REUSEPORT socket
            config.probe_listen("listen", settings.listen)
        if console is not None and settings.console_listen is not None:
            config.probe_listen("console_listen", settings.console_listen)
        try:
            gateway = await Gateway.start(
                store,
                listen=settings.listen,
                max_message_bytes=settings.max_message_bytes,
                max_metadata_bytes=settings.max_metadata_bytes,
                credentials=_server_credentials(settings),
                interceptors=interceptors,
                health_probe_interval=settings.health_probe_interval,
                health_probe_timeout=settings.health_probe_timeout,
                reuse_port=worker is not None,
                request_timeout=settings.deadline_seconds,
                connection_limits=_connection_limits(settings),
                reflection=settings.reflection != "off",
                local_ports=console.grpc_ports if console is not None else (),
            )
        except ListenError as exc:
            raise config.listen_error("listen", settings.listen, exc) from exc
    except BaseException:
        if exporter is not None:
            exporter.stop()
        if console is not None:
            console.remove_private_dir()
        await store.close()
        raise
    if console is not None:
        await _start_console(console, settings, gateway, exporter)
    if exporter is not None:
        log.info("metrics on http://%s:%d/metrics", exporter.host, exporter.port)
    if telemetry is not None:
        log.info("tracing on: spans exported as the OTEL_* variables say")
    publisher: asyncio.Task[None] | None = None
    if worker is None:
        _announce(settings, gateway.port)
    else:
        if metrics is not None:
            metrics.publish()  # before the supervisor says it listens: no gap in the gauges
            publisher = asyncio.create_task(_publish(metrics), name="checkpoint-gateway-publish")
        host = settings.listen.rpartition(":")[0]
        log.info(
            "worker %d/%d (pid %d) serving on %s:%d",
            worker.index,
            settings.workers,
            os.getpid(),
            host,
            gateway.port,
        )
        worker.ready()
    await stop.wait()
    log.info("shutting down: draining in-flight calls for up to %.1fs", settings.grace_seconds)
    if console is not None:
        await console.stop()  # first: its pages still call the gateway until they finish
    await gateway.stop(settings.grace_seconds)
    if publisher is not None:
        publisher.cancel()
    if exporter is not None:
        exporter.stop()
    log.info("stopped")


def _console(settings: config.Settings) -> Console | None:
    """The web console (``--console-listen``), its private gRPC socket made; or None."""
    if settings.console_listen is None:
        return None
    from .console import Console  # aiohttp and jinja2: only when there is a console

    return Console.prepare(
        listen=settings.console_listen,
        auth=settings.auth_enabled,
        session_seconds=settings.console_session_seconds,
        tls_cert_file=settings.tls_cert_file,
        tls_key_file=settings.tls_key_file,
        max_message_bytes=settings.max_message_bytes,
        grace_seconds=settings.grace_seconds,
    )


async def _start_console(
    console: Console,
    settings: config.Settings,
    gateway: Gateway,
    exporter: MetricsServer | None,
) -> None:
    """Serve the console; the line that says where comes before the gateway's own
    ``listening on`` line, so whoever waits for that one has both."""
    assert settings.console_listen is not None
    try:
        await console.start()
    except OSError as exc:  # taken since the probe
        await console.stop()
        await gateway.stop(0)
        if exporter is not None:
            exporter.stop()
        raise config.listen_error("console_listen", settings.console_listen, exc) from exc
    log.info(
        "console on %s (%s)",
        console.url,
        "sign in with a bearer token of a principal with the read or admin role"
        if console.auth
        else "authentication OFF: no sign-in, loopback only",
    )
    if not console.secure and not config.is_loopback(settings.console_listen.rpartition(":")[0]):
        log.warning(
            "the console serves plain HTTP on %s: sign-in tokens cross the network in "
            "clear (set --tls-cert-file and --tls-key-file, or keep it on loopback)",
            settings.console_listen,
        )


def _auth_interceptor(settings: config.Settings, metrics: Metrics | None) -> AuthInterceptor:
    principals = (
        PrincipalsFile(settings.auth_principals_file) if settings.auth_principals_file else None
    )
    verifier = None
    if settings.jwt_jwks_file or settings.jwt_jwks_url:
        verifier = JwtVerifier(
            JwtSettings(
                jwks_file=settings.jwt_jwks_file,
                jwks_url=settings.jwt_jwks_url,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                leeway=settings.jwt_leeway_seconds,
                tenant_claim=settings.jwt_tenant_claim,
                roles_claim=settings.jwt_roles_claim,
            )
        )
    return AuthInterceptor(
        Authenticator(principals, verifier),
        Limiter(
            in_flight=settings.limit_in_flight,
            requests_per_second=settings.limit_requests_per_second,
        ),
        metrics=metrics,
        guard_reflection=settings.reflection == "auth",
    )


def _metrics_authorizer(settings: config.Settings) -> Callable[[str], bool] | None:
    """/metrics behind a bearer token (``--metrics-auth``)."""
    if not settings.metrics_auth or not settings.auth_principals_file:
        return None
    return metrics_authorizer(settings.auth_principals_file)


def _auth_summary(settings: config.Settings) -> str:
    if not settings.auth_enabled:
        return (
            "authentication OFF: anyone who can reach this address can read and change "
            "every execution"
        )
    ways = []
    if settings.auth_principals_file:
        ways.append("bearer tokens and client certificates of the principals file")
    if settings.jwt_jwks_file or settings.jwt_jwks_url:
        ways.append("JWTs")
    return "authentication on (" + ", ".join(ways) + "), one tenant per principal"


def _connection_limits(settings: config.Settings) -> ConnectionLimits:
    return ConnectionLimits(
        handshake_timeout=settings.handshake_timeout_seconds,
        max_connection_idle=settings.max_connection_idle_seconds,
        max_connection_age=settings.max_connection_age_seconds,
        max_connection_age_grace=settings.max_connection_age_grace_seconds,
        keepalive_time=settings.keepalive_time_seconds,
        keepalive_timeout=settings.keepalive_timeout_seconds,
        min_ping_interval=settings.min_ping_interval_seconds,
        max_concurrent_streams=settings.max_concurrent_streams,
    )


def _announce(settings: config.Settings, port: int) -> None:
    """The line that says the gateway serves (tests and scripts wait for it)."""
    log.info(
        "checkpoint-gateway %s listening on %s:%d, backend %s, %s%s; %s",
        __version__,
        settings.listen.rpartition(":")[0],
        port,
        mask_url(settings.backend),
        "mutual TLS"
        if settings.tls_client_ca_file
        else "TLS"
        if settings.tls_cert_file
        else "plaintext",
        f", {settings.workers} workers" if settings.workers > 1 else "",
        _auth_summary(settings),
    )


async def _publish(metrics: Metrics) -> None:
    """A worker's pool and breaker gauges, copied where the supervisor reads them."""
    while True:
        await asyncio.sleep(PUBLISH_INTERVAL)  # a refresh period, not a wait for an event
        metrics.publish()


def _server_credentials(settings: config.Settings) -> grpc.ServerCredentials | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    with open(settings.tls_cert_file, "rb") as f:
        chain = f.read()
    with open(settings.tls_key_file, "rb") as f:
        key = f.read()
    client_ca = None
    if settings.tls_client_ca_file:
        with open(settings.tls_client_ca_file, "rb") as f:
            client_ca = f.read()
    return grpc.ssl_server_credentials(
        [(key, chain)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


async def _prepare(settings: config.Settings) -> None:
    """Open the backend and close it: its migrations run, and an unreachable one fails."""
    store = await _open(settings)
    await store.close()


async def migrate(settings: config.Settings) -> None:
    store = await _open(settings)  # opening a backend applies its pending migrations
    await store.close()
    log.info("backend %s is up to date", mask_url(settings.backend))


def _settings_summary(settings: config.Settings) -> str:
    """Every setting in effect, for the debug log: the backend URL masked, the page-token
    key left out."""
    shown: list[str] = []
    for name, value in sorted(dataclasses.asdict(settings).items()):
        if name == "page_token_key":
            value = "(set)" if value else None
        elif name == "backend":
            value = mask_url(value)
        shown.append(f"{name}={value}")
    return ", ".join(shown)


def _secrets(settings: config.Settings) -> list[str]:
    """What no log line or message may show: the backend's passwords, however given
    (in the URL, flag or variable alike, or libpq's own PGPASSWORD)."""
    found = secrets.secrets_of(settings.backend)
    pgpassword = os.environ.get("PGPASSWORD")
    return [*found, pgpassword] if pgpassword else found


def _safe(exc: BaseException, settings: config.Settings) -> str:
    """The error text with the backend URL masked and its passwords removed."""
    text = secrets.redact(str(exc) or type(exc).__name__, settings.backend)
    return secrets.scrub(text, _secrets(settings))
