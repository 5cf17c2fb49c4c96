"""The admin commands of ``checkpoint-gateway``: see and manage what agents saved.

    executions   list executions (threads), with filters and paging
    history      an execution's checkpoints over every namespace, as a tree with forks
    show         one checkpoint: state decoded by content type, metadata, channels, writes
    diff         two checkpoints, JSON-aware: the changed keys and list items
    rm           remove a checkpoint, an execution, or what matches metadata
    prune        thin executions (keep each namespace's newest) or delete them, in bulk
    copy         copy an execution to a new id
    export       stream checkpoints to a portable file with a manifest and checksums
    import       load an export: idempotent, resumable, verified by reading back
    copy-store   move a whole store to another backend, proven by counts and checksums

Each works against a running gateway (``--target``, with TLS and a token; the gateway
enforces roles and tenants) or straight on a backend URL (``--backend``): both are a
``CheckpointStore``, and every command is written once against that interface.
Exit codes and error lines: see ``errors``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from checkpoint_client import CheckpointError

from .. import secrets
from . import changes, inspect, transfer
from .errors import EXIT_FAILED, AdminError
from .target import ENV_TOKEN

__all__ = ["add_commands", "is_admin", "run_admin"]

_MODULES = (inspect, changes, transfer)


def add_commands(commands: Any) -> None:
    """Add every admin command to ``commands`` (``ArgumentParser.add_subparsers()``)."""
    for module in _MODULES:
        module.add_parsers(commands)


def is_admin(args: argparse.Namespace) -> bool:
    """Whether the parsed command is an admin command."""
    return hasattr(args, "admin_run")


def run_admin(args: argparse.Namespace) -> int:
    """Run the parsed admin command; return its exit code. Errors become one line on
    standard error, never a traceback, with backend passwords masked."""
    try:
        code: int = asyncio.run(args.admin_run(args))
    except AdminError as exc:
        _error(args, str(exc))
        return exc.exit_code
    except CheckpointError as exc:
        _error(args, f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _error(args, "interrupted")
        return 130
    except BrokenPipeError:  # `... | head`: the reader has what it wanted
        # Python would complain when it flushes standard output at exit: point it nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as exc:  # a file that cannot be read or written, a full disk
        _error(args, f"{exc.strerror}: {exc.filename}" if exc.strerror else str(exc))
        return EXIT_FAILED
    except Exception as exc:  # a bug: still one line, still without secrets
        _error(args, f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    return code


def _error(args: argparse.Namespace, message: str) -> None:
    urls = [u for u in (getattr(args, n, None) for n in ("backend", "from_url", "to_url")) if u]
    for url in urls:
        message = secrets.scrub(secrets.redact(message, url), secrets.secrets_of(url))
    token = getattr(args, "token", None) or os.environ.get(ENV_TOKEN)
    if token:
        message = secrets.scrub(message, [token])
    print(f"checkpoint-gateway {args.command}: error: {message}", file=sys.stderr)
