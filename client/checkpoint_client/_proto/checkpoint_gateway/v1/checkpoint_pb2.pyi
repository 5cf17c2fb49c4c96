import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Checkpoint(_message.Message):
    __slots__ = ("execution_id", "namespace", "checkpoint_id", "parent_id", "state", "content_type", "metadata", "node", "next_nodes", "created_at", "version", "pending_writes")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    NEXT_NODES_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PENDING_WRITES_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    namespace: str
    checkpoint_id: str
    parent_id: str
    state: bytes
    content_type: str
    metadata: str
    node: str
    next_nodes: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    version: int
    pending_writes: _containers.RepeatedCompositeFieldContainer[PendingWrite]
    def __init__(self, execution_id: _Optional[str] = ..., namespace: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., parent_id: _Optional[str] = ..., state: _Optional[bytes] = ..., content_type: _Optional[str] = ..., metadata: _Optional[str] = ..., node: _Optional[str] = ..., next_nodes: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., pending_writes: _Optional[_Iterable[_Union[PendingWrite, _Mapping]]] = ...) -> None: ...

class PendingWrite(_message.Message):
    __slots__ = ("task_id", "idx", "channel", "value", "content_type", "task_path")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    IDX_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TASK_PATH_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    idx: int
    channel: str
    value: bytes
    content_type: str
    task_path: str
    def __init__(self, task_id: _Optional[str] = ..., idx: _Optional[int] = ..., channel: _Optional[str] = ..., value: _Optional[bytes] = ..., content_type: _Optional[str] = ..., task_path: _Optional[str] = ...) -> None: ...

class SaveRequest(_message.Message):
    __slots__ = ("checkpoint", "expected_version")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    checkpoint: Checkpoint
    expected_version: int
    def __init__(self, checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class SaveResponse(_message.Message):
    __slots__ = ("checkpoint_id", "version", "created_at")
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    checkpoint_id: str
    version: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, checkpoint_id: _Optional[str] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LoadRequest(_message.Message):
    __slots__ = ("execution_id", "namespace", "checkpoint_id")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    namespace: str
    checkpoint_id: str
    def __init__(self, execution_id: _Optional[str] = ..., namespace: _Optional[str] = ..., checkpoint_id: _Optional[str] = ...) -> None: ...

class LoadResponse(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: Checkpoint
    def __init__(self, checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class LatestRequest(_message.Message):
    __slots__ = ("execution_id", "namespace")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    namespace: str
    def __init__(self, execution_id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class LatestResponse(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: Checkpoint
    def __init__(self, checkpoint: _Optional[_Union[Checkpoint, _Mapping]] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("execution_id", "namespace", "page_size", "page_token", "before", "metadata_filter")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FILTER_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    namespace: str
    page_size: int
    page_token: str
    before: str
    metadata_filter: str
    def __init__(self, execution_id: _Optional[str] = ..., namespace: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., before: _Optional[str] = ..., metadata_filter: _Optional[str] = ...) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("checkpoints", "next_page_token")
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[Checkpoint]
    next_page_token: str
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[Checkpoint, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("execution_id", "namespace", "checkpoint_id")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    namespace: str
    checkpoint_id: str
    def __init__(self, execution_id: _Optional[str] = ..., namespace: _Optional[str] = ..., checkpoint_id: _Optional[str] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class ClearRequest(_message.Message):
    __slots__ = ("execution_id", "namespace")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    namespace: str
    def __init__(self, execution_id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class ClearResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class PutWritesRequest(_message.Message):
    __slots__ = ("execution_id", "namespace", "checkpoint_id", "writes")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    WRITES_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    namespace: str
    checkpoint_id: str
    writes: _containers.RepeatedCompositeFieldContainer[PendingWrite]
    def __init__(self, execution_id: _Optional[str] = ..., namespace: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., writes: _Optional[_Iterable[_Union[PendingWrite, _Mapping]]] = ...) -> None: ...

class PutWritesResponse(_message.Message):
    __slots__ = ("stored",)
    STORED_FIELD_NUMBER: _ClassVar[int]
    stored: int
    def __init__(self, stored: _Optional[int] = ...) -> None: ...

class SaveManyRequest(_message.Message):
    __slots__ = ("saves",)
    SAVES_FIELD_NUMBER: _ClassVar[int]
    saves: _containers.RepeatedCompositeFieldContainer[SaveRequest]
    def __init__(self, saves: _Optional[_Iterable[_Union[SaveRequest, _Mapping]]] = ...) -> None: ...

class SaveManyResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SaveResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SaveResult, _Mapping]]] = ...) -> None: ...

class SaveResult(_message.Message):
    __slots__ = ("saved", "error")
    SAVED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    saved: SaveResponse
    error: ItemError
    def __init__(self, saved: _Optional[_Union[SaveResponse, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...
