"""The export file: portable, streamed, checked line by line and as a whole.

An export is UTF-8 JSON Lines; every line is one compact JSON object with sorted keys::

    {"format":"checkpoint-gateway-export","type":"header","version":1}
    {"channels":{...},"checkpoint_id":"...","content_type":"application/json",
     "execution_id":"run-1","metadata":{...},"namespace":"","next_nodes":["tools"],
     "node":"agent","parent_id":"...","sha256":"...","state":"<base64>","type":"checkpoint",
     "writes":[{"channel":"...","content_type":"...","idx":0,"task_id":"...",
                "task_path":"","value":"<base64>"}]}
    ...
    {"channel_values":3,"checkpoints":120,"executions":4,"lineages":5,"sha256":"...",
     "state_bytes":81234,"type":"manifest","writes":40}

- **Order.** Executions by id, then namespaces (code point order), then each lineage's
  checkpoints oldest first (version ascending). Importing the file in this order gives
  the same order again, so export -> import elsewhere -> export gives the same bytes.
- **What is left out:** what the target store assigns on save (``version``,
  ``created_at``), and pending writes whose checkpoint was never saved.
- **Channels.** A channel's value is written at its first ``(name, version)`` in the
  lineage; later checkpoints that carry the same version refer to it (``{"version": v}``),
  as the stores themselves share it. An import saves in file order, so the value is
  stored before anything refers to it.
- **Checks.** Each record's ``sha256`` is the digest of its content (``digest``): the
  state, metadata, channels (by the digest of each value) and writes. The manifest counts
  the file and gives the SHA-256 of every byte before it; an import checks both, and
  after writing reads each checkpoint back and compares its digest with the record's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NoReturn

from checkpoint_client import Channel, Checkpoint, PendingWrite

__all__ = [
    "FORMAT",
    "VERSION",
    "ArchiveError",
    "Manifest",
    "Reader",
    "Record",
    "Writer",
    "digest",
]

FORMAT = "checkpoint-gateway-export"
VERSION = 1

#: (name, version) -> (content type, SHA-256 of the value), within one lineage.
ChannelDigests = dict[tuple[str, str], tuple[str, str]]


class ArchiveError(ValueError):
    """The file is not a well-formed export, or does not match its own checksums."""


def _line(obj: dict[str, Any]) -> bytes:
    return (
        json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def digest(
    cp: Checkpoint,
    channels: ChannelDigests | None = None,
    writes: Sequence[PendingWrite] | None = None,
) -> str:
    """The SHA-256 of what a checkpoint holds, whatever store it is read from.

    Args:
        cp: the checkpoint; its channels with values, or references whose
            ``(content type, digest)`` is in ``channels``.
        channels: digests of the lineage's channel values seen before.
        writes: its pending writes (``cp.pending_writes`` if None).
    """
    if writes is None:
        writes = cp.pending_writes
    chans: dict[str, Any] = {}
    for name, ch in sorted(cp.channels.items()):
        if ch.value_bytes is not None:
            ct, sha = ch.content_type, _sha(ch.value_bytes)
        else:
            if channels is None or (name, ch.version) not in channels:
                raise ArchiveError(f"channel {name!r} version {ch.version!r} refers to nothing")
            ct, sha = channels[(name, ch.version)]
        chans[name] = {"content_type": ct, "sha256": sha, "version": ch.version}
    written = [
        {
            "channel": w.channel,
            "content_type": w.content_type,
            "idx": w.idx,
            "sha256": _sha(w.value_bytes),
            "task_id": w.task_id,
            "task_path": w.task_path,
        }
        for w in sorted(writes, key=lambda w: (w.task_id, w.idx))
    ]
    content = {
        "channels": chans,
        "checkpoint_id": cp.checkpoint_id,
        "content_type": cp.content_type,
        "execution_id": cp.execution_id,
        "metadata": cp.metadata,
        "namespace": cp.namespace,
        "next_nodes": list(cp.next_nodes),
        "node": cp.node,
        "parent_id": cp.parent_id,
        "state": _sha(cp.state_bytes),
        "writes": written,
    }
    return _sha(_line(content))


@dataclass
class Manifest:
    """What an export holds: counts, and the SHA-256 of the lines before the manifest."""

    executions: int = 0
    lineages: int = 0
    checkpoints: int = 0
    writes: int = 0
    channel_values: int = 0
    state_bytes: int = 0
    sha256: str = ""

    def counts(self) -> dict[str, int]:
        """Every count, without the checksum."""
        out = asdict(self)
        del out["sha256"]
        return out


@dataclass
class Record:
    """One checkpoint read from an export, ready to save, with its pending writes (which a
    save does not carry) and its digest."""

    checkpoint: Checkpoint
    writes: list[PendingWrite]
    sha256: str
    line: int

    @property
    def lineage(self) -> tuple[str, str]:
        return (self.checkpoint.execution_id, self.checkpoint.namespace)


@dataclass
class Writer:
    """Turns checkpoints, given in export order, into the lines of an export.

    Args:
        sink: called with each line's bytes.
    """

    sink: Callable[[bytes], None]
    manifest: Manifest = field(default_factory=Manifest)
    _hash: Any = field(default_factory=hashlib.sha256)
    _lineage: tuple[str, str] | None = None
    _execution: str | None = None
    _channels: ChannelDigests = field(default_factory=dict)
    _started: bool = False
    _last: tuple[str, str] | None = None

    def _emit(self, obj: dict[str, Any]) -> None:
        data = _line(obj)
        self._hash.update(data)
        self.sink(data)

    def start(self) -> None:
        """Write the header (``add`` does it if not done)."""
        if not self._started:
            self._started = True
            self._emit({"format": FORMAT, "type": "header", "version": VERSION})

    def add(self, cp: Checkpoint) -> None:
        """Write one checkpoint (with its pending writes and channel values)."""
        self.start()
        lineage = (cp.execution_id, cp.namespace)
        if lineage != self._lineage:
            if self._last is not None and lineage < self._last:
                raise ValueError(f"export out of order at {lineage!r}")
            self._lineage, self._last, self._channels = lineage, lineage, {}
            self.manifest.lineages += 1
            if cp.execution_id != self._execution:
                self._execution = cp.execution_id
                self.manifest.executions += 1
        channels: dict[str, Any] = {}
        for name, ch in sorted(cp.channels.items()):
            key = (name, ch.version)
            if key in self._channels or ch.value_bytes is None:
                channels[name] = {"version": ch.version}
            else:
                channels[name] = {
                    "content_type": ch.content_type,
                    "value": _b64(ch.value_bytes),
                    "version": ch.version,
                }
                self.manifest.channel_values += 1
        sha = digest(cp, self._channels)
        for name, ch in cp.channels.items():
            if ch.value_bytes is not None:
                self._channels.setdefault(
                    (name, ch.version), (ch.content_type, _sha(ch.value_bytes))
                )
        writes = sorted(cp.pending_writes, key=lambda w: (w.task_id, w.idx))
        self._emit(
            {
                "channels": channels,
                "checkpoint_id": cp.checkpoint_id,
                "content_type": cp.content_type,
                "execution_id": cp.execution_id,
                "metadata": cp.metadata,
                "namespace": cp.namespace,
                "next_nodes": list(cp.next_nodes),
                "node": cp.node,
                "parent_id": cp.parent_id,
                "sha256": sha,
                "state": _b64(cp.state_bytes),
                "type": "checkpoint",
                "writes": [
                    {
                        "channel": w.channel,
                        "content_type": w.content_type,
                        "idx": w.idx,
                        "task_id": w.task_id,
                        "task_path": w.task_path,
                        "value": _b64(w.value_bytes),
                    }
                    for w in writes
                ],
            }
        )
        self.manifest.checkpoints += 1
        self.manifest.writes += len(writes)
        self.manifest.state_bytes += len(cp.state_bytes)

    def finish(self) -> Manifest:
        """Write the manifest; return it."""
        self.start()
        self.manifest.sha256 = self._hash.hexdigest()
        self.sink(_line({**asdict(self.manifest), "type": "manifest"}))
        return self.manifest


class Reader:
    """Parses the lines of an export into ``Record``s, checking as it goes.

    Each record's digest is checked before it is handed out; the manifest (which must
    be the last line) is checked against the counts and the SHA-256 of what came before.
    ``manifest`` holds it once the lines are all read.
    """

    def __init__(self) -> None:
        self.manifest: Manifest | None = None
        self.counted = Manifest()
        self._hash = hashlib.sha256()
        self._lineno = 0
        self._lineage: tuple[str, str] | None = None
        self._execution: str | None = None
        self._channels: ChannelDigests = {}

    async def records(self, lines: AsyncIterator[bytes]) -> AsyncIterator[Record]:
        """Yield the records of ``lines``; raise ``ArchiveError`` at the first problem."""
        async for raw in lines:
            self._lineno += 1
            if self.manifest is not None:
                if raw.strip():
                    self._fail("data after the manifest")
                continue
            obj = self._parse(raw)
            kind = obj.get("type")
            if self._lineno == 1:
                if kind != "header" or obj.get("format") != FORMAT:
                    self._fail(f"not a {FORMAT} file (no header line)")
                if obj.get("version") != VERSION:
                    self._fail(f"format version {obj.get('version')!r}; this reads {VERSION}")
                self._hash.update(raw)
                continue
            if kind == "checkpoint":
                record = self._record(obj)
                self._hash.update(raw)
                yield record
            elif kind == "manifest":
                self._check_manifest(obj)
            else:
                self._fail(f"unknown record type {kind!r}")
        if self._lineno == 0:
            raise ArchiveError("the file is empty")
        if self.manifest is None:
            raise ArchiveError(
                f"the file ends at line {self._lineno} without its manifest: it is cut short"
            )

    def _fail(self, why: str) -> NoReturn:
        raise ArchiveError(f"line {self._lineno}: {why}")

    def _parse(self, raw: bytes) -> dict[str, Any]:
        try:
            obj = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            self._fail("not a JSON object")
        if not isinstance(obj, dict):
            self._fail("not a JSON object")
        return obj

    def _record(self, obj: dict[str, Any]) -> Record:
        try:
            cp, writes, sha = self._checkpoint(obj)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            if isinstance(exc, ArchiveError):
                raise
            self._fail(f"malformed checkpoint record ({type(exc).__name__}: {exc})")
        lineage = (cp.execution_id, cp.namespace)
        if lineage != self._lineage:
            self._lineage, self._channels = lineage, {}
            self.counted.lineages += 1
            if cp.execution_id != self._execution:
                self._execution = cp.execution_id
                self.counted.executions += 1
        try:
            actual = digest(cp, self._channels, writes)
        except ArchiveError as exc:
            self._fail(str(exc))
        if actual != sha:
            self._fail(
                f"checkpoint {cp.checkpoint_id!r} does not match its sha256: the file is damaged"
            )
        for name, ch in cp.channels.items():
            if ch.value_bytes is not None:
                self._channels.setdefault(
                    (name, ch.version), (ch.content_type, _sha(ch.value_bytes))
                )
                self.counted.channel_values += 1
        self.counted.checkpoints += 1
        self.counted.writes += len(writes)
        self.counted.state_bytes += len(cp.state_bytes)
        return Record(cp, writes, sha, self._lineno)

    @staticmethod
    def _checkpoint(obj: dict[str, Any]) -> tuple[Checkpoint, list[PendingWrite], str]:
        channels: dict[str, Channel] = {}
        for name, ch in obj["channels"].items():
            if "value" in ch:
                channels[name] = Channel(
                    str(ch["version"]),
                    base64.b64decode(ch["value"], validate=True),
                    content_type=str(ch["content_type"]),
                )
            else:
                channels[name] = Channel(str(ch["version"]))
        writes = [
            PendingWrite(
                str(w["task_id"]),
                int(w["idx"]),
                str(w["channel"]),
                base64.b64decode(w["value"], validate=True),
                content_type=str(w["content_type"]),
                task_path=str(w["task_path"]),
            )
            for w in obj["writes"]
        ]
        cp = Checkpoint(
            str(obj["execution_id"]),
            base64.b64decode(obj["state"], validate=True),
            namespace=str(obj["namespace"]),
            checkpoint_id=str(obj["checkpoint_id"]),
            parent_id=str(obj["parent_id"]),
            node=str(obj["node"]),
            next_nodes=[str(n) for n in obj["next_nodes"]],
            content_type=str(obj["content_type"]),
            metadata=obj["metadata"],
            channels=channels,
        )
        return cp, writes, str(obj["sha256"])

    def _check_manifest(self, obj: dict[str, Any]) -> None:
        try:
            manifest = Manifest(
                **{k: v for k, v in obj.items() if k != "type"},
            )
        except TypeError:
            self._fail("malformed manifest")
        if manifest.sha256 != self._hash.hexdigest():
            self._fail("the file's SHA-256 differs from its manifest's: the file is damaged")
        if manifest.counts() != self.counted.counts():
            self._fail(
                f"the manifest counts {manifest.counts()}, the file holds {self.counted.counts()}"
            )
        self.manifest = manifest
