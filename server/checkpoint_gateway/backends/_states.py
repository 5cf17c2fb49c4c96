"""Lineage-aware state storage: a state is stored as a zstd delta against its parent's.

Runtimes that save the whole state after every step (langgraphgo, spring-ai-alibaba graph,
LangGraph without ``DeltaChannel``) store the same bytes again and again: a conversation's
message list grows by one message a step, so what is stored grows with the square of its
length. A backend stores a state here as a **chain**: a zstd snapshot, then one delta per
checkpoint against the state before it. A delta is a *splice* when the step changed one
stretch of the state (the previous state's head and tail, found by memcmp, around the new
stretch, compressed): a read applies a run of splices as pieces of buffers and copies the
state once. Otherwise it is zstd with the previous state as raw-content prefix (zstd finds
what is unchanged). After ``snapshot_every`` links the next state starts a new chain, so a
read applies fewer than ``snapshot_every`` deltas.

**How a chain is stored: as channels.** Every backend already keeps channel values once
per ``(lineage, name, version)``, shares them between the checkpoints that carry them, and
removes the values no remaining checkpoint carries, atomically with the save or removal
(see ``_base``). A chain's links are such values, under names no client can use (they
start with a control character, which validation refuses): the link at position ``i`` is
channel ``"\\x1f<i>"``, its version a random token. A checkpoint carries every link of its
chain, so

- a load reads its whole chain in the one read that returns its channels;
- deleting a checkpoint never loses another's base: a link stays while any checkpoint
  carries it, whatever removes checkpoints (delete, retention, TTL, prune, delete by
  metadata, clear), and it goes with the last one;
- copy copies links as it copies channels; forks share their parent's links;
- a save whose base went meanwhile gets the backend's ``NotFound`` for the missing link
  and is stored again as it came.

The checkpoint's own state column then holds a small frame (``_FRAME`` and the length of
the whole state). A state is stored as it came (no frame, no links) when it is smaller
than ``min_bytes``, of a content type that is compressed already, or does not compress:
that is also how every state was stored before, so old data reads as it always did.

This process keeps the states it saved or read last (``cache_bytes``, least recently used
first): a save finds its parent's state there (on a miss it reads the parent once), and
a read of a chain starts from the longest prefix it holds.
"""

from __future__ import annotations

import asyncio
import secrets
import struct
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

if sys.version_info >= (3, 14):
    from compression.zstd import (
        CompressionParameter,
        DecompressionParameter,
        ZstdDict,
        ZstdError,
        compress,
        decompress,
    )
else:
    from backports.zstd import (
        CompressionParameter,
        DecompressionParameter,
        ZstdDict,
        ZstdError,
        compress,
        decompress,
    )

from checkpoint_client import Channel, Checkpoint, InternalError

__all__ = [
    "ENCODINGS",
    "HIDDEN",
    "chained",
    "is_frame",
    "StateCodec",
    "StateStats",
    "StateStorage",
    "stored_length",
    "visible_channels",
]

