"""Moving checkpoints between stores: ``export``, ``import`` and ``copy-store``.

Export reads executions by id, each namespace, each lineage oldest first, and writes the
file described in ``archive``. Import saves in that order with ``save_many`` in batches,
then attaches pending writes, then reads every finished lineage back and compares each
checkpoint's digest with the file's:

- **Idempotent.** Checkpoint ids travel with the data, and a save of an id that is stored
  with the same content is a no-op; pending writes are keyed by ``(task_id, idx)``. So a
  second import of the same file stores nothing twice.
- **Resumable.** After a crash, run it again: what was stored is a prefix of each lineage
  (saves of a lineage run in order), the rest is stored after it, and the versions come
  out as they would have.
- **Verified.** Before writing, every record's digest and (for a file) the whole file's
  SHA-256; after, every checkpoint read back.

``copy-store`` is an export piped into an import in one process, then a second export of
the target over the same executions, whose counts and SHA-256 must equal the source's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    ResourceExhausted,
    iter_checkpoints,
)

from .archive import ArchiveError, Manifest, Reader, Record, Writer, digest
from .arguments import add_output, parse_metadata
from .changes import all_executions
from .errors import EXIT_OK, AdminError, UsageError
from .output import Output
from .progress import Tracker, track
from .target import StoreSpec, add_store_arguments, open_store, opened, parse_settings

__all__ = ["Importer", "Scope", "add_parsers", "export_lines", "ordered_checkpoints"]

#: Checkpoints per List page while exporting or verifying.
PAGE = 500
#: Defaults of a SaveMany batch: items, and bytes of states and channel values.
BATCH_ITEMS = 500
BATCH_BYTES = 8 * 1024 * 1024
#: Calls in flight at once for pending writes and read-backs.
CONCURRENCY = 8


def add_parsers(commands: Any) -> None:
    """Add ``export``, ``import`` and ``copy-store``."""
    p = commands.add_parser(
        "export",
        help="write checkpoints to a portable file with a manifest and checksums",
        description="Write every checkpoint (or those of --execution, or matching "
        "--metadata) with its channels and pending writes to FILE ('-': standard output) "
        "as JSON Lines: a header, one record per checkpoint (executions by id, then "
        "namespace, then oldest first), and a manifest with counts and SHA-256.",
    )
    p.add_argument("file", metavar="FILE", help="where to write; '-' for standard output")
    _scope_arguments(p)
    add_store_arguments(p)
    add_output(p)
    p.set_defaults(admin_run=_export)

    p = commands.add_parser(
        "import",
        help="load an export: idempotent, resumable after a crash, verified by reading back",
        description="Save the checkpoints of an export (FILE, or '-' for standard input) "
        "with their channels and pending writes. Running it again stores nothing twice, "
        "and finishes an import that was cut short. The file's checksums are checked "
        "before anything is written, and every checkpoint is read back and compared.",
    )
    p.add_argument("file", metavar="FILE", help="the export; '-' for standard input")
    _batch_arguments(p)
    add_store_arguments(p)
    add_output(p)
    p.set_defaults(admin_run=_import)

    p = commands.add_parser(
        "copy-store",
        help="copy a whole store to another backend, proven by counts and checksums",
        description="Copy every checkpoint (or a --execution / --metadata selection) from "
        "one backend to another, as export | import would, then export the target over "
        "the same executions: its counts and SHA-256 must equal the source's (exit 1 "
        "otherwise). Run it again to finish a copy that was cut short.",
    )
    p.add_argument("--from", dest="from_url", required=True, metavar="URL", help="source backend")
    p.add_argument("--to", dest="to_url", required=True, metavar="URL", help="target backend")
    p.add_argument(
        "--from-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a backend setting of the source, e.g. postgres-schema=old",
    )
    p.add_argument(
        "--to-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a backend setting of the target, e.g. postgres-schema=new",
    )
    _scope_arguments(p)
    _batch_arguments(p)
    add_output(p)
    p.set_defaults(admin_run=_copy_store)


def _scope_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--execution",
        action="append",
        metavar="ID",
        help="only this execution (repeatable; default: every one)",
    )
    p.add_argument(
        "--metadata",
        action="append",
        metavar="KEY=VALUE",
        help="only checkpoints whose metadata has KEY=VALUE (repeatable)",
    )


def _batch_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_ITEMS,
        help=f"checkpoints per SaveMany call (default {BATCH_ITEMS}; the gateway's "
        "--max-batch-items bounds it)",
    )


@dataclass(frozen=True)
class Scope:
    """Which checkpoints an export holds.

    Attributes:
        execution_ids: these executions only (None: every one).
        metadata: only checkpoints whose metadata has each of these.
    """

    execution_ids: Sequence[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Scope:
        ids = list(dict.fromkeys(args.execution)) if args.execution else None
        return cls(ids, parse_metadata(args.metadata))


async def _namespaces(store: CheckpointStore, execution_id: str) -> list[str]:
    found: list[str] = []
    token: str | None = None
    while True:
        page = await store.namespaces(execution_id, limit=1000, page_token=token)
        found += page.namespaces
        token = page.next_page_token
        if token is None:
            return found


async def ordered_checkpoints(
    store: CheckpointStore, scope: Scope, tracker: Tracker
) -> AsyncIterator[Checkpoint]:
    """Yield the checkpoints of ``scope`` in export order, with their pending writes.

    One lineage is held in memory at a time (a listing is newest first; the export is
    oldest first).
    """
    if scope.execution_ids is not None:
        ids = sorted(scope.execution_ids)
    else:
        ids = sorted(eid for eid, _ in await all_executions(store))
    tracker.total(len(ids))
    for eid in ids:
        namespaces = await _namespaces(store, eid)
        if not namespaces and scope.execution_ids is not None:
            raise AdminError(f"execution {eid!r} holds no checkpoints")
        for ns in namespaces:
            lineage = [
                cp
                async for cp in iter_checkpoints(
                    store,
                    eid,
                    namespace=ns,
                    page_size=PAGE,
                    metadata_filter=scope.metadata or None,
                    with_writes=True,
                )
            ]
            lineage.reverse()
            for cp in lineage:
                yield cp
        tracker.advance()


async def export_lines(
    store: CheckpointStore,
    scope: Scope,
    tracker: Tracker,
    seen: Callable[[Checkpoint], None] | None = None,
    done: Callable[[Manifest], None] | None = None,
) -> AsyncIterator[bytes]:
    """The lines of an export of ``scope``, manifest last; ``seen`` is told of each
    checkpoint, and ``done`` of the manifest."""
    buffer: deque[bytes] = deque()
    writer = Writer(buffer.append)
    writer.start()
    async for cp in ordered_checkpoints(store, scope, tracker):
        if seen is not None:
            seen(cp)
        writer.add(cp)
        while buffer:
            yield buffer.popleft()
    manifest = writer.finish()
    if done is not None:
        done(manifest)
    while buffer:
        yield buffer.popleft()


@dataclass
class ImportReport:
    """What an import did."""

    checkpoints: int = 0
    writes: int = 0
    verified: int = 0
    batches: int = 0


class Importer:
    """Saves records in order, in batches, and verifies each finished lineage.

    Args:
        store: where to save.
        tracker: advanced by each checkpoint saved.
        batch_items: most checkpoints per ``save_many``.
        batch_bytes: a batch is sent once its states and channel values weigh this much.
    """

    def __init__(
        self,
        store: CheckpointStore,
        tracker: Tracker,
        *,
        batch_items: int = BATCH_ITEMS,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.store = store
        self.tracker = tracker
        self.batch_items = batch_items
        self.batch_bytes = batch_bytes
        self.report = ImportReport()
        self._batch: list[Record] = []
        self._weight = 0
        self._lineage: tuple[str, str] | None = None
        # Digests by checkpoint id of the lineage being read, and of finished lineages
        # not yet read back.
        self._expected: dict[str, str] = {}
        self._finished: list[tuple[tuple[str, str], dict[str, str]]] = []
        self._gate = asyncio.Semaphore(CONCURRENCY)
        self._inflight: asyncio.Task[None] | None = None

    async def run(self, records: AsyncIterator[Record]) -> ImportReport:
        """Import every record; raise ``AdminError`` at the first failure.

        One batch is sent while the next is read: at most one ``save_many`` is in flight,
        so the saves of a lineage still happen in file order.
        """
        try:
            async for record in records:
                if record.lineage != self._lineage:
                    self._finish_lineage()
                    self._lineage = record.lineage
                self._expected[record.checkpoint.checkpoint_id] = record.sha256
                self._batch.append(record)
                cp = record.checkpoint
                self._weight += len(cp.state_bytes) + sum(
                    len(ch.value_bytes or b"") for ch in cp.channels.values()
                )
                if len(self._batch) >= self.batch_items or self._weight >= self.batch_bytes:
                    await self._send()
                elif len(self._batch) % 16 == 0:
                    await asyncio.sleep(0)  # let the batch in flight move while we read
            self._finish_lineage()
            await self._send()
            await self._drain()
        finally:
            if self._inflight is not None:
                self._inflight.cancel()
                with contextlib.suppress(BaseException):
                    await self._inflight
        return self.report

    def _finish_lineage(self) -> None:
        if self._lineage is not None and self._expected:
            self._finished.append((self._lineage, self._expected))
        self._expected = {}

    async def _send(self) -> None:
        """Hand the batch, and the lineages finished before it, to a flush of their own,
        once the flush before it is done."""
        batch, self._batch, self._weight = self._batch, [], 0
        finished, self._finished = self._finished, []
        await self._drain()
        self._inflight = asyncio.create_task(self._flush(batch, finished))

    async def _drain(self) -> None:
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    async def _flush(
        self, batch: list[Record], finished: list[tuple[tuple[str, str], dict[str, str]]]
    ) -> None:
        if batch:
            results = await self._save_many(batch)
            for record, result in zip(batch, results, strict=True):
                if isinstance(result, CheckpointError):
                    raise AdminError(f"{_where(record)}: {type(result).__name__}: {result}")
            await asyncio.gather(*(self._put_writes(r) for r in batch if r.writes))
            self.report.checkpoints += len(batch)
            self.report.batches += 1
            self.tracker.advance(len(batch))
        await asyncio.gather(*(self._verify(lineage, want) for lineage, want in finished))

    async def _save_many(self, batch: list[Record]) -> list[Checkpoint | CheckpointError]:
        """``save_many``; a batch over the gateway's message limit is sent in halves."""
        try:
            return await self.store.save_many([r.checkpoint for r in batch])
        except ResourceExhausted:
            if len(batch) == 1:
                raise
            half = len(batch) // 2
            return [*await self._save_many(batch[:half]), *await self._save_many(batch[half:])]

    async def _put_writes(self, record: Record) -> None:
        cp = record.checkpoint
        async with self._gate:
            try:
                await self.store.put_writes(
                    cp.execution_id, cp.checkpoint_id, record.writes, namespace=cp.namespace
                )
            except CheckpointError as exc:
                raise AdminError(f"{_where(record)}: pending writes: {exc}") from None
        self.report.writes += len(record.writes)

    async def _verify(self, lineage: tuple[str, str], expected: dict[str, str]) -> None:
        """Read the lineage back until every imported checkpoint is found and matches."""
        eid, ns = lineage
        remaining = dict(expected)
        async with self._gate:
            async for cp in iter_checkpoints(
                self.store, eid, namespace=ns, page_size=PAGE, with_writes=True
            ):
                want = remaining.pop(cp.checkpoint_id, None)
                if want is not None and digest(cp) != want:
                    raise AdminError(
                        f"verification failed: checkpoint {cp.checkpoint_id!r} of execution "
                        f"{eid!r}{_ns(ns)} reads back different from the file"
                    )
                if not remaining:
                    break
        if remaining:
            raise AdminError(
                f"verification failed: {len(remaining)} checkpoints of execution {eid!r}"
                f"{_ns(ns)} are not there after the import (e.g. {next(iter(remaining))!r}); "
                "does the target prune or expire them?"
            )
        self.report.verified += len(expected)


