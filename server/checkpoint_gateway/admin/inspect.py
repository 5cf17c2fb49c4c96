"""Seeing what agents saved: ``executions``, ``history``, ``show`` and ``diff``."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import defaultdict
from typing import Any

from rich.text import Text
from rich.tree import Tree

from checkpoint_client import Checkpoint, CheckpointStore, ExecutionInfo, iter_checkpoints

from .arguments import add_output, parse_metadata
from .errors import EXIT_OK, AdminError, UsageError
from .output import (
    Output,
    checkpoint_json,
    short,
    stamp,
    summary,
    value_text,
)
from .target import add_store_arguments, opened

__all__ = ["add_parsers", "changes_between"]

#: Latest-checkpoint look-ups in flight at once while listing executions.
_CONCURRENCY = 16


def add_parsers(commands: Any) -> None:
    """Add ``executions``, ``history``, ``show`` and ``diff``."""
    p = commands.add_parser(
        "executions",
        help="list executions (threads), the most recently saved to first",
        description="List executions (threads), the most recently saved to first, with each "
        "one's newest checkpoint. One page at a time: --page-token continues, --all reads "
        "every page.",
    )
    p.add_argument("--limit", type=int, default=50, help="executions per page (default 50)")
    p.add_argument("--page-token", help="the next_page_token of the previous page")
    p.add_argument("--all", action="store_true", help="every page")
    p.add_argument("--prefix", help="only execution ids that start with this")
    p.add_argument(
        "--metadata",
        action="append",
        metavar="KEY=VALUE",
        help="only executions with a checkpoint whose metadata has KEY=VALUE (repeatable)",
    )
    _common(p)
    p.set_defaults(admin_run=_executions)

    p = commands.add_parser(
        "history",
        help="an execution's checkpoints over every namespace, as a tree of parents and forks",
        description="An execution's checkpoints, per namespace, as a tree: each line follows "
        "its parent, and a checkpoint with several children shows each later child as a fork.",
    )
    p.add_argument("execution", help="the execution id")
    p.add_argument("--namespace", help="only this namespace (default: every one)")
    p.add_argument(
        "--limit",
        type=int,
        default=1000,
        help="the newest N checkpoints (default 1000; 0 for all)",
    )
    _common(p)
    p.set_defaults(admin_run=_history)

    p = commands.add_parser(
        "show",
        help="one checkpoint: state, metadata, channels and pending writes",
        description="One checkpoint with its state decoded by content type (JSON "
        "pretty-printed, other bytes summarised), metadata, channels and pending writes.",
    )
    p.add_argument("execution", help="the execution id")
    p.add_argument("checkpoint", help="a checkpoint id, or 'latest'")
    p.add_argument("--namespace", default="", help="its namespace (default '')")
    _common(p)
    p.set_defaults(admin_run=_show)

    p = commands.add_parser(
        "diff",
        help="what changed between two checkpoints, key by key (JSON-aware)",
        description="Compare two checkpoints' states, channels, metadata and next nodes: "
        "the keys and list items added, removed or changed. Non-JSON values are compared "
        "by their bytes.",
    )
    p.add_argument("execution", help="the execution id")
    p.add_argument("a", metavar="CHECKPOINT_A", help="a checkpoint id, or 'latest'")
    p.add_argument("b", metavar="CHECKPOINT_B", help="a checkpoint id, or 'latest'")
    p.add_argument("--namespace", default="", help="their namespace (default '')")
    p.add_argument("--b-execution", help="CHECKPOINT_B is in this execution instead")
    p.add_argument("--b-namespace", help="CHECKPOINT_B is in this namespace instead")
    _common(p)
    p.set_defaults(admin_run=_diff)


def _common(p: argparse.ArgumentParser) -> None:
    add_store_arguments(p)
    add_output(p)


# -- executions --------------------------------------------------------------------------


async def _executions(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    wanted = parse_metadata(args.metadata)
    out = Output(args.output)
    found: list[tuple[ExecutionInfo, Checkpoint | None]] = []
    token = args.page_token
    async with opened(args) as store:
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def newest(info: ExecutionInfo) -> tuple[ExecutionInfo, Checkpoint | None]:
            async with gate:
                page = await store.list(
                    info.execution_id,
                    all_namespaces=True,
                    limit=1,
                    metadata_filter=wanted or None,
                )
            return info, page.checkpoints[0] if page.checkpoints else None

        while True:
            page = await store.executions(limit=args.limit, page_token=token)
            shown = [
                e
                for e in page.executions
                if not args.prefix or e.execution_id.startswith(args.prefix)
            ]
            for info, cp in await asyncio.gather(*(newest(e) for e in shown)):
                if cp is not None or not wanted:
                    found.append((info, cp))
            token = page.next_page_token
            if not args.all or token is None:
                break
    if out.json:
        out.data(
            {
                "executions": [
                    {
                        "execution_id": info.execution_id,
                        "updated_at": stamp(info.updated_at),
                        "latest": None if cp is None else checkpoint_json(cp, full=False),
                    }
                    for info, cp in found
                ],
                "next_page_token": token,
            }
        )
        return EXIT_OK
    out.table(
        ["EXECUTION", "UPDATED", "LATEST CHECKPOINT", "NAMESPACE", "VERSION", "NODE", "NEXT"],
        [
            (
                info.execution_id,
                short(info.updated_at),
                cp.checkpoint_id if cp else "",
                repr(cp.namespace) if cp else "",
                cp.version if cp else "",
                cp.node if cp else "",
                ",".join(cp.next_nodes) if cp else "",
            )
            for info, cp in found
        ],
    )
    if token:
        out.show(Text(f"more: --page-token {token}"))
    return EXIT_OK


# -- history -----------------------------------------------------------------------------


async def _history(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError("--limit must be 0 (all) or more")
    out = Output(args.output)
    found: list[Checkpoint] = []
    async with opened(args) as store:
        async for cp in iter_checkpoints(
            store,
            args.execution,
            namespace=args.namespace or "",
            all_namespaces=args.namespace is None,
            with_writes=True,
            page_size=min(args.limit, 500) if args.limit else 500,
        ):
            found.append(cp)
            if args.limit and len(found) >= args.limit:
                break
    if not found:
        where = "" if args.namespace is None else f" in namespace {args.namespace!r}"
        raise AdminError(f"execution {args.execution!r} holds no checkpoints{where}")
    lineages: dict[str, list[Checkpoint]] = defaultdict(list)
    for cp in found:
        lineages[cp.namespace].append(cp)
    for items in lineages.values():
        items.sort(key=lambda cp: cp.version)
    if out.json:
        out.data(
            {
                "execution_id": args.execution,
                "checkpoints": len(found),
                "namespaces": {ns: _lineage_json(lineages[ns]) for ns in sorted(lineages)},
            }
        )
        return EXIT_OK
    tree = Tree(
        Text(f"execution {args.execution}: {len(found)} checkpoints in {len(lineages)} namespaces")
    )
    for ns in sorted(lineages):
        _lineage_tree(tree.add(Text(f"namespace {ns!r}")), lineages[ns])
    out.show(tree)
    return EXIT_OK


def _children(items: list[Checkpoint]) -> tuple[list[Checkpoint], dict[str, list[Checkpoint]]]:
    """(roots, children by parent id), each in version order. A root is a checkpoint
    whose parent is not among ``items`` (none, or older than what was read)."""
    ids = {cp.checkpoint_id for cp in items}
    children: dict[str, list[Checkpoint]] = defaultdict(list)
    roots: list[Checkpoint] = []
    for cp in items:  # items are in version order, so each list is too
        if cp.parent_id and cp.parent_id in ids:
            children[cp.parent_id].append(cp)
        else:
            roots.append(cp)
    return roots, children


def _lineage_json(items: list[Checkpoint]) -> list[dict[str, Any]]:
    _, children = _children(items)
    forks = {c.checkpoint_id for kids in children.values() for c in kids[1:]}
    return [
        {
            **checkpoint_json(cp, full=False),
            "children": [c.checkpoint_id for c in children.get(cp.checkpoint_id, [])],
            "fork": cp.checkpoint_id in forks,
        }
        for cp in items
    ]


def _label(cp: Checkpoint, *, fork: bool = False, orphan: bool = False) -> Text:
    text = Text()
    if fork:
        text.append("fork ", style="bold magenta")
    text.append(f"v{cp.version} ", style="bold")
    text.append(cp.checkpoint_id, style="cyan")
    text.append(f"  {cp.node or '-'} -> {','.join(cp.next_nodes) or '-'}")
    for key in ("source", "step"):
        if key in cp.metadata:
            text.append(f"  {key}={json.dumps(cp.metadata[key])}")
    if cp.pending_writes:
        text.append(f"  writes={len(cp.pending_writes)}")
    text.append(f"  {short(cp.created_at)}", style="dim")
    if orphan and cp.parent_id:
        text.append(f"  (parent {cp.parent_id} not shown)", style="dim")
    return text


def _lineage_tree(branch: Tree, items: list[Checkpoint]) -> None:
    """A lineage under ``branch``: a line of descent runs down one level (no staircase
    of indents), and a checkpoint's later children open a fork branch under it."""
    roots, children = _children(items)
    root_ids = {r.checkpoint_id for r in roots}
    # (where to add, first checkpoint of the line, is it a fork); no recursion, so a
    # long lineage cannot exhaust the stack.
    todo: list[tuple[Tree, Checkpoint, bool]] = [(branch, r, False) for r in reversed(roots)]
    while todo:
        where, cp, fork = todo.pop()
        first = True
        current: Checkpoint | None = cp
        while current is not None:
            orphan = current.checkpoint_id in root_ids
            node = where.add(_label(current, fork=fork and first, orphan=orphan))
            first = False
            kids = children.get(current.checkpoint_id, [])
            todo.extend((node, k, True) for k in reversed(kids[1:]))
            current = kids[0] if kids else None


