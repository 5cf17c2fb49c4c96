"""checkpoint_client: the checkpoint-gateway contract in Python, and its gRPC client.

Needs only grpcio and protobuf. ``CheckpointStore`` is the interface every store
implements (the gateway's in-process backends too), so swapping a local store for the
remote one is a one-line change.
"""

from ._client import AsyncCheckpointClient
from ._errors import (
    CheckpointError,
    Conflict,
    DeadlineExceeded,
    InternalError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from ._models import Checkpoint, CheckpointPage, PendingWrite
from ._store import CheckpointStore, iter_checkpoints
from ._sync import CheckpointClient, SyncCheckpointStore

__all__ = [
    "AsyncCheckpointClient",
    "Checkpoint",
    "CheckpointClient",
    "CheckpointError",
    "CheckpointPage",
    "CheckpointStore",
    "Conflict",
    "DeadlineExceeded",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "PendingWrite",
    "PermissionDenied",
    "ResourceExhausted",
    "SyncCheckpointStore",
    "Unauthenticated",
    "Unavailable",
    "iter_checkpoints",
]