def _ns(ns: str) -> str:
    return f" in namespace {ns!r}" if ns else ""


def _where(record: Record) -> str:
    cp = record.checkpoint
    return (
        f"line {record.line}: checkpoint {cp.checkpoint_id!r} of execution "
        f"{cp.execution_id!r}{_ns(cp.namespace)}"
    )


# -- export ------------------------------------------------------------------------------


def _open_file(path: str, mode: str) -> IO[bytes]:
    """Open a file (blocking, once, before the work: a CLI has nothing else to run)."""
    return open(path, mode)


async def _export(args: argparse.Namespace) -> int:
    scope = Scope.from_args(args)
    to_stdout = args.file == "-"
    out = Output(args.output, sys.stderr if to_stdout else None)
    partial = f"{args.file}.partial"
    sink: IO[bytes]
    try:
        sink = sys.stdout.buffer if to_stdout else _open_file(partial, "wb")
    except OSError as exc:
        raise AdminError(f"cannot write {args.file}: {exc.strerror}") from None
    manifests: list[Manifest] = []
    try:
        async with opened(args) as store:
            with track("export", total=None, unit="executions") as tracker:
                async for line in export_lines(store, scope, tracker, done=manifests.append):
                    sink.write(line)
        sink.flush()
        if not to_stdout:
            os.fsync(sink.fileno())
            sink.close()
            os.replace(partial, args.file)  # a file named FILE is always a whole export
    finally:
        if not to_stdout and not sink.closed:
            sink.close()
            os.unlink(partial)
    if not to_stdout:
        _report(out, "exported", manifests[0], file=args.file)
    return EXIT_OK