# -- show --------------------------------------------------------------------------------


async def _get(store: CheckpointStore, execution: str, checkpoint: str, ns: str) -> Checkpoint:
    if checkpoint == "latest":
        return await store.latest(execution, namespace=ns)
    return await store.load(execution, checkpoint, namespace=ns)


async def _show(args: argparse.Namespace) -> int:
    out = Output(args.output)
    async with opened(args) as store:
        cp = await _get(store, args.execution, args.checkpoint, args.namespace)
    if out.json:
        out.data(checkpoint_json(cp))
        return EXIT_OK
    out.table(
        ["FIELD", "VALUE"],
        [
            ("execution", cp.execution_id),
            ("namespace", repr(cp.namespace)),
            ("checkpoint", cp.checkpoint_id),
            ("parent", cp.parent_id or "-"),
            ("version", cp.version),
            ("created", stamp(cp.created_at)),
            ("node", cp.node or "-"),
            ("next", ", ".join(cp.next_nodes) or "-"),
            ("state", f"{len(cp.state_bytes)} bytes {cp.content_type}"),
        ],
    )
    out.show(Text("\nmetadata", style="bold"), Text(json.dumps(cp.metadata, indent=2)))
    out.show(Text("\nstate", style="bold"), Text(value_text(cp.state_bytes, cp.content_type)))
    for name, ch in sorted(cp.channels.items()):
        out.show(
            Text(f"\nchannel {name} (version {ch.version}, {ch.content_type})", style="bold"),
            Text(value_text(ch.value_bytes or b"", ch.content_type)),
        )
    if cp.pending_writes:
        out.show(Text(f"\npending writes ({len(cp.pending_writes)})", style="bold"))
        out.table(
            ["TASK", "IDX", "CHANNEL", "VALUE"],
            [
                (w.task_id, w.idx, w.channel, summary(w.value_bytes, w.content_type))
                for w in cp.pending_writes
            ],
        )
    return EXIT_OK


