"""Settings: one table, read from flags and ``CHECKPOINT_GATEWAY_*`` variables.

Every setting has a flag (``--max-state-bytes``) and an environment variable
(``CHECKPOINT_GATEWAY_MAX_STATE_BYTES``); a flag wins over the variable, the variable over
the default. Values are parsed strictly (``"false"`` is false, ``"flase"`` is an error)
and checked at start, so a bad value stops the gateway with one line naming the setting.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import ipaddress
import os
import re
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ENV_PREFIX = "CHECKPOINT_GATEWAY_"
MiB = 1024 * 1024


class SettingsError(ValueError):
    """A setting has a bad value; the message names the flag and the variable."""


def parse_size(text: str) -> int:
    """``"16MiB"``, ``"64KiB"``, ``"1048576"`` -> bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*", text)
    if not m:
        raise ValueError("expected a size such as 1048576, 64KiB or 16MiB")
    units = {
        None: 1,
        "B": 1,
        "KiB": 1024,
        "MiB": MiB,
        "GiB": 1024 * MiB,
        "KB": 1000,
        "MB": 1000**2,
        "GB": 1000**3,
    }
    return int(m.group(1)) * units[m.group(2)]


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def parse_listen(text: str) -> str:
    """Check ``HOST:PORT`` (``[::1]:50051`` for IPv6); return it unchanged."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:50051")
    if host.startswith("[") and host.endswith("]"):
        ipaddress.IPv6Address(host[1:-1])
    elif not re.fullmatch(r"[A-Za-z0-9.-]+", host):
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:50051")
    return text


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name, or an address; IPv6 in brackets or not) is loopback."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError("expected a number") from None


def _readable(text: str) -> str:
    try:
        with open(text, "rb"):
            pass
    except OSError as exc:
        raise ValueError(f"cannot read it: {exc.strerror}") from None
    return text


def _reflection(text: str) -> str:
    lowered = text.strip().lower()
    if lowered in ("on", "off", "auth"):
        return lowered
    try:
        return "on" if parse_bool(lowered) else "off"
    except ValueError:
        raise ValueError("expected on, off or auth") from None


def _url(text: str) -> str:
    if not re.fullmatch(r"https?://[^\s]+", text):
        raise ValueError("expected an http(s):// URL")
    return text


def _between(
    low: float, high: float, kind: Callable[[str], float] = _float
) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise ValueError("must be greater than 0")
        return value

    return parse


def _optional(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return None if text.strip().lower() in ("", "none", "off") else kind(text)

    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return text

    return parse


def _setting(default: Any, parse: Callable[[str], Any], help: str) -> Any:
    return field(default=default, metadata={"parse": parse, "help": help})


@dataclass(frozen=True)
class Settings:
    """Every gateway setting, with its default."""

    listen: str = _setting("127.0.0.1:50051", parse_listen, "gRPC address, HOST:PORT")
    backend: str = _setting(
        "sqlite:///checkpoints.db",
        str,
        "storage URL: memory://, file:///DIR, sqlite:///FILE, postgresql://..., redis://...",
    )
    grace_seconds: float = _setting(
        10.0, _positive(_float), "on SIGTERM, how long in-flight calls may finish"
    )
    event_loop: str = _setting(
        "auto",
        _choice("auto", "uvloop", "asyncio"),
        "asyncio event loop: auto is uvloop when installed (less CPU per call), else asyncio",
    )
    workers: int = _setting(
        1,
        _positive(_int),
        "gateway processes sharing the port (SO_REUSEPORT) under a supervisor; 1: this one",
    )
    # Resilience (see resilience.py for why these defaults).
    deadline_seconds: float | None = _setting(
        30.0,
        _optional(_positive(_float)),
        "server-side deadline of a call whose client sets none or a later one",
    )
    retry_max_attempts: int = _setting(
        4, _positive(_int), "attempts at the backend per call, the first included"
    )
    retry_initial_backoff: float = _setting(
        0.05, _positive(_float), "longest wait before the first retry, in seconds"
    )
    retry_max_backoff: float = _setting(
        1.0, _positive(_float), "longest wait before any retry, in seconds"
    )
    breaker_failure_threshold: int = _setting(
        5, _positive(_int), "consecutive failed backend attempts that open the breaker"
    )
    breaker_open_seconds: float = _setting(
        1.0, _positive(_float), "how long an open breaker fails calls before probing"
    )
    health_probe_interval: float = _setting(
        1.0, _positive(_float), "seconds between reads that check the backend answers"
    )
    health_probe_timeout: float = _setting(
        5.0, _positive(_float), "a probe read slower than this counts as no answer"
    )
    # Connections (see connections.py for why these defaults).
    handshake_timeout_seconds: float = _setting(
        10.0,
        _positive(_float),
        "a new connection must finish its TLS and HTTP/2 handshake within this, or it is closed",
    )
    max_connection_idle_seconds: float | None = _setting(
        300.0,
        _optional(_positive(_float)),
        "a connection without a call for this long is closed (GOAWAY); off: never",
    )
    max_connection_age_seconds: float | None = _setting(
        1800.0,
        _optional(_positive(_float)),
        "a connection is asked to go (GOAWAY) after this long; off: never",
    )
    max_connection_age_grace_seconds: float = _setting(
        60.0, _positive(_float), "then closed when its calls had this long to finish"
    )
    keepalive_time_seconds: float = _setting(
        60.0, _positive(_float), "ping a connection that has been quiet this long"
    )
    keepalive_timeout_seconds: float = _setting(
        20.0, _positive(_float), "close a connection that does not answer a ping within this"
    )
    min_ping_interval_seconds: float = _setting(
        10.0,
        _positive(_float),
        "clients may ping no more often than this; more is abuse: GOAWAY too_many_pings",
    )
    max_concurrent_streams: int = _setting(
        256, _positive(_int), "calls in flight on one connection; more wait in the client"
    )
    max_state_bytes: int = _setting(16 * MiB, _positive(parse_size), "largest state accepted")
    max_metadata_bytes: int = _setting(
        64 * 1024, _positive(parse_size), "largest metadata JSON accepted"
    )
    max_id_length: int = _setting(256, _positive(_int), "longest id, namespace or node name")
    default_page_size: int = _setting(50, _positive(_int), "List page size when none is asked")
    max_page_size: int = _setting(1000, _positive(_int), "largest List page")
    max_batch_items: int = _setting(1000, _positive(_int), "most checkpoints in one SaveMany call")
    max_checkpoints: int | None = _setting(
        None, _optional(_positive(_int)), "keep only the newest N checkpoints per lineage"
    )
    ttl_seconds: float | None = _setting(
        None, _optional(_positive(_float)), "checkpoints expire this long after they are saved"
    )
    # How states are stored (backends/_states.py): chains of zstd deltas, on by default.
    state_compression: bool = _setting(
        True,
        parse_bool,
        "store a state as a zstd delta against its parent's, with a snapshot every "
        "--state-snapshot-every; false: as it comes (what was stored as deltas still reads)",
    )
    state_snapshot_every: int = _setting(
        16,
        _between(1, 256, _int),
        "a chain holds at most this many states (a snapshot and deltas): a read applies "
        "fewer deltas than this",
    )
    state_compression_level: int = _setting(
        3, _between(3, 19, _int), "zstd level, 3 to 19 (1 and 2 miss most of what states share)"
    )
    state_compression_min_bytes: int = _setting(
        4096, parse_size, "smaller states are stored as they come"
    )
    state_cache_bytes: int = _setting(
        64 * MiB,
        parse_size,
        "states kept in memory to delta the next save against (and to start reads from); "
        "0: none, every save then reads its parent",
    )
    tls_cert_file: str | None = _setting(
        None, _optional(_readable), "PEM server certificate chain; with the key, serve TLS"
    )
    tls_key_file: str | None = _setting(
        None, _optional(_readable), "PEM private key of the certificate"
    )
    tls_client_ca_file: str | None = _setting(
        None,
        _optional(_readable),
        "PEM CA bundle; when set, clients must present a certificate (mTLS)",
    )
    # Authentication and tenants (see auth/ and the README's Security section): on when a
    # principals file or a JWKS is given.
    auth_principals_file: str | None = _setting(
        None,
        _optional(_readable),
        "YAML principals file: tenants, roles, hashed bearer tokens, client certificate "
        "identities; read again when it changes",
    )
    jwt_jwks_file: str | None = _setting(
        None, _optional(_readable), "accept JWTs signed by a key of this JWKS file"
    )
    jwt_jwks_url: str | None = _setting(
        None, _optional(_url), "accept JWTs signed by a key of the JWKS at this URL"
    )
    jwt_issuer: str | None = _setting(None, _optional(str), "the iss a JWT must carry")
    jwt_audience: str | None = _setting(None, _optional(str), "the aud a JWT must carry")
    jwt_leeway_seconds: float = _setting(
        30.0, _between(0, 300), "clock skew allowed on a JWT's exp and nbf, at most 300"
    )
    jwt_tenant_claim: str = _setting("tenant", str, "the JWT claim naming the tenant")
    jwt_roles_claim: str = _setting("roles", str, "the JWT claim listing the roles")
    limit_in_flight: int | None = _setting(
        256,
        _optional(_positive(_int)),
        "calls one principal may have in flight (off: no bound); with authentication",
    )
    limit_requests_per_second: float | None = _setting(
        None,
        _optional(_positive(_float)),
        "calls one principal may make per second, bursts of one second (off: no bound)",
    )
    reflection: str = _setting(
        "auth",
        _reflection,
        "server reflection (grpcurl list, describe): on, off, or auth (behind "
        "authentication when it is on); true and false mean on and off",
    )
    metrics_auth: bool = _setting(
        False,
        parse_bool,
        "/metrics answers only a bearer token of a principal with the metrics or admin role",
    )
    page_token_key: str | None = _setting(
        None,
        _optional(str),
        "secret that signs page tokens; replicas behind one address need the same "
        "(default: random per process)",
    )
    log_level: str = _setting("info", _choice("debug", "info", "warning", "error"), "log level")
    log_format: str = _setting("text", _choice("text", "json"), "log line format")
    metrics_listen: str | None = _setting(
        "127.0.0.1:9464",
        _optional(parse_listen),
        "Prometheus /metrics address, HOST:PORT; off (or empty) turns metrics off",
    )
    # The web console (console/): off unless given an address.
    console_listen: str | None = _setting(
        None,
        _optional(parse_listen),
        "web console address, HOST:PORT (port 0: a free one, logged); off: no console. "
        "Without authentication it must be a loopback address",
    )
    console_session_seconds: float = _setting(
        3600.0, _positive(_float), "a console session ends after this long without a request"
    )
    # Backend sections, filled by load() from --postgres-* and --redis-* (see _sections).
    postgres: Any = field(default=None, metadata={"section": True})
    redis: Any = field(default=None, metadata={"section": True})

    @property
    def auth_enabled(self) -> bool:
        """Whether calls need credentials (a principals file or a JWKS is configured)."""
        return bool(self.auth_principals_file or self.jwt_jwks_file or self.jwt_jwks_url)

    @property
    def max_message_bytes(self) -> int:
        """gRPC message limit: a state plus as many bytes of writes, plus headroom."""
        return 2 * self.max_state_bytes + MiB

    def check(self) -> None:
        """Cross-field checks, after each value parsed on its own."""
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise SettingsError(
                f"{_names('tls_cert_file')} and {_names('tls_key_file')} go together"
            )
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise SettingsError(f"{_names('tls_client_ca_file')} needs a server certificate")
        self._check_tls_files()
        if self.workers > 1 and self.backend.partition("://")[0].lower() == "memory":
            raise SettingsError(
                f"{_names('workers')} ({self.workers}) needs a backend the processes share; "
                f"memory:// would be a separate store in each process: use file, sqlite, "
                f"postgresql or redis, or one worker"
            )
        if self.jwt_jwks_file is not None and self.jwt_jwks_url is not None:
            raise SettingsError(
                f"{_names('jwt_jwks_file')} and {_names('jwt_jwks_url')}: give one of them"
            )
        if self.metrics_auth and not self.auth_principals_file:
            raise SettingsError(
                f"{_names('metrics_auth')} needs {_names('auth_principals_file')} "
                "(the scraper's token is looked up there)"
            )
        if (
            self.console_listen is not None
            and not self.auth_enabled
            and not is_loopback(self.console_listen.rpartition(":")[0])
        ):
            raise SettingsError(
                f"{_names('console_listen')} ({self.console_listen}): without "
                "authentication the console would show every execution to anyone who "
                "reaches it: use a loopback address (127.0.0.1, [::1], localhost) or "
                f"turn authentication on ({_names('auth_principals_file')})"
            )
        if self.default_page_size > self.max_page_size:
            raise SettingsError(
                f"{_names('default_page_size')} ({self.default_page_size}) must not exceed "
                f"{_names('max_page_size')} ({self.max_page_size})"
            )

    def _check_tls_files(self) -> None:
        """Read the TLS files as TLS will, so a wrong file is named at start (gRPC would
        only fail to listen, which reads like a port problem)."""
        if self.tls_cert_file is None or self.tls_key_file is None:
            return
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(self.tls_cert_file, self.tls_key_file)
        except (ssl.SSLError, OSError):
            raise SettingsError(
                f"{_names('tls_cert_file')} and {_names('tls_key_file')}: not a PEM "
                "certificate chain and the private key that matches it"
            ) from None
        if self.tls_client_ca_file is not None:
            try:
                context.load_verify_locations(cafile=self.tls_client_ca_file)
            except (ssl.SSLError, OSError):
                raise SettingsError(
                    f"{_names('tls_client_ca_file')}: not a PEM bundle of CA certificates"
                ) from None


# Backend settings: every field of a backend's settings dataclass is a flag and a variable,
# prefixed with the section (--postgres-max-size, CHECKPOINT_GATEWAY_POSTGRES_MAX_SIZE).
_SECTION_PARSERS: dict[str, Callable[[str], Any]] = {
    "int": _int,
    "float": _float,
    "bool": parse_bool,
    "str": str,
    "int | None": _optional(_int),
    "float | None": _optional(_float),
    "str | None": _optional(str),
}


def _sections() -> dict[str, type[Any]]:
    from .backends.postgres import PostgresSettings
    from .backends.redis import RedisSettings

    return {"postgres": PostgresSettings, "redis": RedisSettings}


def _section_fields() -> list[tuple[str, str, dataclasses.Field[Any]]]:
    """(section, setting name, field) for every backend setting."""
    return [
        (section, f"{section}_{f.name}", f)
        for section, cls in _sections().items()
        for f in dataclasses.fields(cls)
    ]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _env(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _names(name: str) -> str:
    return f"{_flag(name)} / {_env(name)}"


def setting_names(name: str) -> str:
    """``--metrics-listen / CHECKPOINT_GATEWAY_METRICS_LISTEN``: how an error names a setting."""
    return _names(name)


def _bind_errno(address: str) -> int | None:
    """Why binding ``address`` fails, found by trying (gRPC's own error gives no errno)."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return errno.EADDRNOTAVAIL
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            return exc.errno
    return None


def probe_listen(name: str, address: str) -> None:
    """Raise ``listen_error`` now if ``address`` cannot be bound, before gRPC tries and logs
    a line of its own about it."""
    code = _bind_errno(address)
    if code is not None:
        raise listen_error(name, address, OSError(code, os.strerror(code)))


def listen_error(name: str, address: str, exc: OSError) -> OSError:
    """An ``OSError`` whose one line names the setting and says why ``address`` failed."""
    cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
    code = cause.errno if cause.errno is not None else _bind_errno(address)
    if code == errno.EADDRINUSE:
        reason = "the address is already in use"
    elif code == errno.EADDRNOTAVAIL:
        reason = "no interface of this machine has that address"
    elif code == errno.EACCES:
        reason = "permission denied (ports below 1024 need privileges)"
    else:
        reason = "address in use or not available"
    return OSError(f"{_names(name)}: cannot listen on {address}: {reason}")


#: What ``migrate`` reads: the backend and its section, and how to log.
MIGRATE_SETTINGS = ("backend", "log_level", "log_format")


def add_arguments(parser: argparse.ArgumentParser, only: Sequence[str] | None = None) -> None:
    """Add one flag per setting (or per setting in ``only``, plus every backend setting);
    values stay strings until ``load`` parses them."""
    for f in _own_fields():
        if only is not None and f.name not in only:
            continue
        parser.add_argument(
            _flag(f.name),
            dest=f.name,
            default=None,
            metavar=f.name.upper(),
            help=f"{f.metadata['help']} (env {_env(f.name)}; default {f.default})",
        )
    group = parser.add_argument_group("backend settings (see README: Backend settings)")
    for _, name, f in _section_fields():
        group.add_argument(
            _flag(name),
            dest=name,
            default=None,
            metavar=name.upper(),
            help=f"env {_env(name)}; default {f.default}",
        )


def _raw(name: str, args: argparse.Namespace | None, environ: Mapping[str, str]) -> str | None:
    raw = getattr(args, name, None) if args is not None else None
    return environ.get(_env(name)) if raw is None else raw


def load(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from parsed flags and the environment; SettingsError if any is bad."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in _own_fields():
        raw = _raw(f.name, args, environ)
        if raw is None:
            continue
        try:
            values[f.name] = f.metadata["parse"](raw)
        except ValueError as exc:
            raise SettingsError(f"{_names(f.name)}: {raw!r}: {exc}") from None
    section_values: dict[str, dict[str, Any]] = {section: {} for section in _sections()}
    for section, name, f in _section_fields():
        raw = _raw(name, args, environ)
        if raw is None:
            continue
        try:
            section_values[section][f.name] = _SECTION_PARSERS[str(f.type)](raw)
        except ValueError as exc:
            raise SettingsError(f"{_names(name)}: {raw!r}: {exc}") from None
    for section, cls in _sections().items():
        try:
            values[section] = cls(**section_values[section])
        except ValueError as exc:
            raise SettingsError(f"{_section_names(section, cls, str(exc))}: {exc}") from None
    settings = Settings(**values)
    settings.check()
    return settings


def _section_names(section: str, cls: type[Any], message: str) -> str:
    """The setting a backend section's check is about: its message starts with the field's
    name (``schema 'X' is not allowed``); else the whole section."""
    for name in sorted((f.name for f in dataclasses.fields(cls)), key=len, reverse=True):
        if message.startswith(f"{name} "):
            return _names(f"{section}_{name}")
    return f"--{section}-* / {ENV_PREFIX}{section.upper()}_*"


def _own_fields() -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(Settings) if "section" not in f.metadata]


def describe() -> Sequence[tuple[str, str, str, str]]:
    """(flag, variable, default, help) for every setting, for docs and tests."""
    own = [(_flag(f.name), _env(f.name), str(f.default), f.metadata["help"]) for f in _own_fields()]
    sections = [
        (_flag(name), _env(name), str(f.default), f"{section} backend")
        for section, name, f in _section_fields()
    ]
    return own + sections
