"""The model and codec: what goes in comes back, and bad values fail early and clearly."""

from __future__ import annotations

import math
import uuid

import pytest

from checkpoint_client import Checkpoint, InvalidArgument, PendingWrite
from checkpoint_client._errors import error_for_code
from checkpoint_client._ids import new_checkpoint_id


def test_dict_state_is_json_and_comes_back_as_dict() -> None:
    cp = Checkpoint("e", {"b": [1, 2], "a": "é"})
    assert cp.content_type == "application/json"
    assert cp.state_bytes == '{"b":[1,2],"a":"é"}'.encode()
    assert cp.state == {"b": [1, 2], "a": "é"}


def test_bytes_state_is_untouched() -> None:
    cp = Checkpoint("e", bytearray(b"\x00raw"), content_type="application/x-thing")
    assert cp.state == b"\x00raw"
    assert cp.content_type == "application/x-thing"
    assert Checkpoint("e", b"x").content_type == "application/octet-stream"


@pytest.mark.parametrize("state", [object(), {"x": math.nan}, {1: {2}}, {"s": {1, 2}}])
def test_unserializable_state_is_invalid(state: object) -> None:
    with pytest.raises(InvalidArgument):
        Checkpoint("e", state)


def test_non_bytes_state_with_other_content_type_is_invalid() -> None:
    with pytest.raises(InvalidArgument, match="pass bytes"):
        Checkpoint("e", {"a": 1}, content_type="application/msgpack")


def test_bad_shapes_are_invalid() -> None:
    with pytest.raises(InvalidArgument):
        Checkpoint("e", next_nodes="tools")
    with pytest.raises(InvalidArgument):
        Checkpoint("e", metadata=[("a", 1)])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        PendingWrite("t", 0, "ch", {1, 2})


def test_repr_does_not_dump_state() -> None:
    cp = Checkpoint("e", b"secret" * 1000)
    assert "secret" not in repr(cp)
    assert "6000 bytes" in repr(cp)
    assert "secret" not in repr(PendingWrite("t", 0, "c", b"secret"))


def test_same_content_ignores_store_fields_and_key_order() -> None:
    a = Checkpoint("e", {"x": 1}, metadata={"a": 1, "b": 2})
    b = a.replace(version=7, metadata={"b": 2, "a": 1})
    assert a.same_content(b)
    assert not a.same_content(a.replace(node="other"))
    assert not a.same_content(a.replace(state=b"{}"))


def test_replace_keeps_bytes_and_type() -> None:
    cp = Checkpoint("e", b"\x01", content_type="application/x")
    assert cp.replace(version=2).state_bytes == b"\x01"
    assert cp.replace(version=2).content_type == "application/x"


def test_uuid7_ids_are_valid_and_ordered() -> None:
    ids = [new_checkpoint_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    u = uuid.UUID(ids[0])
    assert u.version == 7
    assert u.variant == uuid.RFC_4122


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("NOT_FOUND", "NotFound"),
        ("ABORTED", "Conflict"),
        ("UNAVAILABLE", "Unavailable"),
        ("INVALID_ARGUMENT", "InvalidArgument"),
        ("RESOURCE_EXHAUSTED", "ResourceExhausted"),
        ("DEADLINE_EXCEEDED", "DeadlineExceeded"),
        ("UNAUTHENTICATED", "Unauthenticated"),
        ("PERMISSION_DENIED", "PermissionDenied"),
        ("INTERNAL", "InternalError"),
        ("UNKNOWN", "InternalError"),
        ("DATA_LOSS", "InternalError"),
    ],
)
def test_status_codes_map_to_one_exception_each(code: str, name: str) -> None:
    cls = error_for_code(code)
    assert cls.__name__ == name
    import grpc

    assert grpc.StatusCode[cls.grpc_code]  # the server can map it back
