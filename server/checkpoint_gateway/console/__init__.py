"""The web console: executions, histories as trees, checkpoints, and diffs, in a browser.

Off by default; ``--console-listen HOST:PORT`` turns it on in the gateway process. It is
read-only and server-rendered (no scripts, no external assets), and it reads through the
gateway's own gRPC service with the signed-in person's token, so the gateway's roles,
tenants, limits and metrics apply to it as to any caller (see ``_server``).
"""

from ._server import Console, ConsoleError

__all__ = ["Console", "ConsoleError"]