MiB: Final = 1024 * 1024
#: How a save's state was stored (the ``encoding`` label of the metrics).
ENCODINGS: Final = ("plain", "snapshot", "delta")
#: Names of chain links start with this (a control character: no client name can).
HIDDEN: Final = "\x1f"
#: The state column of a checkpoint stored as a chain: this, then the state's length
#: (8 bytes, big-endian). A stored state without it is the state itself.
_FRAME: Final = b"\x1fcgs\x01"
_FRAME_LEN: Final = len(_FRAME) + 8
_LINK_TYPE: Final = "application/vnd.checkpoint-gateway.state-link"
_SNAPSHOT: Final = b"Z"  # the whole state, zstd
_DELTA: Final = b"D"  # zstd with the previous state of the chain as prefix
#: A splice: the previous state's first ``head`` and last ``tail`` bytes around a new
#: middle (zstd, with the bytes before it as prefix): ``>QQQ`` head, tail, middle length.
_SPLICE: Final = b"P"
_SPLICE_HEADER: Final = struct.Struct(">QQQ")
_SPLICE_WINDOW: Final = 32 * 1024  # the bytes before a splice's middle it is compressed with
_CHUNK: Final = 64 * 1024  # common prefixes and suffixes are compared this much at a time
#: Content types whose bytes are compressed already: stored as they come.
_COMPRESSED_TYPES: Final = (
    "application/gzip",
    "application/x-gzip",
    "application/zstd",
    "application/zip",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "image/",
    "audio/",
    "video/",
    "font/woff",
)
_PROBE_BYTES: Final = 16 * 1024  # a sample compressed to tell whether a state compresses
_MIN_RATIO: Final = 1.25  # a snapshot must shrink a state at least this much
_OFFLOAD_BYTES: Final = 256 * 1024  # larger states are (de)compressed off the event loop
_MAX_WINDOW_LOG: Final = 27  # 128 MiB: twice the largest state a gateway accepts, and more
# How many checkpoints' chains are remembered: about 1 KiB each (16 links at most), for
# the parents of the next saves of as many lineages.
_CHAINS_KEPT: Final = 8192
# A lineage whose state did not compress is probed again only every this many saves.
_REPROBE_EVERY: Final = 16


@dataclass(frozen=True, slots=True)
class StateStorage:
    """How states are stored (gateway settings ``--state-*``).

    Attributes:
        enabled: store states as chains; off stores every state as it comes (what was
            stored as chains before still reads).
        snapshot_every: a chain holds at most this many states (a snapshot and deltas),
            so a read applies at most ``snapshot_every - 1`` deltas.
        level: zstd's compression level, 3 to 19. Levels 1 and 2 are refused: their
            match finders miss most of what a large state shares with its parent (a
            1 MB state's delta was 227 KB at level 1 and 727 bytes at level 3); higher
            levels squeeze snapshots a little more for much more CPU.
        min_bytes: smaller states are stored as they come (too small to win much).
        cache_bytes: states this process keeps to encode the next save and to start
            reads from (0: none; every save then reads its parent).
    """

    enabled: bool = True
    snapshot_every: int = 16
    level: int = 3
    min_bytes: int = 4096
    cache_bytes: int = 64 * MiB

    def __post_init__(self) -> None:
        if not 1 <= self.snapshot_every <= 256:
            raise ValueError("snapshot_every must be between 1 and 256")
        if not 3 <= self.level <= 19:
            raise ValueError("level must be between 3 and 19")
        if self.min_bytes < 0:
            raise ValueError("min_bytes must not be negative")
        if self.cache_bytes < 0:
            raise ValueError("cache_bytes must not be negative")


@dataclass(slots=True)
class StateStats:
    """What saves stored, since the process started (for metrics)."""

    raw_bytes: int = 0  # states as saved
    stored_bytes: int = 0  # what was written for them (frame and new link, or the state)
    plain: int = 0  # saves stored as they came
    snapshots: int = 0
    deltas: int = 0


def chained(cp: Checkpoint) -> bool:
    """Whether a checkpoint as stored carries a chain's links (its state is a frame)."""
    return any(name.startswith(HIDDEN) for name in cp.channels)


def visible_channels(channels: Mapping[str, Channel]) -> dict[str, Channel]:
    """A checkpoint's channels without the links of its state's chain."""
    return {n: ch for n, ch in channels.items() if not n.startswith(HIDDEN)}


def is_frame(data: bytes) -> bool:
    """Whether a stored state is a chain's frame (the state is in the chain's links)."""
    return len(data) == _FRAME_LEN and data.startswith(_FRAME)


def stored_length(cp: Checkpoint) -> int:
    """The length of a checkpoint's state as loads return it (a chain's frame says it)."""
    data = cp.state_bytes
    if is_frame(data):
        return int(struct.unpack_from(">Q", data, len(_FRAME))[0])
    return len(data)


Link = tuple[str, str]  # (channel name, version) of one link of a chain
_NAMES: Final = tuple(f"{HIDDEN}{i}" for i in range(256))  # a link's name by position