def _manifest_of(line: bytes) -> Manifest:
    obj = json.loads(line)
    if not isinstance(obj, dict) or obj.pop("type", None) != "manifest":
        raise ValueError("not a manifest")
    return Manifest(**obj)


def _report(out: Output, verb: str, manifest: Manifest, **extra: Any) -> None:
    if out.json:
        out.data({**extra, **asdict(manifest)})
        return
    out.show(
        f"{verb} {manifest.checkpoints} checkpoints of {manifest.executions} executions "
        f"({manifest.lineages} lineages, {manifest.writes} pending writes, "
        f"{manifest.channel_values} channel values, {manifest.state_bytes} state bytes)"
        + (f" to {extra['file']}" if "file" in extra else ""),
        f"sha256 {manifest.sha256}",
    )


# -- import ------------------------------------------------------------------------------


async def _lines_of(stream: IO[bytes]) -> AsyncIterator[bytes]:
    for line in stream:
        yield line


def _prescan(path: str) -> Manifest:
    """Check a file's SHA-256 against its manifest before anything is written; return
    the manifest (its counts give the progress bar its total)."""
    hasher = hashlib.sha256()
    last = b""
    with open(path, "rb") as f:
        for line in f:
            if last:
                hasher.update(last)
            last = line
    try:
        manifest = _manifest_of(last)
    except (ValueError, KeyError, TypeError):
        raise ArchiveError(
            "the last line is not a manifest: the file is cut short or not an export"
        ) from None
    if manifest.sha256 != hasher.hexdigest():
        raise ArchiveError("the file's SHA-256 differs from its manifest's: the file is damaged")
    return manifest


