"""The pieces of state chains (backends/_states.py) that need no backend."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkpoint_client import Channel, Checkpoint, InternalError
from checkpoint_gateway.backends._states import (
    HIDDEN,
    StateCodec,
    StateStorage,
    _common_prefix,
    _common_suffix,
    is_frame,
)

pieces = st.binary(max_size=300)


@given(head=pieces, a=pieces, b=pieces, tail=pieces)
def test_common_prefix_and_suffix_are_exact(head: bytes, a: bytes, b: bytes, tail: bytes) -> None:
    left, right = head + a + tail, head + b + tail
    prefix = _common_prefix(left, right)
    assert left[:prefix] == right[:prefix]
    assert prefix == min(len(left), len(right)) or left[prefix] != right[prefix]
    limit = min(len(left), len(right)) - prefix
    suffix = _common_suffix(left, right, limit)
    assert suffix <= limit
    assert left[len(left) - suffix :] == right[len(right) - suffix :]
    assert suffix == limit or left[-suffix - 1] != right[-suffix - 1]


def test_long_inputs_cross_chunks() -> None:
    base = bytes(range(256)) * 1024  # 256 KiB: four chunks
    for at in (0, 1, 65535, 65536, 200_000, len(base) - 1):
        changed = base[:at] + bytes([base[at] ^ 0xFF]) + base[at + 1 :]
        assert _common_prefix(base, changed) == at
        assert _common_suffix(base, changed, len(base) - at) == len(base) - at - 1


async def _chain(storage: StateStorage) -> list[Checkpoint]:
    """A snapshot and two deltas as they are stored, without a backend."""
    codec = StateCodec(storage)
    out, parent, messages = [], "", []
    for i in range(3):
        messages.append(f"message {i} " + "words of a conversation " * 40)
        cp = Checkpoint("e", json.dumps(messages).encode(), checkpoint_id=f"c{i}", parent_id=parent)
        stored = await codec.encode(cp)
        out.append(stored)
        parent = cp.checkpoint_id
    return out


async def test_a_frame_read_without_its_links_is_an_error_not_a_state() -> None:
    stored = await _chain(StateStorage(min_bytes=64))
    assert all(is_frame(cp.state_bytes) for cp in stored)
    bare = stored[-1].replace(channels={})
    with pytest.raises(InternalError) as err:
        await StateCodec().decode(bare)
    assert str(err.value) == "the stored state of checkpoint 'c2' of execution 'e' cannot be read"


async def test_a_damaged_link_is_an_error_that_names_no_internals() -> None:
    chain = await _chain(StateStorage(min_bytes=64))
    stored = chain[-1]
    # Each stored checkpoint carries its own link's value, and references the others.
    links = {f"{HIDDEN}{i}": cp.channels[f"{HIDDEN}{i}"] for i, cp in enumerate(chain)}
    assert (await StateCodec().decode(stored.replace(channels=links))).state_bytes[:2] == b'["'
    name, first = f"{HIDDEN}0", links[f"{HIDDEN}0"]
    assert first.value_bytes is not None
    damaged = Channel(first.version, first.value_bytes[:-8] + b"garbage!", content_type="x/y")
    cp = stored.replace(channels={**links, name: damaged})
    with pytest.raises(InternalError, match=r"cannot be read$"):
        await StateCodec().decode(cp)
    # A link missing in the middle of the chain.
    del links[f"{HIDDEN}1"]
    with pytest.raises(InternalError, match=r"cannot be read$"):
        await StateCodec().decode(stored.replace(channels=links))


@pytest.mark.parametrize(
    ("field", "value"),
    [("snapshot_every", 0), ("snapshot_every", 257), ("level", 2), ("level", 20)],
)
def test_bad_storage_settings_are_refused(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=field):
        StateStorage(**{field: value})  # type: ignore[arg-type]
