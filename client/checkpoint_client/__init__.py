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
from ._models import (
    Channel,
    Checkpoint,
    CheckpointPage,
    ExecutionInfo,
    ExecutionPage,
    NamespacePage,
    PendingWrite,
)
from ._store import CheckpointStore, PruneStrategy, iter_checkpoints
from ._sync import CheckpointClient, SyncCheckpointStore

__all__ = [
    "AsyncCheckpointClient",
    "Channel",
    "Checkpoint",
    "CheckpointClient",
    "CheckpointError",
    "CheckpointPage",
    "CheckpointStore",
    "Conflict",
    "DeadlineExceeded",
    "ExecutionInfo",
    "ExecutionPage",
    "InternalError",
    "InvalidArgument",
    "NamespacePage",
    "NotFound",
    "PendingWrite",
    "PermissionDenied",
    "PruneStrategy",
    "ResourceExhausted",
    "SyncCheckpointStore",
    "Unauthenticated",
    "Unavailable",
    "iter_checkpoints",
]
