"""The error tree shared by every store: in-process backends, the gateway and the client.

    CheckpointError                  base class; never raised itself
    ├── NotFound                     NOT_FOUND           no such checkpoint / lineage
    ├── InvalidArgument              INVALID_ARGUMENT    malformed or over a limit; nothing written
    ├── Conflict                     ABORTED             compare-and-set lost, or an id reused
    ├── ResourceExhausted            RESOURCE_EXHAUSTED  message too large, or no capacity left
    ├── Unavailable                  UNAVAILABLE         backend unreachable; safe to retry
    ├── DeadlineExceeded             DEADLINE_EXCEEDED   the call's deadline passed
    ├── Unauthenticated              UNAUTHENTICATED
    ├── PermissionDenied             PERMISSION_DENIED
    └── InternalError                INTERNAL (and any code not listed above)

Each class names its gRPC status code in ``grpc_code``; the server maps exceptions to
status codes and the client maps them back with the same table (``error_for_code``), so a
program sees exactly the same exception from a local store as from the remote one.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CheckpointError",
    "Conflict",
    "DeadlineExceeded",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "error_for_code",
]


class CheckpointError(Exception):
    """Base class of every error a checkpoint store raises."""

    grpc_code: ClassVar[str] = "INTERNAL"


class NotFound(CheckpointError):
    """The checkpoint, or every checkpoint of the lineage, does not exist."""

    grpc_code = "NOT_FOUND"


class InvalidArgument(CheckpointError):
    """A request field is malformed or over a limit. Nothing was written."""

    grpc_code = "INVALID_ARGUMENT"


class Conflict(CheckpointError):
    """Compare-and-set failed, or a checkpoint id was reused with different content."""

    grpc_code = "ABORTED"


class ResourceExhausted(CheckpointError):
    """A message over the size limit, or the backend has no capacity left (pool full)."""

    grpc_code = "RESOURCE_EXHAUSTED"


class Unavailable(CheckpointError):
    """The backend (or the gateway) cannot be reached now. Safe to retry."""

    grpc_code = "UNAVAILABLE"


class DeadlineExceeded(CheckpointError):
    """The call's deadline passed before it finished."""

    grpc_code = "DEADLINE_EXCEEDED"


class Unauthenticated(CheckpointError):
    """The caller's credentials are missing or wrong."""

    grpc_code = "UNAUTHENTICATED"


class PermissionDenied(CheckpointError):
    """The caller may not do this."""

    grpc_code = "PERMISSION_DENIED"


class InternalError(CheckpointError):
    """A defect in the gateway or a backend; details are in the gateway's log only."""

    grpc_code = "INTERNAL"


_BY_CODE: dict[str, type[CheckpointError]] = {
    cls.grpc_code: cls
    for cls in (
        NotFound,
        InvalidArgument,
        Conflict,
        ResourceExhausted,
        Unavailable,
        DeadlineExceeded,
        Unauthenticated,
        PermissionDenied,
        InternalError,
    )
}


def error_for_code(code_name: str) -> type[CheckpointError]:
    """Return the exception class for a gRPC status code name such as ``"NOT_FOUND"``.

    Codes with no class of their own (UNKNOWN, DATA_LOSS, ...) map to InternalError.
    """
    return _BY_CODE.get(code_name, InternalError)
