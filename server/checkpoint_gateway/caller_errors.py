"""What a caller is told when its call fails, and what only the log is told.

An error about the caller's own request (NotFound, InvalidArgument, Conflict...) goes back
as it is: it names the caller's ids and the limits it broke, nothing of the gateway's.
The gateway's own failures (its backend unreachable or out of capacity, a deadline that
passed inside the backend, a defect) may carry what no caller may see: file paths,
backend addresses, SQL, a driver's message. Those are answered with one fixed sentence per
status code and an error id, and the details are logged under that id, so that an
operator can join a caller's report to the log line::

    caller: UNAVAILABLE  the backend is unavailable; retry later (error id 3f9c0b7e12a4d5e6)
    log:    WARNING ... Save failed (error id 3f9c0b7e12a4d5e6): UNAVAILABLE: sqlite database
            '/var/lib/checkpoints.db' is busy: database is locked
"""

from __future__ import annotations

import logging
import os

import grpc

from checkpoint_client import CheckpointError

__all__ = ["CALLER_CODES", "Public", "answer", "new_error_id"]

log = logging.getLogger("checkpoint_gateway.service")

#: Codes whose messages are about the caller's request; they are sent as they are.
CALLER_CODES = frozenset(
    {
        "NOT_FOUND",
        "INVALID_ARGUMENT",
        "ABORTED",
        "UNAUTHENTICATED",
        "PERMISSION_DENIED",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "OUT_OF_RANGE",
    }
)

_SENTENCES = {
    "UNAVAILABLE": "the backend is unavailable; retry later",
    "RESOURCE_EXHAUSTED": "the gateway or its backend has no capacity left; retry later",
    "DEADLINE_EXCEEDED": "the call's deadline passed before the backend answered",
    "INTERNAL": "internal error",
}


class Public:
    """Mixed into an error whose message the gateway wrote itself from nothing secret
    (the circuit breaker's "open, next probe in 0.4s"): sent as it is, without an error
    id, as there is nothing more in the log to join it to."""


def new_error_id() -> str:
    """16 hex digits: unique enough to find one log line among a day's."""
    return os.urandom(8).hex()


def answer(exc: BaseException, where: str) -> tuple[grpc.StatusCode, str]:
    """The status code and message for a call (or one SaveMany item) that failed with
    ``exc``; logs the details first when the caller is not to see them.

    Anything not a ``CheckpointError`` is a defect: INTERNAL, logged with its traceback.

    Args:
        where: what failed, for the log line (``"Save"``, ``"SaveMany item 3"``).
    """
    if isinstance(exc, CheckpointError):
        code = exc.grpc_code
        text = str(exc) or code
        if code in CALLER_CODES or isinstance(exc, Public):
            return grpc.StatusCode[code], text
    else:
        code, text = "INTERNAL", f"{type(exc).__name__}: {exc}"
    if code not in grpc.StatusCode.__members__:
        code = "INTERNAL"
    error_id = new_error_id()
    if code == "INTERNAL":
        log.error("%s failed (error id %s): %s", where, error_id, text, exc_info=exc)
    else:
        log.warning("%s failed (error id %s): %s: %s", where, error_id, code, text)
    sentence = _SENTENCES.get(code, _SENTENCES["INTERNAL"])
    return grpc.StatusCode[code], f"{sentence} (error id {error_id})"
