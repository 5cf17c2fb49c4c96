"""``checkpoint-gateway``: serve the gateway, apply a backend's migrations, make a token,
or see and manage what agents saved.

    checkpoint-gateway serve [--listen HOST:PORT] [--backend URL] [--workers N] [...]
    checkpoint-gateway migrate [--backend URL]
    checkpoint-gateway token --principal NAME --tenant TENANT [--roles read,write]
    checkpoint-gateway executions|history|show|diff|rm|prune|copy|export|import|copy-store
                                        (the admin commands: see ``admin``)

``serve`` and ``migrate`` run in ``serving``, imported only for them. With
``--workers N`` (N > 1) ``serve`` supervises N worker processes that run ``serve`` again
with hidden ``--worker-*`` flags (see ``workers``).

Exit codes: 0 after a clean shutdown, 1 when the gateway cannot start (backend
unreachable, port taken) or, with ``--workers``, when a worker died, 2 for bad settings.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__, config, workers
from .admin import add_commands, is_admin, run_admin
from .auth.principals import check_tenant, dump_example, new_token
from .auth.principals import parse as parse_principals


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="checkpoint-gateway", description="A gRPC checkpoint service for agent runtimes."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the gateway until SIGTERM or SIGINT")
    config.add_arguments(serve)
    workers.add_worker_arguments(serve)
    migrate = commands.add_parser("migrate", help="create or upgrade the backend's schema")
    config.add_arguments(migrate, only=config.MIGRATE_SETTINGS)
    token = commands.add_parser(
        "token",
        help="make a bearer token: prints it, and the principals-file entry that holds its hash",
    )
    token.add_argument("--principal", required=True, help="the principal's name")
    token.add_argument("--tenant", required=True, help="its tenant")
    token.add_argument(
        "--roles", default="read,write", help="comma-separated: read, write, admin, metrics"
    )
    add_commands(commands)  # executions, history, show, diff, rm, ... (admin/)
    return parser


def _token(args: argparse.Namespace) -> int:
    """Print a new token (line 1: give it to the agent) and the entry for the principals
    file (only its hash is stored)."""
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    try:
        check_tenant(args.tenant)
        parse_principals(dump_example(args.principal, args.tenant, roles, "x"))
    except ValueError as exc:
        print(f"checkpoint-gateway: error: {exc}", file=sys.stderr)
        return 2
    secret = new_token()
    print(secret)
    print(dump_example(args.principal, args.tenant, roles, secret))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.command == "token":
        return _token(args)
    if is_admin(args):
        return run_admin(args)
    from . import serving  # the server's modules, for serve and migrate only

    return serving.run(args, argv)


if __name__ == "__main__":
    sys.exit(main())