# -- diff --------------------------------------------------------------------------------


def changes_between(a: Checkpoint, b: Checkpoint) -> list[dict[str, Any]]:
    """Every difference from ``a`` to ``b`` (the console's diff, ``views.diff``):
    ``{"change", "path", "before", "after"}`` with paths such as ``state.messages[2]``,
    in path order."""
    from ..views.diff import diff_checkpoints  # deepdiff is most of `diff`'s start-up

    return [
        {"change": c.kind, "path": c.path, "before": c.before, "after": c.after}
        for c in diff_checkpoints(a, b)
    ]


async def _diff(args: argparse.Namespace) -> int:
    out = Output(args.output)
    b_execution = args.b_execution or args.execution
    b_namespace = args.namespace if args.b_namespace is None else args.b_namespace
    async with opened(args) as store:
        a = await _get(store, args.execution, args.a, args.namespace)
        b = await _get(store, b_execution, args.b, b_namespace)
    found = changes_between(a, b)
    if out.json:
        out.data(
            {
                "a": checkpoint_json(a, full=False),
                "b": checkpoint_json(b, full=False),
                "same": not found,
                "changes": found,
            }
        )
        return EXIT_OK
    out.show(Text(f"a: v{a.version} {a.checkpoint_id}\nb: v{b.version} {b.checkpoint_id}"))
    if not found:
        out.show(Text("no differences"))
        return EXIT_OK
    out.table(
        ["CHANGE", "PATH", "BEFORE", "AFTER"],
        [
            (
                c["change"],
                c["path"],
                "" if c["change"] == "added" else _cell(c["before"]),
                "" if c["change"] == "removed" else _cell(c["after"]),
            )
            for c in found
        ],
    )
    return EXIT_OK


def _cell(value: Any, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."
