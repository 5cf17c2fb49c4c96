"""The console's pages: executions, search by metadata, an execution's history, one
checkpoint, its lineage, its raw state, and the diff of two checkpoints.

Each page makes a few gateway calls of one page each (``List`` with a page token, never
a walk of a whole history), so a page of a 10,000-checkpoint execution costs what a page
of a 10-checkpoint one does. Decoding and diffing states is CPU work: it runs in a
thread, so the gateway's event loop keeps serving calls meanwhile.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from checkpoint_client import AsyncCheckpointClient, Checkpoint

from ..views.decode import decode
from ..views.diff import diff_checkpoints
from ..views.pairs import parse_pairs
from ._history import lay_out
from ._server import ConsoleError

if TYPE_CHECKING:
    from ._server import Console

__all__ = ["add_routes", "parse_filter"]

#: Namespaces shown as links above a history (the first page of them).
_NAMESPACES_SHOWN = 100


def parse_filter(text: str) -> dict[str, Any]:
    """A metadata filter as typed: a JSON object, or ``key=value`` words where each value
    is read as JSON when it parses (``step=3`` is the number 3) and as text otherwise."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise ConsoleError(400, f"the filter is not a JSON object: {exc}") from None
        if not isinstance(found, dict):
            raise ConsoleError(400, "the filter is not a JSON object")
        return found
    try:
        return parse_pairs(text.split())
    except ValueError as exc:
        raise ConsoleError(400, f"{exc}, or a JSON object") from None


def checkpoint_ref(cp: Checkpoint) -> str:
    """How a form names a checkpoint of an execution: ``["namespace", "id"]``."""
    return json.dumps([cp.namespace, cp.checkpoint_id], ensure_ascii=False)


def _ref(text: str) -> tuple[str, str]:
    try:
        found = json.loads(text)
    except ValueError:
        found = None
    if (
        not isinstance(found, list)
        or len(found) != 2
        or not all(isinstance(part, str) for part in found)
    ):
        raise ConsoleError(400, f"{text[:80]!r} does not name a checkpoint")
    return found[0], found[1]


def _required(request: web.Request, name: str) -> str:
    value = request.query.get(name, "")
    if not value:
        raise ConsoleError(400, f"the {name!r} parameter is missing")
    return value


