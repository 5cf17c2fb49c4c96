"""What an admin command can fail with, and the exit code each failure means.

    0  the command did what it was asked
    1  something asked for is not there, or the work failed (the store refused it,
       could not be reached, or a verification found a difference)
    2  the command line is wrong (a missing or malformed flag or argument)

Failures are reported on one line of standard error, never with a traceback, and with
every backend password masked (see ``checkpoint_gateway.secrets``).
"""

from __future__ import annotations

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "AdminError", "UsageError"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class AdminError(Exception):
    """The command failed; the message is the one line the operator reads."""

    exit_code = EXIT_FAILED


class UsageError(AdminError):
    """The command line is wrong: exit code 2."""

    exit_code = EXIT_USAGE
