from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PrepareHotSnapshotRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PrepareHotSnapshotResponse(_message.Message):
    __slots__ = ("snapshot_path", "row_count", "file_size_bytes", "success", "error_message", "recent_cold_paths")
    SNAPSHOT_PATH_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    FILE_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RECENT_COLD_PATHS_FIELD_NUMBER: _ClassVar[int]
    snapshot_path: str
    row_count: int
    file_size_bytes: int
    success: bool
    error_message: str
    recent_cold_paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, snapshot_path: _Optional[str] = ..., row_count: _Optional[int] = ..., file_size_bytes: _Optional[int] = ..., success: _Optional[bool] = ..., error_message: _Optional[str] = ..., recent_cold_paths: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamHotSpansRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HotSpansChunk(_message.Message):
    __slots__ = ("arrow_ipc", "recent_cold_paths")
    ARROW_IPC_FIELD_NUMBER: _ClassVar[int]
    RECENT_COLD_PATHS_FIELD_NUMBER: _ClassVar[int]
    arrow_ipc: bytes
    recent_cold_paths: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, arrow_ipc: _Optional[bytes] = ..., recent_cold_paths: _Optional[_Iterable[str]] = ...) -> None: ...

class FlushWALRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FlushWALResponse(_message.Message):
    __slots__ = ("success", "error_message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    error_message: str
    def __init__(self, success: _Optional[bool] = ..., error_message: _Optional[str] = ...) -> None: ...