async def _import(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    out = Output(args.output)
    total: int | None = None
    try:
        if args.file != "-":
            total = _prescan(args.file).checkpoints
    except OSError as exc:
        raise AdminError(f"cannot read {args.file}: {exc.strerror}") from None
    except ArchiveError as exc:
        raise AdminError(f"{args.file}: {exc}") from None
    reader = Reader()
    try:
        stream = sys.stdin.buffer if args.file == "-" else _open_file(args.file, "rb")
    except OSError as exc:
        raise AdminError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        async with opened(args) as store:
            with track("import", total=total, unit="checkpoints") as tracker:
                importer = Importer(store, tracker, batch_items=args.batch_size)
                report = await importer.run(reader.records(_lines_of(stream)))
    except ArchiveError as exc:
        raise AdminError(f"{args.file}: {exc}") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    assert reader.manifest is not None
    _import_report(out, report, reader.manifest)
    return EXIT_OK


def _import_report(out: Output, report: ImportReport, manifest: Manifest) -> None:
    if out.json:
        out.data({**asdict(report), "manifest": asdict(manifest)})
        return
    out.show(
        f"imported {report.checkpoints} checkpoints of {manifest.executions} executions "
        f"({report.writes} pending writes) in {report.batches} batches; "
        f"verified {report.verified} by reading them back",
        f"sha256 {manifest.sha256} (as the file's manifest says)",
    )


# -- copy-store --------------------------------------------------------------------------


async def _copy_store(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    scope = Scope.from_args(args)
    out = Output(args.output)
    source_spec = StoreSpec(
        backend=args.from_url, backend_settings=parse_settings(args.from_setting, "--from-setting")
    )
    target_spec = StoreSpec(
        backend=args.to_url, backend_settings=parse_settings(args.to_setting, "--to-setting")
    )
    executions: set[str] = set()
    reader = Reader()
    source = await open_store(source_spec)
    try:
        target = await open_store(target_spec)
        try:
            with track("copy", total=None, unit="executions") as tracker:
                importer = Importer(target, Tracker(None, None), batch_items=args.batch_size)
                lines = export_lines(
                    source, scope, tracker, seen=lambda cp: executions.add(cp.execution_id)
                )
                report = await importer.run(reader.records(lines))
            with track("check", total=None, unit="executions") as tracker:
                again = Scope(sorted(executions), scope.metadata)
                writer = Writer(lambda _: None)
                async for cp in ordered_checkpoints(target, again, tracker):
                    writer.add(cp)
                proof = writer.finish()
        finally:
            await target.close()
    finally:
        await source.close()
    assert reader.manifest is not None
    same = proof.counts() == reader.manifest.counts() and proof.sha256 == reader.manifest.sha256
    if out.json:
        out.data(
            {
                **asdict(report),
                "source": asdict(reader.manifest),
                "target": asdict(proof),
                "same": same,
            }
        )
    else:
        out.table(
            ["", "EXECUTIONS", "CHECKPOINTS", "WRITES", "CHANNEL VALUES", "SHA-256"],
            [
                (
                    name,
                    m.executions,
                    m.checkpoints,
                    m.writes,
                    m.channel_values,
                    m.sha256,
                )
                for name, m in (("source", reader.manifest), ("target", proof))
            ],
        )
        out.show(
            f"copied {report.checkpoints} checkpoints, verified {report.verified}: "
            + ("the target matches the source" if same else "THE TARGET DIFFERS FROM THE SOURCE")
        )
    if not same:
        raise AdminError("the target's export differs from the source's (see above)")
    return EXIT_OK