def _number(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return min(high, max(low, int(raw)))
    except ValueError:
        raise ConsoleError(400, f"{name} must be a whole number") from None


class _Pages:
    """The page handlers of one console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def _client(self, request: web.Request) -> AsyncCheckpointClient:
        session = request["session"]
        client: AsyncCheckpointClient = session.client(request.get("tenant", ""))
        return client

    def _paging(self, request: web.Request) -> tuple[str | None, int, int]:
        """(page token, page number, page size) of a paged listing."""
        size = _number(request, "size", self.console.page_size, 1, 500)
        number = _number(request, "page", 1, 1, 10**9)
        return request.query.get("page_token") or None, number, size

    async def executions(self, request: web.Request) -> web.StreamResponse:
        token, number, size = self._paging(request)
        page = await self._client(request).executions(limit=size, page_token=token)
        return self.console.render(
            request,
            "executions.html",
            executions=page.executions,
            next_token=page.next_page_token,
            page=number,
            size=size,
            first=(number - 1) * size + 1,
        )

    async def search(self, request: web.Request) -> web.StreamResponse:
        text = request.query.get("filter", "")
        metadata_filter = parse_filter(text)
        token, number, size = self._paging(request)
        page = await self._client(request).search(metadata_filter, limit=size, page_token=token)
        return self.console.render(
            request,
            "search.html",
            filter=text,
            checkpoints=page.checkpoints,
            next_token=page.next_page_token,
            page=number,
            size=size,
            first=(number - 1) * size + 1,
        )

    async def execution(self, request: web.Request) -> web.StreamResponse:
        execution_id = _required(request, "id")
        namespace = request.query.get("ns")  # absent: every namespace
        token, number, size = self._paging(request)
        client = self._client(request)
        namespaces, page = await asyncio.gather(
            client.namespaces(execution_id, limit=_NAMESPACES_SHOWN),
            client.list(
                execution_id,
                namespace=namespace or "",
                all_namespaces=namespace is None,
                limit=size,
                page_token=token,
            ),
        )
        first = (number - 1) * size + 1
        return self.console.render(
            request,
            "execution.html",
            execution_id=execution_id,
            namespace=namespace,
            namespaces=namespaces.namespaces,
            more_namespaces=namespaces.next_page_token is not None,
            rows=lay_out(page.checkpoints, first),
            ref=checkpoint_ref,
            next_token=page.next_page_token,
            page=number,
            size=size,
            first=first,
        )

    async def checkpoint(self, request: web.Request) -> web.StreamResponse:
        execution_id = _required(request, "execution")
        checkpoint_id = _required(request, "id")
        namespace = request.query.get("ns", "")
        cp = await self._client(request).load(execution_id, checkpoint_id, namespace=namespace)

        def decode_all() -> dict[str, Any]:
            return {
                "state": decode(cp.state_bytes, cp.content_type),
                "channels": [
                    (name, ch, decode(ch.value_bytes or b"", ch.content_type))
                    for name, ch in sorted(cp.channels.items())
                ],
                "writes": [(w, decode(w.value_bytes, w.content_type)) for w in cp.pending_writes],
                "metadata": json.dumps(cp.metadata, indent=2, ensure_ascii=False),
            }

        decoded = await asyncio.to_thread(decode_all)
        return self.console.render(
            request,
            "checkpoint.html",
            cp=cp,
            ref=checkpoint_ref,
            parent_ref=json.dumps([cp.namespace, cp.parent_id], ensure_ascii=False),
            **decoded,
        )

    async def raw(self, request: web.Request) -> web.StreamResponse:
        """The state's exact bytes, as a download (never rendered by the browser)."""
        execution_id = _required(request, "execution")
        checkpoint_id = _required(request, "id")
        namespace = request.query.get("ns", "")
        cp = await self._client(request).load(execution_id, checkpoint_id, namespace=namespace)
        return web.Response(
            body=cp.state_bytes,
            content_type="application/octet-stream",
            headers={"Content-Disposition": 'attachment; filename="state.bin"'},
        )

    async def lineage(self, request: web.Request) -> web.StreamResponse:
        execution_id = _required(request, "execution")
        checkpoint_id = _required(request, "id")
        namespace = request.query.get("ns", "")
        token, number, size = self._paging(request)
        page = await self._client(request).ancestors(
            execution_id,
            checkpoint_id,
            namespace=namespace,
            include_self=True,
            limit=size,
            page_token=token,
        )
        first = (number - 1) * size + 1
        return self.console.render(
            request,
            "lineage.html",
            execution_id=execution_id,
            namespace=namespace,
            checkpoint_id=checkpoint_id,
            rows=lay_out(page.checkpoints, first),
            ref=checkpoint_ref,
            next_token=page.next_page_token,
            page=number,
            size=size,
            first=first,
        )

    async def diff(self, request: web.Request) -> web.StreamResponse:
        execution_id = _required(request, "execution")
        refs = [_ref(value) for value in request.query.getall("cp", [])]
        if len(refs) != 2:
            raise ConsoleError(400, f"choose two checkpoints to compare, not {len(refs)}")
        client = self._client(request)
        a, b = await asyncio.gather(
            *(client.load(execution_id, cid, namespace=ns) for ns, cid in refs)
        )
        # From the older to the newer, whichever was ticked first.
        if (a.created_at, a.version) > (b.created_at, b.version):
            a, b = b, a
        try:
            changes = await asyncio.to_thread(diff_checkpoints, a, b)
        except RecursionError:
            raise ConsoleError(422, "these states nest too deeply to compare") from None
        return self.console.render(
            request,
            "diff.html",
            execution_id=execution_id,
            a=a,
            b=b,
            changes=changes,
            shown=_shown,
            ref=checkpoint_ref,
        )


def _shown(value: Any) -> str:
    """A value of a diff, as compact JSON (cut when long)."""
    text = json.dumps(value, ensure_ascii=False, default=repr, indent=1)
    return text if len(text) <= 4000 else text[:4000] + " …"


def add_routes(app: web.Application, console: Console) -> None:
    """Add the console's pages to ``app``."""
    pages = _Pages(console)
    app.router.add_get("/", pages.executions)
    app.router.add_get("/search", pages.search)
    app.router.add_get("/execution", pages.execution)
    app.router.add_get("/checkpoint", pages.checkpoint)
    app.router.add_get("/checkpoint/raw", pages.raw)
    app.router.add_get("/lineage", pages.lineage)
    app.router.add_get("/diff", pages.diff)
