"""``checkpoint-gateway``: serve the gateway, or apply a backend's migrations.

    checkpoint-gateway serve [--listen HOST:PORT] [--backend URL] [...]
    checkpoint-gateway migrate [--backend URL]

Exit codes: 0 after a clean shutdown, 1 when the gateway cannot start (backend
unreachable, port taken), 2 for bad settings.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

import grpc

from . import __version__, chain, config, logs, tracing
from .app import SERVICE_NAME, Gateway
from .backends import Backend, BackendURLError, Retention, mask_url, open_backend
from .instrumented import RpcObserver
from .metrics import Metrics, MetricsServer
from .validation import Limits

log = logging.getLogger("checkpoint_gateway")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="checkpoint-gateway", description="A gRPC checkpoint service for agent runtimes."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the gateway until SIGTERM or SIGINT")
    config.add_arguments(serve)
    migrate = commands.add_parser("migrate", help="create or upgrade the backend's schema")
    config.add_arguments(migrate)
    return parser


async def _open(settings: config.Settings) -> Backend:
    limits = Limits(
        max_id_length=settings.max_id_length,
        max_state_bytes=settings.max_state_bytes,
        max_metadata_bytes=settings.max_metadata_bytes,
        default_page_size=settings.default_page_size,
        max_page_size=settings.max_page_size,
        max_batch_items=settings.max_batch_items,
    )
    retention = Retention(
        max_checkpoints=settings.max_checkpoints, ttl_seconds=settings.ttl_seconds
    )
    options: dict[str, Any] = {"limits": limits, "retention": retention}
    scheme = settings.backend.partition("://")[0].lower()
    if scheme in ("postgresql", "postgres"):
        options["settings"] = settings.postgres
    elif scheme.startswith("redis"):
        options["settings"] = settings.redis
    return await open_backend(settings.backend, **options)


async def serve(settings: config.Settings, telemetry: tracing.Tracing | None = None) -> None:
    # Handlers first: a signal that arrives once we say we listen must drain, not kill.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    backend = await _open(settings)
    metrics = Metrics() if settings.metrics_listen else None
    tracer = telemetry.tracer if telemetry is not None else None
    store = chain.build(backend, settings, metrics=metrics, tracer=tracer)
    # The tracing interceptor first: the observer's failure log line and exemplars then
    # carry the RPC's trace id.
    interceptors: list[grpc.aio.ServerInterceptor[Any, Any]] = []
    if telemetry is not None:
        interceptors.append(telemetry.server_interceptor(SERVICE_NAME))
    interceptors.append(RpcObserver(metrics, traced=telemetry is not None))
    exporter: MetricsServer | None = None
    try:
        if metrics is not None and settings.metrics_listen:
            metrics.init_grpc_service(SERVICE_NAME)
            metrics_host, _, metrics_port = settings.metrics_listen.rpartition(":")
            exporter = metrics.serve(metrics_host, int(metrics_port))
        gateway = await Gateway.start(
            store,
            listen=settings.listen,
            max_message_bytes=settings.max_message_bytes,
            credentials=_server_credentials(settings),
            interceptors=interceptors,
            health_probe_interval=settings.health_probe_interval,
            health_probe_timeout=settings.health_probe_timeout,
        )
    except BaseException:
        if exporter is not None:
            exporter.stop()
        await store.close()
        raise
    if exporter is not None:
        log.info("metrics on http://%s:%d/metrics", exporter.host, exporter.port)
    if telemetry is not None:
        log.info("tracing on: spans exported as the OTEL_* variables say")
    host = settings.listen.rpartition(":")[0]
    log.info(
        "checkpoint-gateway %s listening on %s:%d, backend %s, %s",
        __version__,
        host,
        gateway.port,
        mask_url(settings.backend),
        "mutual TLS"
        if settings.tls_client_ca_file
        else "TLS"
        if settings.tls_cert_file
        else "plaintext",
    )
    await stop.wait()
    log.info("shutting down: draining in-flight calls for up to %.1fs", settings.grace_seconds)
    await gateway.stop(settings.grace_seconds)
    if exporter is not None:
        exporter.stop()
    log.info("stopped")


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


async def migrate(settings: config.Settings) -> None:
    store = await _open(settings)  # opening a backend applies its pending migrations
    await store.close()
    log.info("backend %s is up to date", mask_url(settings.backend))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = config.load(args)
    except config.SettingsError as exc:
        print(f"checkpoint-gateway: error: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format)
    telemetry = None
    if args.command == "serve":
        try:
            telemetry = tracing.from_env()
        except tracing.TracingConfigError as exc:
            print(f"checkpoint-gateway: error: {exc}", file=sys.stderr)
            return 2
        if telemetry is not None:
            telemetry.set_global()
    try:
        asyncio.run(serve(settings, telemetry) if args.command == "serve" else migrate(settings))
    except BackendURLError as exc:
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


def _safe(exc: BaseException, settings: config.Settings) -> str:
    """The error text with the backend URL's password masked."""
    text = str(exc) or type(exc).__name__
    masked = mask_url(settings.backend)
    return text.replace(settings.backend, masked) if masked != settings.backend else text


if __name__ == "__main__":
    sys.exit(main())