class _Plain:
    """A checkpoint stored as it came because its state (``size`` bytes) did not
    compress; ``skipped``: how many saves of its lineage skipped the probe since."""

    __slots__ = ("size", "skipped")

    def __init__(self, size: int, skipped: int = 0) -> None:
        self.size = size
        self.skipped = skipped

    def skip(self, size: int) -> bool:
        """Whether a child of ``size`` bytes is stored as it comes without a probe: not
        when it grew to twice the size that did not compress, nor every so often."""
        return self.skipped < _REPROBE_EVERY - 1 and size < 2 * self.size


_Known = tuple[Link, ...] | _Plain


def _chain_of(cp: Checkpoint) -> list[tuple[int, str, Channel]]:
    links = []
    for name, ch in cp.channels.items():
        if name.startswith(HIDDEN):
            links.append((int(name[1:]), ch.version, ch))
    links.sort(key=lambda link: link[0])
    return links


def _window_log(size: int) -> int:
    return min(max(10, (size - 1).bit_length()), _MAX_WINDOW_LOG)


def _compressed_type(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media.startswith(_COMPRESSED_TYPES) and media != "image/svg+xml"


class StateCodec:
    """Turns states into chains on save and back on read, for one backend.

    The backend base class calls ``needs_parent`` and ``encode`` before a save,
    ``stored``/``forget`` after it, and ``decode``/``decode_all`` on what reads return.
    Cache bookkeeping runs on the event loop; large states are (de)compressed in a worker
    thread (zstd releases the GIL).
    """

    def __init__(self, storage: StateStorage | None = None) -> None:
        self.storage = storage or StateStorage()
        self.stats = StateStats()
        #: Told of every save once stored: (state bytes, bytes written, encoding).
        self.observer: Callable[[int, int, str], None] | None = None
        self._states: OrderedDict[str, bytes] = OrderedDict()  # top link version -> state
        self._state_bytes = 0
        # (execution, namespace, checkpoint id) -> its chain ((): stored as it came), or
        # _Plain when it was stored as it came because it did not compress.
        self._chains: OrderedDict[tuple[str, str, str], _Known] = OrderedDict()

    # -- the caches ----------------------------------------------------------------------

    def _remember_state(self, version: str, state: bytes) -> None:
        limit = self.storage.cache_bytes
        if len(state) > limit // 4:  # one state never takes most of the cache
            return
        old = self._states.pop(version, None)
        if old is not None:
            self._state_bytes -= len(old)
        self._states[version] = state
        self._state_bytes += len(state)
        while self._state_bytes > limit:
            _, gone = self._states.popitem(last=False)
            self._state_bytes -= len(gone)

    def _cached_state(self, version: str) -> bytes | None:
        state = self._states.get(version)
        if state is not None:
            self._states.move_to_end(version)
        return state

    def _remember_chain(self, key: tuple[str, str, str], known: _Known) -> None:
        self._chains[key] = known
        self._chains.move_to_end(key)
        if len(self._chains) > _CHAINS_KEPT:
            self._chains.popitem(last=False)

    def forget(self, cp: Checkpoint) -> None:
        """Drop what is known of ``cp`` (a save of it that did not go through)."""
        self._chains.pop((cp.execution_id, cp.namespace, cp.checkpoint_id), None)

    def worth_encoding(self, cp: Checkpoint) -> bool:
        storage = self.storage
        return (
            storage.enabled
            and len(cp.state_bytes) >= max(storage.min_bytes, 1)
            and not _compressed_type(cp.content_type)
        )

    def needs_parent(self, cp: Checkpoint) -> bool:
        """Whether ``encode`` of ``cp`` would delta against its parent and does not hold
        the parent's state: the caller then reads the parent and hands it to ``decode``
        (or to ``parent_read`` when it is missing) first."""
        if not (cp.parent_id and self.worth_encoding(cp)):
            return False
        known = self._chains.get((cp.execution_id, cp.namespace, cp.parent_id))
        if known is None:
            return True
        if isinstance(known, _Plain) or not 0 < len(known) < self.storage.snapshot_every:
            return False
        return known[-1][1] not in self._states

    def parent_read(self, cp: Checkpoint, parent: Checkpoint | None) -> None:
        """Note what reading ``cp``'s parent found, when it was no chain (or nothing)."""
        if parent is None or not chained(parent):
            self._remember_chain((cp.execution_id, cp.namespace, cp.parent_id), ())

    # -- save ------------------------------------------------------------------------------

    async def encode(self, cp: Checkpoint, parent_state: bytes | None = None) -> Checkpoint:
        """``cp`` as it is to be stored: as a chain (a frame for a state, and links), or
        as it came. The links reference its parent's chain and carry the new link.
        ``parent_state``: the parent's state as ``decode`` just returned it (when the
        cache could not keep it).

        ``stored`` (or ``forget``) must follow once the backend answered.
        """
        if not self.worth_encoding(cp):
            return cp
        raw = cp.state_bytes
        key = (cp.execution_id, cp.namespace, cp.checkpoint_id)
        parent = self._chains.get((cp.execution_id, cp.namespace, cp.parent_id))
        if isinstance(parent, _Plain) and parent.skip(len(raw)):
            # The lineage's last state did not compress: nor will this one, most likely.
            self._remember_chain(key, _Plain(parent.size, parent.skipped + 1))
            return cp
        base: bytes | None = None
        chain: tuple[Link, ...] = ()
        if isinstance(parent, tuple) and 0 < len(parent) < self.storage.snapshot_every:
            base = self._cached_state(parent[-1][1]) or parent_state
            if base is not None:
                chain = parent
        link = await self._link(raw, base)
        if link is None:
            self._remember_chain(key, _Plain(len(raw)))
            return cp
        if link[:1] == _SNAPSHOT:
            chain = ()
        top = (_NAMES[len(chain)], secrets.token_hex(12))
        channels = dict(cp.channels)
        for name, version in chain:
            channels[name] = Channel(version)
        channels[top[0]] = Channel(top[1], link, content_type=_LINK_TYPE)
        self._remember_chain(key, (*chain, top))
        self._remember_state(top[1], raw)
        return cp.replace(state=_FRAME + struct.pack(">Q", len(raw)), channels=channels)

    async def _link(self, raw: bytes, base: bytes | None) -> bytes | None:
        """The new link: a delta against ``base``, else a snapshot; None when the state
        does not compress (it is then stored as it came)."""
        if len(raw) + (len(base) if base else 0) >= _OFFLOAD_BYTES:
            return await asyncio.to_thread(self._link_now, raw, base)
        return self._link_now(raw, base)

    def _link_now(self, raw: bytes, base: bytes | None) -> bytes | None:
        level = self.storage.level
        if base is not None:
            # Most steps change one stretch of the state (a message appended, a field
            # rewritten): a splice then costs two memcmp passes and compressing the new
            # stretch, and a read applies it without rebuilding the states between.
            head = _common_prefix(base, raw)
            tail = _common_suffix(base, raw, min(len(base), len(raw)) - head)
            middle = memoryview(raw)[head : len(raw) - tail]
            if len(middle) * 8 <= len(raw):
                window = base[max(0, head - _SPLICE_WINDOW) : head]
                body = b""
                if middle:
                    body = compress(
                        middle,
                        level,
                        zstd_dict=ZstdDict(window, is_raw=True).as_prefix if window else None,
                    )
                return _SPLICE + _SPLICE_HEADER.pack(head, tail, len(middle)) + body
            delta = compress(
                raw,
                options={
                    CompressionParameter.compression_level: level,
                    CompressionParameter.window_log: _window_log(len(base) + len(raw)),
                },
                zstd_dict=ZstdDict(base, is_raw=True).as_prefix,
            )
            if len(delta) * 4 <= len(raw):
                return _DELTA + delta
        if len(raw) > 2 * _PROBE_BYTES:
            half = len(raw) // 2
            sample = raw[half - _PROBE_BYTES // 2 : half + _PROBE_BYTES // 2]
            if len(compress(sample, 1)) * _MIN_RATIO > len(sample):
                return None
        whole = compress(
            raw,
            options={
                CompressionParameter.compression_level: level,
                CompressionParameter.window_log: _window_log(len(raw)),
            },
        )
        if len(whole) * _MIN_RATIO > len(raw):
            return None
        return _SNAPSHOT + whole

    def stored(self, raw: Checkpoint, stored: Checkpoint) -> None:
        """Count a save that went through: ``raw`` as saved, ``stored`` as it was written."""
        stats = self.stats
        size = len(raw.state_bytes)
        if stored is raw or not stored.state_bytes.startswith(_FRAME):
            written, encoding = len(stored.state_bytes), "plain"
            stats.plain += 1
        else:
            links = _chain_of(stored)
            written = len(stored.state_bytes) + len(links[-1][2].value_bytes or b"")
            if len(links) > 1:
                encoding = "delta"
                stats.deltas += 1
            else:
                encoding = "snapshot"
                stats.snapshots += 1
        stats.raw_bytes += size
        stats.stored_bytes += written
        if self.observer is not None:
            self.observer(size, written, encoding)

    # -- read ------------------------------------------------------------------------------

    async def decode(self, cp: Checkpoint) -> Checkpoint:
        """``cp`` as loads return it: its whole state, without the links."""
        frame = cp.state_bytes
        framed = is_frame(frame)
        if not cp.channels and not framed:
            return cp
        links = _chain_of(cp)
        if not links:
            if framed:
                raise _corrupt(cp)  # read without its links: never hand out a frame
            return cp
        visible = visible_channels(cp.channels)
        if not framed:
            return cp.replace(channels=visible)  # the state was left out (include_state)
        size = int(struct.unpack_from(">Q", frame, len(_FRAME))[0])
        state = await self._materialize(cp, links, size)
        self._remember_chain(
            (cp.execution_id, cp.namespace, cp.checkpoint_id),
            tuple((_NAMES[i], version) for i, version, _ in links),
        )
        return cp.replace(state=state, channels=visible)

    async def decode_all(self, items: Iterable[Checkpoint]) -> list[Checkpoint]:
        """``decode`` each, shortest chain first, so that a page of one lineage decodes
        each state from the one before it (the cache holds it) instead of its snapshot."""
        listed = list(items)
        depth = [sum(1 for n in cp.channels if n.startswith(HIDDEN)) for cp in listed]
        out = list(listed)
        for i in sorted(range(len(listed)), key=depth.__getitem__):
            if depth[i]:
                out[i] = await self.decode(listed[i])
        return out

    async def _materialize(
        self, cp: Checkpoint, links: list[tuple[int, str, Channel]], size: int
    ) -> bytes:
        start, state = 0, None
        for j in range(len(links) - 1, -1, -1):
            state = self._cached_state(links[j][1])
            if state is not None:
                start = j + 1
                break
        values: list[bytes] = []
        for position, (index, _, channel) in enumerate(links):
            if index != position or channel.value_bytes is None:
                raise _corrupt(cp)
            values.append(channel.value_bytes)
        if start < len(links):
            # A snapshot or delta rebuilds a whole state; a splice only its new stretch.
            rebuilt = sum(1 for v in values[start:] if v[:1] != _SPLICE)
            if size * rebuilt >= _OFFLOAD_BYTES:
                state = await asyncio.to_thread(_apply, cp, values, start, state)
            else:
                state = _apply(cp, values, start, state)
            self._remember_state(links[-1][1], state)
        if state is None or len(state) != size:
            raise _corrupt(cp)
        return state


def _apply(cp: Checkpoint, values: list[bytes], start: int, state: bytes | None) -> bytes:
    """The state at the end of a chain, from its link ``start`` on (``state`` is the one
    before it; None when ``start`` is 0)."""
    options: dict[int, int] = {DecompressionParameter.window_log_max: _MAX_WINDOW_LOG}
    rope = None if state is None else _Rope(state)
    try:
        for i in range(start, len(values)):
            kind, body = values[i][:1], memoryview(values[i])[1:]
            if kind == _SNAPSHOT and i == 0:
                rope = _Rope(decompress(body, options=options))
            elif kind == _DELTA and rope is not None:
                prefix = ZstdDict(rope.whole(), is_raw=True).as_prefix
                rope = _Rope(decompress(body, options=options, zstd_dict=prefix))
            elif kind == _SPLICE and rope is not None and len(body) >= _SPLICE_HEADER.size:
                head, tail, length = _SPLICE_HEADER.unpack_from(body)
                if head + tail > rope.size:
                    raise _corrupt(cp)
                middle = b""
                if length:
                    window = rope.range(max(0, head - _SPLICE_WINDOW), head)
                    middle = decompress(
                        body[_SPLICE_HEADER.size :],
                        options=options,
                        zstd_dict=ZstdDict(window, is_raw=True).as_prefix if window else None,
                    )
                if len(middle) != length:
                    raise _corrupt(cp)
                rope.splice(head, middle, tail)
            else:
                raise _corrupt(cp)
    except ZstdError as exc:
        raise _corrupt(cp) from exc
    if rope is None:
        raise _corrupt(cp)
    return rope.whole()


class _Rope:
    """A state being rebuilt as pieces of other buffers, so that a run of splices costs
    the new stretches and one copy at the end, not a copy of the whole state per link."""

    __slots__ = ("pieces", "size")

    def __init__(self, data: bytes) -> None:
        self.pieces = [memoryview(data)]
        self.size = len(data)

    def _pieces(self, start: int, end: int) -> list[memoryview]:
        out, offset = [], 0
        for piece in self.pieces:
            if offset >= end:
                break
            n = len(piece)
            low, high = max(start - offset, 0), min(end - offset, n)
            if low < high:
                out.append(piece if (low, high) == (0, n) else piece[low:high])
            offset += n
        return out

    def range(self, start: int, end: int) -> bytes:
        return b"".join(self._pieces(start, end))

    def splice(self, head: int, middle: bytes, tail: int) -> None:
        pieces = self._pieces(0, head)
        if middle:
            pieces.append(memoryview(middle))
        pieces += self._pieces(self.size - tail, self.size)
        self.pieces = pieces
        self.size = head + len(middle) + tail

    def whole(self) -> bytes:
        if len(self.pieces) == 1 and isinstance(self.pieces[0].obj, bytes):
            whole = self.pieces[0].obj
            if len(whole) == self.size:
                return whole
        return b"".join(self.pieces)


def _common_prefix(a: bytes, b: bytes) -> int:
    """The length of the longest common prefix (memcmp a chunk at a time, then a binary
    search in the chunk that differs)."""
    n, view, pos = min(len(a), len(b)), memoryview(b), 0
    while pos < n:
        step = min(_CHUNK, n - pos)
        if a.startswith(view[pos : pos + step], pos):
            pos += step
            continue
        low, high = 0, step  # a[pos:pos+low] matches, a[pos:pos+high] does not
        while high - low > 1:
            mid = (low + high) // 2
            if a.startswith(view[pos : pos + mid], pos):
                low = mid
            else:
                high = mid
        return pos + low
    return n


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """The length of the longest common suffix, at most ``limit``."""
    view, end_a, end_b, done = memoryview(b), len(a), len(b), 0
    while done < limit:
        step = min(_CHUNK, limit - done)
        if a.endswith(view[end_b - done - step : end_b - done], 0, end_a - done):
            done += step
            continue
        low, high = 0, step
        while high - low > 1:
            mid = (low + high) // 2
            if a.endswith(view[end_b - done - mid : end_b - done], 0, end_a - done):
                low = mid
            else:
                high = mid
        return done + low
    return done


def _corrupt(cp: Checkpoint) -> InternalError:
    return InternalError(
        f"the stored state of checkpoint {cp.checkpoint_id!r} of execution "
        f"{cp.execution_id!r} cannot be read"
    )
