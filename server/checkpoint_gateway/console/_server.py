"""The console's HTTP server: sign-in, sessions, the guard every page passes, start/stop.

The console reads through the gateway's own gRPC service: each page calls the gateway
with the signed-in person's bearer token over a private Unix socket that the gateway's
gRPC server also listens on (a directory only this user can enter). Authentication,
roles, tenants, limits and metrics therefore apply exactly as for any other caller, and
the gateway's TLS settings (or mutual TLS) on its public address do not stand in the
way. With authentication off on the gateway the console asks for nothing, so it may then
only listen on a loopback address (``config`` refuses anything else), and it answers
only requests whose Host is a loopback name, so a web page cannot reach it by DNS
rebinding.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from checkpoint_client import (
    AsyncCheckpointClient,
    CheckpointError,
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

from ..auth import TENANT_HEADER, check_tenant
from ..config import is_loopback
from ._sessions import Session, Sessions

__all__ = ["Console", "ConsoleError"]

log = logging.getLogger("checkpoint_gateway.console")

COOKIE = "cpg_console"
#: The cookie's name over HTTPS: the __Host- prefix makes the browser refuse it unless
#: it is Secure, for this host only, on path /.
SECURE_COOKIE = "__Host-cpg_console"
_MiB = 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ConsoleError(Exception):
    """A page cannot be shown; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("checkpoint_gateway.console", "templates"),
        # States, ids and metadata are untrusted input: everything is escaped.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Ids are UUIDv7s, which share their leading (time) digits within a run: the tail
    # tells them apart.
    env.filters["short"] = lambda value: value if len(value) <= 13 else "…" + value[-8:]
    env.filters["when"] = lambda value: (
        "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    )
    return env


class Console:
    """The web console of one gateway process.

    Build it with ``Console.prepare`` before the gateway starts (the gateway must also
    listen on ``grpc_ports``), then ``start`` it once the gateway serves.

    Args:
        listen: ``HOST:PORT`` of the console (port 0: a free one; see ``url``).
        grpc_target: where the gateway's gRPC service answers the console.
        auth: whether the gateway requires credentials (then so does the console).
        session_seconds: a session ends after this long without a request.
        ssl_context: serve HTTPS with it (and mark the cookie Secure); None: HTTP.
        max_message_bytes: the gateway's gRPC message limit.
        page_size: checkpoints and executions per page.
        grace_seconds: on stop, how long the pages being served may take to finish.
        private_dir: a directory to remove on stop (the private socket's).
    """

    def __init__(
        self,
        *,
        listen: str,
        grpc_target: str,
        auth: bool,
        session_seconds: float,
        ssl_context: ssl.SSLContext | None = None,
        max_message_bytes: int = 64 * _MiB,
        page_size: int = 50,
        grace_seconds: float = 10.0,
        private_dir: str | None = None,
    ) -> None:
        self._listen = listen
        self._grpc_target = grpc_target
        self._auth = auth
        self._ssl = ssl_context
        self._max_message_bytes = max(max_message_bytes, 64 * _MiB)
        self.page_size = page_size
        self._grace = grace_seconds
        self._private_dir = private_dir
        self._sessions = Sessions(self._client, idle_seconds=session_seconds)
        # With authentication off there is one anonymous session, and no cookie.
        self._anonymous: Session | None = None if auth else self._sessions.new(None)
        self._templates = _templates()
        self._css = (
            resources.files("checkpoint_gateway.console").joinpath("static/console.css")
        ).read_bytes()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.port = 0

    @classmethod
    def prepare(
        cls,
        *,
        listen: str,
        auth: bool,
        session_seconds: float,
        tls_cert_file: str | None = None,
        tls_key_file: str | None = None,
        max_message_bytes: int = 64 * _MiB,
        grace_seconds: float = 10.0,
    ) -> Console:
        """A console whose gRPC calls go through a new private Unix socket; HTTPS with
        the gateway's certificate when it has one."""
        private_dir = _private_dir()
        context = None
        if tls_cert_file and tls_key_file:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(tls_cert_file, tls_key_file)
        return cls(
            listen=listen,
            grpc_target=f"unix:{os.path.join(private_dir, 'grpc.sock')}",
            auth=auth,
            session_seconds=session_seconds,
            ssl_context=context,
            max_message_bytes=max_message_bytes,
            grace_seconds=grace_seconds,
            private_dir=private_dir,
        )

    @property
    def grpc_ports(self) -> list[str]:
        """The addresses the gateway's gRPC server must also listen on, without TLS."""
        return [self._grpc_target] if self._grpc_target.startswith("unix:") else []

    @property
    def auth(self) -> bool:
        """Whether signing in is required."""
        return self._auth

    @property
    def secure(self) -> bool:
        """Whether the console serves HTTPS."""
        return self._ssl is not None

    def _client(self, token: str | None, tenant: str) -> AsyncCheckpointClient:
        metadata = [(TENANT_HEADER, tenant)] if tenant else []
        return AsyncCheckpointClient(
            self._grpc_target,
            token=token,
            metadata=metadata,
            max_message_bytes=self._max_message_bytes,
        )

    # -- start and stop ----------------------------------------------------------------

    async def start(self) -> None:
        """Listen (OSError when the address cannot be bound)."""
        from . import _pages  # the pages need this module's Console

        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        app.on_response_prepare.append(self._headers)
        _pages.add_routes(app, self)
        app.router.add_get("/login", self._login_form)
        app.router.add_post("/login", self._login)
        app.router.add_post("/logout", self._logout)
        app.router.add_get("/static/console.css", self._stylesheet)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=self._grace
        )
        await runner.setup()
        host, _, port = self._listen.rpartition(":")
        site = web.TCPSite(runner, host.strip("[]"), int(port), ssl_context=self._ssl)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0]
        self.port = int(bound[1])
        shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
        self.url = f"{'https' if self.secure else 'http'}://{shown}:{self.port}/"

    async def stop(self) -> None:
        """Stop listening, let the pages being served finish (up to ``grace_seconds``),
        end every session and remove the private socket's directory. Safe twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._sessions.close()
        if self._anonymous is not None:
            await self._anonymous.close()
        self.remove_private_dir()

    def remove_private_dir(self) -> None:
        """Remove the private socket's directory (when the gateway could not start)."""
        if self._private_dir is not None:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            self._private_dir = None

    # -- rendering ---------------------------------------------------------------------

    def render(
        self,
        request: web.Request,
        template: str,
        *,
        status: int = 200,
        **context: Any,
    ) -> web.Response:
        """A page from ``template``, with what every page needs."""
        session: Session | None = request.get("session")
        tenant = request.get("tenant", "")

        def link(path: str, **params: Any) -> str:
            """A URL within the console that keeps the tenant being looked at."""
            query = {k: v for k, v in params.items() if v is not None}
            if tenant and "tenant" not in query:
                query["tenant"] = tenant
            return path + ("?" + urlencode(query, doseq=True) if query else "")

        html = self._templates.get_template(template).render(
            auth=self._auth,
            signed_in=session is not None and self._auth,
            csrf=session.csrf if session is not None else "",
            tenant=tenant,
            link=link,
            **context,
        )
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def login_page(
        self, request: web.Request, message: str = "", *, status: int = 401
    ) -> web.Response:
        """The sign-in form; it brings the person back to where they were going."""
        target = request.query.get("next", "") if request.path == "/login" else request.path_qs
        if request.method != "GET":
            target = ""
        return self.render(
            request, "login.html", status=status, message=message, next=_safe_next(target)
        )

    # -- the guard ---------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every request: a loopback Host when nobody signs in, a same-origin form post,
        a live session for every page but sign-in; gateway refusals become pages."""
        if not self._auth and not is_loopback(_host_name(request.host)):
            return web.Response(status=421, text="this console answers loopback names only")
        if request.method == "POST" and not self._same_origin(request):
            return web.Response(status=403, text="cross-site form posts are refused")
        if request.path in ("/login", "/static/console.css"):
            return await handler(request)
        session = self._anonymous or await self._sessions.get(request.cookies.get(self._cookie))
        if session is None:
            return self.login_page(request)
        request["session"] = session
        try:
            tenant = request.query.get("tenant", "")
            if tenant:
                try:
                    check_tenant(tenant)
                except ValueError as exc:
                    raise ConsoleError(400, str(exc)) from None
                request["tenant"] = tenant
            try:
                return await handler(request)
            finally:
                for client in session.evicted_clients():
                    await client.close()
        except Unauthenticated:
            # Revoked, expired (a JWT) or a principals file that changed: sign in again.
            await self._sessions.end(session.id)
            request["session"] = None
            response = self.login_page(
                request, "Your session ended: the gateway no longer accepts its token."
            )
            response.del_cookie(self._cookie, path="/")
            return response
        except ConsoleError as exc:
            return self._error(request, exc.status, str(exc))
        except PermissionDenied as exc:
            return self._error(request, 403, f"The gateway refused: {exc}")
        except NotFound as exc:
            return self._error(request, 404, f"Not found: {exc}")
        except InvalidArgument as exc:
            return self._error(request, 400, f"The gateway refused the request: {exc}")
        except ResourceExhausted as exc:
            return self._error(request, 429, f"Too many calls: {exc}")
        except (Unavailable, DeadlineExceeded) as exc:
            return self._error(request, 503, f"The gateway cannot answer now: {exc}")
        except CheckpointError as exc:
            log.warning("console page %s failed: %s", request.path, exc)
            return self._error(request, 502, f"The gateway failed: {exc}")
        except web.HTTPException:
            raise
        except Exception:
            # A bug of the console: logged with its traceback, shown as a page that
            # gives none of it away.
            log.exception("console page %s failed", request.path)
            return self._error(request, 500, "The console failed to show this page.")

    def _error(self, request: web.Request, status: int, message: str) -> web.Response:
        return self.render(request, "error.html", status=status, message=message)

    def _same_origin(self, request: web.Request) -> bool:
        """A form post must come from the console's own pages (browsers send Origin
        with every POST; a post without one is not from a browser's cross-site form)."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        parts = urlsplit(origin)
        return parts.scheme == request.scheme and parts.netloc == request.host

    @property
    def _cookie(self) -> str:
        return SECURE_COOKIE if self.secure else COOKIE

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """Headers on every answer: no scripts, no framing, nothing cached, no referrer
        to other sites (within the console it makes form posts carry their Origin)."""
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self' data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.path != "/static/console.css":
            response.headers["Cache-Control"] = "no-store"
        if self.secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"

    # -- sign-in and sign-out ----------------------------------------------------------

    async def _login_form(self, request: web.Request) -> web.StreamResponse:
        if not self._auth:
            raise web.HTTPSeeOther("/")
        return self.login_page(request, status=200)

    async def _login(self, request: web.Request) -> web.StreamResponse:
        """Check the token with a read of the gateway; keep it in a new session."""
        if not self._auth:
            raise web.HTTPSeeOther("/")
        form = await request.post()
        token = str(form.get("token", "")).strip()
        target = _safe_next(str(form.get("next", "")))
        if not token:
            return self.render(
                request, "login.html", status=401, message="Enter a token.", next=target
            )
        session = self._sessions.new(token)
        try:
            await session.client().executions(limit=1)
        except (Unauthenticated, PermissionDenied) as exc:
            await session.close()
            denied = isinstance(exc, PermissionDenied)
            log.info("console sign-in refused: %s", "lacks the read role" if denied else exc)
            message = (
                "This token's principal may not read checkpoints (it needs the read or admin role)."
                if denied
                else "The gateway did not accept this token."
            )
            return self.render(
                request,
                "login.html",
                status=403 if denied else 401,
                message=message,
                next=target,
            )
        except CheckpointError as exc:
            await session.close()
            return self.render(
                request,
                "login.html",
                status=503,
                message=f"The gateway cannot check the token now: {exc}",
                next=target,
            )
        await self._sessions.add(session)
        response = web.HTTPSeeOther(target or "/")
        response.set_cookie(
            self._cookie,
            session.id,
            path="/",
            httponly=True,
            samesite="Strict",
            secure=self.secure,
        )
        return response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        session: Session | None = request.get("session")
        form = await request.post()
        if session is None or form.get("csrf") != session.csrf:
            raise ConsoleError(403, "the sign-out form is stale; reload the page")
        await self._sessions.end(session.id)
        response = web.HTTPSeeOther("/login")
        response.del_cookie(self._cookie, path="/")
        return response

    async def _stylesheet(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=self._css,
            content_type="text/css",
            headers={"Cache-Control": "max-age=3600"},
        )


def _host_name(host: str | None) -> str:
    """The name of a Host header without its port (``[::1]:8080`` -> ``[::1]``)."""
    if not host:
        return ""
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _safe_next(target: str) -> str:
    """A place within the console to go after signing in; anything else is dropped, so
    the sign-in form cannot send a person to another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    with contextlib.suppress(ValueError):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return ""


#: The longest path a Unix socket may have on Linux (sun_path is 108 bytes, NUL included).
_SOCKET_PATH_MAX = 107


def _private_dir() -> str:
    """A new directory only this user may enter (mode 0700), for the private socket.

    Under $TMPDIR as usual; under /tmp when $TMPDIR is so deep that the socket's path
    would pass the Unix limit (gRPC would then only fail to listen, and that reads like
    a port problem).
    """
    private_dir = tempfile.mkdtemp(prefix="checkpoint-gateway-console-")
    if len(os.path.join(private_dir, "grpc.sock")) > _SOCKET_PATH_MAX:
        os.rmdir(private_dir)
        private_dir = tempfile.mkdtemp(prefix="cgw-console-", dir="/tmp")
    return private_dir
