"""Changing what agents saved: ``rm``, ``prune`` and ``copy``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from checkpoint_client import CheckpointStore, NotFound

from .arguments import add_output, parse_duration, parse_metadata
from .errors import EXIT_OK, UsageError
from .output import Output
from .progress import track
from .target import add_store_arguments, opened

__all__ = ["add_parsers", "all_executions"]

#: Executions per Prune call.
PRUNE_BATCH = 100


def add_parsers(commands: Any) -> None:
    """Add ``rm``, ``prune`` and ``copy``."""
    p = commands.add_parser(
        "rm",
        help="remove a checkpoint, an execution (or one namespace), or what matches metadata",
        description="Remove one checkpoint (EXECUTION CHECKPOINT), every checkpoint of an "
        "execution (EXECUTION, or --namespace for one namespace), or every checkpoint whose "
        "metadata matches --where (in EXECUTION if given). Pending writes go with them. "
        "Exit 1 when the checkpoint or execution named is not there.",
    )
    p.add_argument("execution", nargs="?", help="the execution id")
    p.add_argument("checkpoint", nargs="?", help="a checkpoint id")
    p.add_argument("--namespace", help="only this namespace (default: every one)")
    p.add_argument(
        "--where",
        action="append",
        metavar="KEY=VALUE",
        help="remove checkpoints whose metadata has KEY=VALUE (repeatable; all must match)",
    )
    add_store_arguments(p)
    add_output(p)
    p.set_defaults(admin_run=_rm)

    p = commands.add_parser(
        "prune",
        help="thin executions to each namespace's newest checkpoint, or delete them, in bulk",
        description="Thin the named executions, or --all of them (optionally only those "
        "idle for a while): keep_latest keeps each namespace's newest checkpoint with its "
        "writes and channels; delete removes everything. Shows progress on a terminal.",
    )
    p.add_argument("executions", nargs="*", metavar="EXECUTION", help="execution ids")
    p.add_argument("--all", action="store_true", help="every execution (of the tenant)")
    p.add_argument(
        "--idle-for",
        metavar="DURATION",
        help="with --all: only executions last saved to longer ago than this (90s, 12h, 7d)",
    )
    p.add_argument(
        "--strategy",
        choices=("keep_latest", "delete"),
        default="keep_latest",
        help="keep_latest (default) or delete",
    )
    p.add_argument("--dry-run", action="store_true", help="say which executions, change nothing")
    add_store_arguments(p)
    add_output(p)
    p.set_defaults(admin_run=_prune)

    p = commands.add_parser(
        "copy",
        help="copy an execution to a new id (every namespace, checkpoint and write)",
        description="Copy an execution to a new id: every namespace, checkpoint (ids, "
        "parents, versions and times kept) and pending write. Exit 1 when the source holds "
        "nothing or the target already holds checkpoints.",
    )
    p.add_argument("source", metavar="SOURCE", help="the execution to copy")
    p.add_argument("dest", metavar="TARGET", help="the new execution id")
    add_store_arguments(p)
    add_output(p)
    p.set_defaults(admin_run=_copy)


async def all_executions(store: CheckpointStore) -> list[tuple[str, datetime | None]]:
    """Every execution's ``(id, updated_at)``, reading page after page."""
    found: list[tuple[str, datetime | None]] = []
    token: str | None = None
    while True:
        page = await store.executions(limit=1000, page_token=token)
        found += [(e.execution_id, e.updated_at) for e in page.executions]
        token = page.next_page_token
        if token is None:
            return found


async def _rm(args: argparse.Namespace) -> int:
    where = parse_metadata(args.where, "--where")
    out = Output(args.output)
    if where and args.checkpoint:
        raise UsageError("--where removes by metadata: name no CHECKPOINT with it")
    if not where and not args.execution:
        raise UsageError("name an EXECUTION (and a CHECKPOINT), or give --where KEY=VALUE")
    if args.checkpoint and args.namespace is None:
        args.namespace = ""
    async with opened(args) as store:
        if where:
            if args.namespace is not None:
                raise UsageError("--where spans namespaces: --namespace does not go with it")
            removed = await store.delete_where(where, execution_id=args.execution)
            what = "matching checkpoints"
        elif args.checkpoint:
            if not await store.delete(args.execution, args.checkpoint, namespace=args.namespace):
                raise NotFound(
                    f"execution {args.execution!r} has no checkpoint {args.checkpoint!r}"
                    + (f" in namespace {args.namespace!r}" if args.namespace else "")
                )
            removed, what = 1, f"checkpoint {args.checkpoint}"
        else:
            removed = await store.clear(args.execution, namespace=args.namespace)
            if not removed:
                raise NotFound(
                    f"execution {args.execution!r} holds no checkpoints"
                    + (f" in namespace {args.namespace!r}" if args.namespace is not None else "")
                )
            what = f"execution {args.execution}"
    if out.json:
        out.data({"removed": removed})
    else:
        out.show(f"removed {removed} checkpoint{'s' if removed != 1 else ''} ({what})")
    return EXIT_OK


async def _prune(args: argparse.Namespace) -> int:
    out = Output(args.output)
    if bool(args.executions) == bool(args.all):
        raise UsageError("name the EXECUTIONs to prune, or give --all")
    if args.idle_for and not args.all:
        raise UsageError("--idle-for goes with --all")
    idle = parse_duration(args.idle_for, "--idle-for") if args.idle_for else None
    removed = 0
    async with opened(args) as store:
        if args.all:
            known = await all_executions(store)
            cutoff = None if idle is None else datetime.now(UTC) - idle
            chosen = sorted(
                eid
                for eid, updated in known
                if cutoff is None or (updated is not None and updated < cutoff)
            )
        else:
            chosen = list(dict.fromkeys(args.executions))
        if not args.dry_run:
            with track(f"prune ({args.strategy})", total=len(chosen), unit="executions") as tracker:
                for i in range(0, len(chosen), PRUNE_BATCH):
                    batch = chosen[i : i + PRUNE_BATCH]
                    removed += await store.prune(batch, strategy=args.strategy)
                    tracker.advance(len(batch))
    if out.json:
        out.data(
            {
                "executions": len(chosen),
                "removed": removed,
                "strategy": args.strategy,
                "dry_run": bool(args.dry_run),
                **({"execution_ids": chosen} if args.dry_run else {}),
            }
        )
    elif args.dry_run:
        out.table(["WOULD PRUNE"], [(eid,) for eid in chosen])
        out.show(f"{len(chosen)} executions would be pruned ({args.strategy}); nothing changed")
    else:
        out.show(
            f"pruned {len(chosen)} executions ({args.strategy}): removed {removed} checkpoints"
        )
    return EXIT_OK


async def _copy(args: argparse.Namespace) -> int:
    out = Output(args.output)
    async with opened(args) as store:
        copied = await store.copy_execution(args.source, args.dest)
    if out.json:
        out.data({"copied": copied, "source": args.source, "target": args.dest})
    else:
        out.show(f"copied {copied} checkpoints from {args.source} to {args.dest}")
    return EXIT_OK
