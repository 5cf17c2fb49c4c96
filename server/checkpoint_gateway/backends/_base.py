"""What every backend shares: validation, id assignment, paging; backends store.

A backend subclasses ``Backend`` and implements the ``_``-prefixed primitives. The public
methods validate input first, so bad input never reaches storage, and every backend
answers the same request with the same result or the same error.

Rules every backend keeps (the contract suite checks each on every backend):

- **Channels.** A checkpoint's channels are stored once per ``(lineage, name, version)``
  and shared by every checkpoint of the lineage that carries that version. A saved
  channel with a value stores it (the same bytes again change nothing; others under a
  stored version are a ``Conflict``); one without refers to the stored value
  (``NotFound`` when there is none). When checkpoints go (delete, clear, retention,
  TTL, prune, delete_where), the values no remaining checkpoint of the lineage carries
  go with them.
- **Pending writes** are stored whether or not their checkpoint is saved yet (a runtime
  may send a step's writes before its checkpoint), keyed by ``(task_id, idx)``: the
  first write of a key with ``idx >= 0`` wins, a special one (``idx < 0``) replaces.
  Each remembers when it was stored. They go with their checkpoint, with ``delete`` of
  their checkpoint id (saved or not), and with ``clear``. Writes whose checkpoint was
  never saved ("orphans") also go when checkpoints are thinned: retention and
  ``prune`` remove the orphans stored before the newest checkpoint they remove (a save
  is acknowledged before the next step's writes are made, so those can belong to no
  checkpoint still to come), and TTL removes orphans older than the TTL. Two rules follow
  from expiry: an expired checkpoint takes only the writes stored while it lived (a write
  stored under its id afterwards waits for a checkpoint of that id still to come), and
  the first write of a key wins only against a write that is still there (not one that
  expired or went with its checkpoint).
- **Order.** Within a lineage, versions. Across the namespaces of an execution, and
  across executions: ``created_at``, then execution id, namespace and version, all
  descending (``position``), keyset-paged with signed tokens (``_paging``).
- **Executions** are listed by when a checkpoint was last saved to them (their
  ``updated_at``), newest first; an execution without live checkpoints is not listed.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    CheckpointPage,
    CheckpointStore,
    Conflict,
    ExecutionInfo,
    ExecutionPage,
    InternalError,
    InvalidArgument,
    NamespacePage,
    NotFound,
    PendingWrite,
    PruneStrategy,
    Unavailable,
)
from checkpoint_client._ids import with_id

from .. import context as call_context
from .. import validation as v
from ._paging import PageTokens
from ._states import (
    HIDDEN,
    StateCodec,
    StateStorage,
    chained,
    is_frame,
    stored_length,
    visible_channels,
)

__all__ = [
    "AncestorWalk",
    "Backend",
    "PageBudget",
    "PoolStats",
    "Position",
    "Retention",
    "StateStorage",
    "channel_conflict",
    "check_cas",
    "from_us",
    "missing_channel",
    "position",
    "saved_or_conflict",
    "to_us",
    "weight",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

#: Where a checkpoint sorts in a listing across lineages: ``(created_at`` in µs since the
#: epoch, execution id, namespace, version), compared as a tuple; listings are newest
#: first (descending), and a page continues strictly below the last position served.
Position = tuple[int, str, str, int]


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch (exact for the datetimes stores hold)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def position(cp: Checkpoint) -> Position:
    """A checkpoint's sort key in listings across lineages."""
    assert cp.created_at is not None
    return (to_us(cp.created_at), cp.execution_id, cp.namespace, cp.version)


def weight(cp: Checkpoint) -> int:
    """About how many bytes a checkpoint takes in a response (to bound a page): a state
    stored as a chain (``_states``) counts whole, and the chain's links not at all."""
    size = stored_length(cp) + 512
    for name, ch in cp.channels.items():
        if not name.startswith(HIDDEN):
            size += len(ch.value_bytes or b"") + 64
    for w in cp.pending_writes:
        size += len(w.value_bytes) + 64
    return size


@dataclass(frozen=True, slots=True)
class Retention:
    """How long checkpoints are kept. Both off by default.

    Attributes:
        max_checkpoints: keep only the newest N checkpoints of each lineage; older ones
            (and their writes) are deleted by the save that makes them surplus, in the
            same transaction where the backend has one.
        ttl_seconds: a checkpoint expires this long after it was saved. Expired
            checkpoints are never returned (load, latest, list, before), and are removed
            lazily by later saves to the lineage or by the backend's own expiry.
    """

    max_checkpoints: int | None = None
    ttl_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_checkpoints is not None and self.max_checkpoints < 1:
            raise ValueError("max_checkpoints must be at least 1")
        if self.ttl_seconds is not None and self.ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")


@dataclass(frozen=True, slots=True)
class PoolStats:
    """A backend's connection pool right now (for metrics)."""

    size: int  # connections open
    in_use: int  # connections lent to calls
    idle: int  # open and free
    waiting: int  # calls waiting for a connection
    max_size: int  # the most it may open


@dataclass
class PageBudget:
    """Bounds a page by weight as a backend builds it: ``admit`` each candidate in order
    and stop at the first it refuses (``cut`` then says the page was cut short)."""

    max_bytes: int
    used: int = 0
    count: int = 0
    cut: bool = False

    def fits(self, size: int) -> bool:
        """What ``admit`` would say of a checkpoint of ``weight`` ``size``, without counting
        it: for a backend that weighs candidates before it reads their states."""
        return not self.count or self.used + size <= self.max_bytes

    def admit(self, cp: Checkpoint) -> bool:
        size = weight(cp)
        if not self.fits(size):
            self.cut = True
            return False
        self.used += size
        self.count += 1
        return True


@dataclass
class AncestorWalk:
    """One page of a walk up a parent chain, with the rules every backend shares.

    A backend feeds it checkpoints along the parent links (each with its pending writes
    and channel values, at least those in ``wanted()``) until ``take`` says to stop; it
    keeps, of each, only what the caller asked for. With ``channels`` it keeps, of a
    checkpoint, only the channels not yet found and their writes, and the walk ends once
    each has been found (a checkpoint that carries a channel is that channel's seed).

    Attributes:
        channels: the channels still to find (None: keep everything, walk to the root).
        limit: the most checkpoints on the page.
        max_bytes: the page stops before it would hold more (it holds at least one).
        include_state: keep states (they are dropped otherwise).
        items: the page so far.
        finished: the walk is over (every channel found); no next page.
    """

    channels: builtins.list[str] | None
    limit: int
    max_bytes: int
    include_state: bool
    items: builtins.list[Checkpoint] = field(default_factory=list)
    finished: bool = False
    _bytes: int = 0

    def wanted(self) -> set[str] | None:
        """The channels whose values and writes the next checkpoint must carry (None:
        every one)."""
        return None if self.channels is None else set(self.channels)

    def take(self, cp: Checkpoint) -> bool:
        """Keep ``cp``, trimmed to what was asked, if the page has room for it (it always
        has for the first); return False, keeping nothing, when it has none."""
        if self.channels is not None:
            # The links of the state's chain stay with the state (the caller decodes it).
            keep = set(self.channels)
            cp = cp.replace(
                channels={
                    n: c
                    for n, c in cp.channels.items()
                    if n in keep or (self.include_state and n.startswith(HIDDEN))
                },
                pending_writes=[w for w in cp.pending_writes if w.channel in keep],
            )
        if not self.include_state:
            cp = cp.replace(state=b"", channels=visible_channels(cp.channels))
        size = weight(cp)
        if self.items and (len(self.items) >= self.limit or self._bytes + size > self.max_bytes):
            return False
        self.items.append(cp)
        self._bytes += size
        if self.channels is not None:
            self.channels = [n for n in self.channels if n not in cp.channels]
            self.finished = not self.channels
        return True

    def next_after(self, cp: Checkpoint) -> str | None:
        """Once ``cp`` was taken: None to go on to its parent, else where the next page
        starts ("" when the walk is over)."""
        if self.finished or not cp.parent_id:
            return ""
        if len(self.items) >= self.limit:
            return cp.parent_id
        return None


class Backend(CheckpointStore, ABC):
    """Base class of the storage backends.

    Args:
        limits: request bounds; the defaults suit in-process use.
        retention: pruning and expiry; off by default.
        clock: the time source for ``created_at`` and expiry (tests inject one).
        page_tokens: signs page tokens; replicas behind one address need the same key.
        state_storage: how states are stored (as chains of deltas; see ``_states``).
    """

    name: ClassVar[str]

    def __init__(
        self,
        *,
        limits: v.Limits | None = None,
        retention: Retention | None = None,
        clock: Callable[[], datetime] = utc_now,
        page_tokens: PageTokens | None = None,
        state_storage: StateStorage | None = None,
    ) -> None:
        self.limits = limits or v.Limits()
        self.states = StateCodec(state_storage)
        self.retention = retention or Retention()
        self.clock = clock
        self.page_tokens = page_tokens or PageTokens()

    def pool_stats(self) -> PoolStats | None:
        """The connection pool's state, or None for backends without a pool."""
        return None

    def now(self) -> datetime:
        """Creation time for a new checkpoint (UTC, whole microseconds)."""
        return self.clock()

    def expired_before(self) -> datetime | None:
        """Checkpoints created before this instant are expired; None without a TTL."""
        ttl = self.retention.ttl_seconds
        return None if ttl is None else self.clock() - timedelta(seconds=ttl)

    def is_live(self, checkpoint: Checkpoint) -> bool:
        cutoff = self.expired_before()
        return cutoff is None or checkpoint.created_at is None or checkpoint.created_at >= cutoff

    # -- the CheckpointStore interface --------------------------------------------------

    async def save(
        self, checkpoint: Checkpoint, *, expected_version: int | None = None
    ) -> Checkpoint:
        raw = self._prepared(checkpoint, expected_version)
        stored = await self._stored_form(raw)
        try:
            saved = await self._save(stored, expected_version)
        except NotFound:
            if stored is raw:
                raise
            # A link of the parent's chain went meanwhile (its last holder was removed):
            # the state goes as it came, which references nothing of ours.
            self.states.forget(raw)
            stored = raw
            saved = await self._save(stored, expected_version)
        except BaseException:
            self.states.forget(raw)
            raise
        return await self._save_answer(raw, stored, saved)

    async def _stored_form(self, raw: Checkpoint) -> Checkpoint:
        """``raw`` as it is to be stored (``_states``): its parent is read first when its
        state is needed and not at hand."""
        if not self.states.worth_encoding(raw):
            return raw
        parent_state = None
        if self.states.needs_parent(raw):
            parent = await self._load(raw.execution_id, raw.namespace, raw.parent_id)
            if parent is not None:
                try:
                    parent_state = (await self.states.decode(parent)).state_bytes
                except InternalError:
                    parent = None  # unreadable: the state starts a chain of its own
            self.states.parent_read(raw, parent)
        return await self.states.encode(raw, parent_state)

    async def _save_answer(
        self, raw: Checkpoint, stored: Checkpoint, saved: Checkpoint
    ) -> Checkpoint:
        """A save's answer. When the id was stored already and either side is a chain,
        ``saved_or_conflict`` compared all but the states: the stored state is read and
        compared here (a retry gets the stored checkpoint, other content a Conflict)."""
        if stored is raw:  # as it came: a new save answers with the very state it was given
            if saved.state_bytes is raw.state_bytes:
                self.states.stored(raw, stored)
                return _answer(saved)
            if not chained(saved):
                return _answer(saved)  # a retry, compared whole by saved_or_conflict
        elif saved.state_bytes == stored.state_bytes and (
            saved.channel_versions() == stored.channel_versions()
        ):
            self.states.stored(raw, stored)
            return _answer(saved.replace(state=raw.state_bytes))
        self.states.forget(raw)
        if not chained(saved) and not chained(stored):
            return _answer(saved)  # compared whole by saved_or_conflict
        found = await self._load(raw.execution_id, raw.namespace, raw.checkpoint_id)
        if found is None:
            return _answer(saved.replace(state=raw.state_bytes))  # removed meanwhile
        found = await self.states.decode(found)
        if found.state_bytes != raw.state_bytes:
            raise _exists(raw)
        return _answer(found.replace(pending_writes=()))

    def _prepared(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        """A valid checkpoint as it is stored: with an id, without pending writes (saves
        carry none; PutWrites adds them). Raises ``InvalidArgument`` for bad input."""
        v.check_checkpoint(checkpoint, self.limits)
        v.check_expected_version(expected_version)
        checkpoint = with_id(checkpoint)
        if checkpoint.pending_writes:
            checkpoint = checkpoint.replace(pending_writes=())
        return checkpoint

    async def save_many(
        self,
        checkpoints: Sequence[Checkpoint],
        *,
        expected_versions: Sequence[int | None] | None = None,
    ) -> builtins.list[Checkpoint | CheckpointError]:
        """Save several checkpoints in order; each is stored or fails on its own.

        Returns one entry per checkpoint: the stored checkpoint, or the error that item
        got (``InvalidArgument``, ``Conflict``...), as ``save`` would have raised it. Items
        run in order, so saves of one lineage get consecutive versions. A failure of the
        whole call (the backend unreachable) is raised instead.
        """
        items = v.check_batch(checkpoints, expected_versions, self.limits)
        out: builtins.list[Checkpoint | CheckpointError | None] = [None] * len(items)
        valid: builtins.list[tuple[Checkpoint, int | None]] = []
        positions: builtins.list[int] = []
        for i, (checkpoint, expected) in enumerate(items):
            try:
                valid.append((self._prepared(checkpoint, expected), expected))
            except InvalidArgument as exc:
                out[i] = exc
                continue
            positions.append(i)
        if valid:
            stored = [(await self._stored_form(cp), expected) for cp, expected in valid]
            try:
                results = await self._save_many(stored)
            except BaseException:
                for cp, _ in valid:
                    self.states.forget(cp)
                raise
            for i, (raw, _), (cp, expected), result in zip(
                positions, valid, stored, results, strict=True
            ):
                if isinstance(result, CheckpointError):
                    self.states.forget(raw)
                    if not (isinstance(result, NotFound) and cp is not raw):
                        out[i] = result
                        continue
                    # As in save: a link went meanwhile; stored as it came. (Rare: a later
                    # item of the lineage may have been stored before this one.)
                    try:
                        out[i] = await self._save_answer(raw, raw, await self._save(raw, expected))
                    except CheckpointError as exc:
                        if not _item_error(exc):
                            raise
                        out[i] = exc
                    continue
                try:
                    out[i] = await self._save_answer(raw, cp, result)
                except Conflict as exc:
                    out[i] = exc
        return [r for r in out if r is not None]

    async def load(
        self, execution_id: str, checkpoint_id: str, *, namespace: str = ""
    ) -> Checkpoint:
        v.check_lineage(execution_id, namespace, self.limits)
        v.check_name(checkpoint_id, "checkpoint_id", self.limits)
        found = await self._load(execution_id, namespace, checkpoint_id)
        if found is None:
            raise _missing(execution_id, namespace, checkpoint_id)
        return await self.states.decode(found)

    async def latest(self, execution_id: str, *, namespace: str = "") -> Checkpoint:
        v.check_lineage(execution_id, namespace, self.limits)
        found = await self._latest(execution_id, namespace)
        if found is None:
            raise NotFound(
                f"execution {execution_id!r}{_in_namespace(namespace)} has no checkpoints"
            )
        return await self.states.decode(found)

    async def list(
        self,
        execution_id: str,
        *,
        namespace: str = "",
        limit: int | None = None,
        page_token: str | None = None,
        before: str | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        all_namespaces: bool = False,
        with_writes: bool = False,
    ) -> CheckpointPage:
        v.check_lineage(execution_id, namespace, self.limits)
        size = v.page_size(limit, self.limits)
        wanted = v.check_metadata_filter(metadata_filter, self.limits)
        budget = self.limits.max_page_bytes
        if all_namespaces:
            scope: builtins.list[Any] = [execution_id, wanted]
            after: Position | None = None
            if page_token:
                after = self._position_token(page_token, "execution", scope)
                if after[1] != execution_id:
                    raise InvalidArgument("page_token is malformed")
            elif before:
                version, created_us = await self._anchor(execution_id, namespace, before)
                after = (created_us, execution_id, namespace, version)
            items, cut = await self._list_execution(
                execution_id, after, size + 1, wanted, with_writes=with_writes, max_bytes=budget
            )
            items, cut = await self._decoded_page(items, cut)
            return self._position_page(items, cut, size, "execution", scope)
        below: int | None = None
        scope = [execution_id, namespace, wanted]
        if page_token:
            (below,) = self._ints(self.page_tokens.decode(page_token, "lineage", scope), 1)
        elif before:
            below, _ = await self._anchor(execution_id, namespace, before)
        items, cut = await self._list(
            execution_id,
            namespace,
            below,
            size + 1,
            wanted,
            with_writes=with_writes,
            max_bytes=budget,
        )
        items, cut = await self._decoded_page(items, cut)
        items, more = _trim(items, cut, size)
        token = None
        if more:
            token = self.page_tokens.encode("lineage", scope, [items[-1].version])
        return CheckpointPage(items, token)

    async def search(
        self,
        metadata_filter: Mapping[str, Any] | None = None,
        *,
        limit: int | None = None,
        page_token: str | None = None,
        with_writes: bool = False,
    ) -> CheckpointPage:
        size = v.page_size(limit, self.limits)
        wanted = v.check_metadata_filter(metadata_filter, self.limits)
        prefix = call_context.execution_prefix.get()
        scope: builtins.list[Any] = [prefix, wanted]
        after = self._position_token(page_token, "search", scope) if page_token else None
        if after is not None and not after[1].startswith(prefix):
            raise InvalidArgument("page_token is malformed")
        items, cut = await self._search(
            prefix,
            after,
            size + 1,
            wanted,
            with_writes=with_writes,
            max_bytes=self.limits.max_page_bytes,
        )
        items, cut = await self._decoded_page(items, cut)
        return self._position_page(items, cut, size, "search", scope)

    async def namespaces(
        self, execution_id: str, *, limit: int | None = None, page_token: str | None = None
    ) -> NamespacePage:
        v.check_name(execution_id, "execution_id", self.limits)
        size = v.page_size(limit, self.limits)
        after: str | None = None
        if page_token:
            position = self.page_tokens.decode(page_token, "namespaces", [execution_id])
            if len(position) != 1 or not isinstance(position[0], str):
                raise InvalidArgument("page_token is malformed")
            after = v.check_name(position[0], "page_token", self.limits, allow_empty=True)
        found = await self._namespaces(execution_id, after, size + 1)
        token = None
        if len(found) > size:
            found = found[:size]
            token = self.page_tokens.encode("namespaces", [execution_id], [found[-1]])
        return NamespacePage(found, token)

    async def executions(
        self, *, limit: int | None = None, page_token: str | None = None
    ) -> ExecutionPage:
        size = v.page_size(limit, self.limits)
        prefix = call_context.execution_prefix.get()
        after: tuple[int, str] | None = None
        if page_token:
            position = self.page_tokens.decode(page_token, "executions", [prefix])
            if (
                len(position) != 2
                or not isinstance(position[0], int)
                or not isinstance(position[1], str)
            ):
                raise InvalidArgument("page_token is malformed")
            after = (position[0], v.check_name(position[1], "page_token", self.limits))
        found = await self._executions(prefix, after, size + 1)
        token = None
        if len(found) > size:
            found = found[:size]
            last = found[-1]
            assert last.updated_at is not None
            token = self.page_tokens.encode(
                "executions", [prefix], [to_us(last.updated_at), last.execution_id]
            )
        return ExecutionPage(found, token)

    async def delete_where(
        self, metadata_filter: Mapping[str, Any], *, execution_id: str | None = None
    ) -> int:
        wanted = v.check_metadata_filter(metadata_filter, self.limits)
        if not wanted:
            raise InvalidArgument(
                "delete_where needs a metadata filter (to remove everything, use clear)"
            )
        if execution_id is not None:
            v.check_name(execution_id, "execution_id", self.limits)
        return await self._delete_where(call_context.execution_prefix.get(), execution_id, wanted)

    async def copy_execution(self, source_execution_id: str, target_execution_id: str) -> int:
        v.check_name(source_execution_id, "source_execution_id", self.limits)
        v.check_name(target_execution_id, "target_execution_id", self.limits)
        if source_execution_id == target_execution_id:
            raise InvalidArgument("source and target of a copy must differ")
        return await self._copy_execution(source_execution_id, target_execution_id)

    async def prune(
        self, execution_ids: Sequence[str], *, strategy: PruneStrategy = "keep_latest"
    ) -> int:
        ids = v.check_execution_ids(execution_ids, self.limits)
        if strategy not in ("keep_latest", "delete"):
            raise InvalidArgument(f"strategy must be 'keep_latest' or 'delete', not {strategy!r}")
        deleted = 0
        for execution_id in ids:
            if strategy == "delete":
                deleted += await self._clear(execution_id, None)
            else:
                deleted += await self._prune(execution_id)
        return deleted

    async def ancestors(
        self,
        execution_id: str,
        checkpoint_id: str,
        *,
        namespace: str = "",
        include_self: bool = False,
        channels: Sequence[str] | None = None,
        include_state: bool = False,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> CheckpointPage:
        v.check_lineage(execution_id, namespace, self.limits)
        v.check_name(checkpoint_id, "checkpoint_id", self.limits)
        names = v.check_channel_names(channels, self.limits)
        size = v.page_size(limit, self.limits)
        scope = [execution_id, namespace, checkpoint_id, include_self, names, include_state]
        start, first = checkpoint_id, include_self
        remaining: builtins.list[str] | None = builtins.list(names) if names else None
        if page_token:
            position = self.page_tokens.decode(page_token, "ancestors", scope)
            if len(position) != 2 or not isinstance(position[0], str):
                raise InvalidArgument("page_token is malformed")
            start = v.check_name(position[0], "page_token", self.limits)
            mask = self._ints(position[1:], 1)[0]
            first = True
            if remaining is not None:
                remaining = [n for i, n in enumerate(names) if mask >> i & 1]
        walk = AncestorWalk(remaining, size, self.limits.max_page_bytes, include_state)
        following = await self._ancestors(execution_id, namespace, start, first, walk)
        if following is None:
            if page_token:
                return CheckpointPage([], None)  # the rest of the chain was removed meanwhile
            raise _missing(execution_id, namespace, checkpoint_id)
        token = None
        if not walk.finished and following:
            mask = 0
            if walk.channels is not None:
                left = set(walk.channels)
                mask = sum(1 << i for i, n in enumerate(names) if n in left)
            token = self.page_tokens.encode("ancestors", scope, [following, mask])
        items = walk.items
        if include_state and names:
            # The walk read only the channels asked for: states stored as chains need
            # their links, read with the checkpoint (rare: LangGraph asks for either).
            items = [await self._with_links(cp) for cp in items]
        return CheckpointPage(await self.states.decode_all(items), token)

    async def _with_links(self, cp: Checkpoint) -> Checkpoint:
        if not is_frame(cp.state_bytes) or chained(cp):
            return cp
        whole = await self._load(cp.execution_id, cp.namespace, cp.checkpoint_id)
        if whole is None or whole.state_bytes != cp.state_bytes:
            raise Unavailable(
                f"checkpoint {cp.checkpoint_id!r} of execution {cp.execution_id!r} changed "
                "while it was read; safe to retry"
            )
        links = {n: ch for n, ch in whole.channels.items() if n.startswith(HIDDEN)}
        return cp.replace(channels={**cp.channels, **links})

    async def delete(self, execution_id: str, checkpoint_id: str, *, namespace: str = "") -> bool:
        v.check_lineage(execution_id, namespace, self.limits)
        v.check_name(checkpoint_id, "checkpoint_id", self.limits)
        return await self._delete(execution_id, namespace, checkpoint_id)

    async def clear(self, execution_id: str, *, namespace: str | None = None) -> int:
        v.check_name(execution_id, "execution_id", self.limits)
        if namespace is not None:
            v.check_name(namespace, "namespace", self.limits, allow_empty=True)
        return await self._clear(execution_id, namespace)

    async def put_writes(
        self,
        execution_id: str,
        checkpoint_id: str,
        writes: Sequence[PendingWrite],
        *,
        namespace: str = "",
    ) -> int:
        v.check_lineage(execution_id, namespace, self.limits)
        v.check_name(checkpoint_id, "checkpoint_id", self.limits)
        v.check_writes(writes, self.limits)
        # As if the writes were applied one by one: the first of a key wins, except that
        # a special write (idx < 0) replaces.
        unique: dict[tuple[str, int], PendingWrite] = {}
        for w in writes:
            key = (w.task_id, w.idx)
            if w.idx >= 0 and key in unique:
                continue
            unique[key] = w
        if unique:
            await self._put_writes(
                execution_id, namespace, checkpoint_id, builtins.list(unique.values())
            )
        return len(unique)

    # -- helpers of the public methods ----------------------------------------------------

    async def _decoded_page(
        self, items: builtins.list[Checkpoint], cut: bool
    ) -> tuple[builtins.list[Checkpoint], bool]:
        """A page as reads return it (states decoded), still within the page budget: a
        backend that weighs rows in its query counts a chain's stored bytes, so a page of
        chains may hold more than fits once decoded; it is cut short then."""
        if not any(chained(cp) for cp in items):
            return items, cut
        items = await self.states.decode_all(items)
        used = 0
        for i, cp in enumerate(items):
            used += weight(cp)
            if i and used > self.limits.max_page_bytes:
                return items[:i], True
        return items, cut

    async def _anchor(self, execution_id: str, namespace: str, before: str) -> tuple[int, int]:
        v.check_name(before, "before", self.limits)
        found = await self._locate(execution_id, namespace, before)
        if found is None:
            raise NotFound(
                f"checkpoint {before!r} (before) of execution {execution_id!r}"
                f"{_in_namespace(namespace)} does not exist"
            )
        return found

    @staticmethod
    def _ints(values: builtins.list[int | str], count: int) -> builtins.list[int]:
        if len(values) != count or not all(isinstance(x, int) for x in values):
            raise InvalidArgument("page_token is malformed")
        return [int(x) for x in values]

    def _position_token(self, token: str, kind: str, scope: builtins.list[Any]) -> Position:
        values = self.page_tokens.decode(token, kind, scope)
        if (
            len(values) != 4
            or not isinstance(values[0], int)
            or not isinstance(values[1], str)
            or not isinstance(values[2], str)
            or not isinstance(values[3], int)
        ):
            raise InvalidArgument("page_token is malformed")
        return (values[0], values[1], values[2], values[3])

    def _position_page(
        self,
        items: builtins.list[Checkpoint],
        cut: bool,
        size: int,
        kind: str,
        scope: builtins.list[Any],
    ) -> CheckpointPage:
        items, more = _trim(items, cut, size)
        token = None
        if more:
            token = self.page_tokens.encode(kind, scope, builtins.list(position(items[-1])))
        return CheckpointPage(items, token)

    # -- what a backend implements ------------------------------------------------------

    @abstractmethod
    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        """Store atomically and return the stored checkpoint (without writes).

        In one atomic step: delete the lineage's expired checkpoints (and orphan writes
        older than the TTL); if the id exists, answer with ``saved_or_conflict``; else
        check the checkpoint's channel references (``NotFound``) and values (a stored
        version with other bytes is a ``Conflict``, see ``channel_conflict``); else
        ``check_cas`` against the latest live version; else store the checkpoint and
        its new channel values with ``version = latest + 1`` and ``created_at =
        self.now()``, then apply ``self.retention.max_checkpoints`` (with the orphan
        rule, and unreferenced channel values).
        """

    async def _save_many(
        self, items: builtins.list[tuple[Checkpoint, int | None]]
    ) -> builtins.list[Checkpoint | CheckpointError]:
        """Store valid items (ids assigned) in order; one result or error per item.

        The default runs ``_save`` item by item. A backend with round trips to save
        overrides it to store a whole batch in one (``_batch.Coalescer`` also sends
        concurrent single saves here). Raise, rather than return, what failed the whole
        batch (a lost connection), so that callers retry it.
        """
        out: builtins.list[Checkpoint | CheckpointError] = []
        for checkpoint, expected in items:
            try:
                out.append(await self._save(checkpoint, expected))
            except CheckpointError as exc:
                if not _item_error(exc):
                    raise
                out.append(exc)
        return out

    @abstractmethod
    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        """The checkpoint with its channel values and pending writes (sorted by task_id,
        idx), or None."""

    @abstractmethod
    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        """The highest-version checkpoint, as ``_load`` returns it, or None."""

    @abstractmethod
    async def _locate(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> tuple[int, int] | None:
        """A live checkpoint's ``(version, created_at in µs)``, or None."""

    @abstractmethod
    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        """Up to ``limit`` matching live checkpoints with version < below_version, newest
        first, with channel values (and writes, ``with_writes``), reading no more than it
        needs: it stops before the page would weigh more than ``max_bytes`` (``weight``;
        it holds at least one) and then says so (True: cut short)."""

    @abstractmethod
    async def _list_execution(
        self,
        execution_id: str,
        after: Position | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        """As ``_list``, over every namespace of the execution, by ``position``
        descending, strictly below ``after``."""

    @abstractmethod
    async def _search(
        self,
        prefix: str,
        after: Position | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
        *,
        with_writes: bool,
        max_bytes: int,
    ) -> tuple[builtins.list[Checkpoint], bool]:
        """As ``_list_execution``, over every execution whose id starts with ``prefix``."""

    @abstractmethod
    async def _namespaces(
        self, execution_id: str, after: str | None, limit: int
    ) -> builtins.list[str]:
        """Up to ``limit`` namespaces holding live checkpoints, ascending, above ``after``."""

    @abstractmethod
    async def _executions(
        self, prefix: str, after: tuple[int, str] | None, limit: int
    ) -> builtins.list[ExecutionInfo]:
        """Up to ``limit`` executions whose id starts with ``prefix`` and that hold live
        checkpoints, by ``(updated_at, execution_id)`` descending, strictly below
        ``after`` (updated_at in µs). ``updated_at`` is when a checkpoint was last saved
        to the execution; deleting checkpoints does not move it back, but after a whole
        namespace is cleared a backend may report the last save of the namespaces left."""

    @abstractmethod
    async def _delete_where(
        self, prefix: str, execution_id: str | None, metadata_filter: Mapping[str, v.Scalar]
    ) -> int:
        """Remove the matching live checkpoints (of one execution, or of every execution
        under ``prefix``) with their writes and unreferenced channel values; return how
        many."""

    @abstractmethod
    async def _copy_execution(self, source: str, target: str) -> int:
        """Copy every live checkpoint, channel value and write of ``source`` to
        ``target``; ``NotFound`` for an empty source, ``Conflict`` for a target with
        live checkpoints. A target holding only writes (or expired checkpoints) is
        replaced: what it held goes. The target's ``updated_at`` is now."""

    @abstractmethod
    async def _prune(self, execution_id: str) -> int:
        """Keep each namespace's newest checkpoint (with its writes and channels) and
        remove the rest, with the orphan rule; return how many went."""

    async def _ancestors(
        self, execution_id: str, namespace: str, start: str, include_start: bool, walk: AncestorWalk
    ) -> str | None:
        """Feed ``walk`` the chain from ``start`` (itself first when ``include_start``,
        else its parent); return the id the next page starts at ("" when the chain
        ended), or None when ``start`` does not exist.

        The default follows parent links with ``_load``; a backend with round trips
        overrides it to fetch a page in one.
        """
        cp = await self._load(execution_id, namespace, start)
        if cp is None:
            return None
        if not include_start:
            if not cp.parent_id:
                return ""
            cp = await self._load(execution_id, namespace, cp.parent_id)
        while cp is not None:
            if not walk.take(cp):
                return cp.checkpoint_id
            following = walk.next_after(cp)
            if following is not None:
                return following
            cp = await self._load(execution_id, namespace, cp.parent_id)
        return ""  # the chain was cut (a parent deleted or pruned)

    @abstractmethod
    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        """Remove the checkpoint, its channel values no other checkpoint carries, and the
        writes stored under its id (saved or not); False when it did not exist."""

    @abstractmethod
    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        """Remove checkpoints, writes (orphans too) and channel values of one namespace
        or all; return how many checkpoints."""

    @abstractmethod
    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> None:
        """Store writes (keys distinct) whether or not the checkpoint is saved: insert
        a key with ``idx >= 0`` only when absent, upsert one with ``idx < 0``; remember
        when each was stored (``self.now()``)."""


# -- rules the backends share --------------------------------------------------------------


def saved_or_conflict(new: Checkpoint, stored: Checkpoint) -> Checkpoint:
    """The answer to saving ``new`` when its id is already ``stored``.

    The same content is a retry and returns what is stored; other content is a conflict.
    When either state is stored as a chain (``_states``), the states are left to the
    caller to compare (``Backend._save_answer`` reads the stored one): the rest is compared here.
    """
    if chained(new) or chained(stored):
        new = new.replace(state=b"", channels=visible_channels(new.channels))
        stored_visible = stored.replace(state=b"", channels=visible_channels(stored.channels))
        if new.same_content(stored_visible):
            return stored
    elif new.same_content(stored):
        return stored
    raise _exists(new)


def _exists(new: Checkpoint) -> Conflict:
    return Conflict(
        f"checkpoint {new.checkpoint_id!r} of execution {new.execution_id!r}"
        f"{_in_namespace(new.namespace)} already exists with different content"
    )


def check_cas(checkpoint: Checkpoint, expected_version: int | None, latest_version: int) -> None:
    """Raise Conflict when compare-and-set was asked for and the lineage moved on."""
    if expected_version is not None and expected_version != latest_version:
        raise Conflict(
            f"expected version {expected_version} of execution {checkpoint.execution_id!r}"
            f"{_in_namespace(checkpoint.namespace)}, but the latest is {latest_version}"
        )


def missing_channel(checkpoint: Checkpoint, name: str) -> NotFound:
    """The error of a save whose channel refers to a value the lineage does not hold."""
    version = checkpoint.channels[name].version
    return NotFound(
        f"channel {name!r} version {version!r} of execution {checkpoint.execution_id!r}"
        f"{_in_namespace(checkpoint.namespace)} is not stored; send its value"
    )


def channel_conflict(checkpoint: Checkpoint, name: str) -> Conflict:
    """The error of a save that sends other bytes under a stored channel version."""
    version = checkpoint.channels[name].version
    return Conflict(
        f"channel {name!r} version {version!r} of execution {checkpoint.execution_id!r}"
        f"{_in_namespace(checkpoint.namespace)} is already stored with a different value"
    )


def _answer(saved: Checkpoint) -> Checkpoint:
    """A save's answer: the stored checkpoint, its channels as references (Load has the
    values)."""
    if not any(ch.has_value or n.startswith(HIDDEN) for n, ch in saved.channels.items()):
        return saved
    return saved.replace(
        channels={n: ch.reference() for n, ch in visible_channels(saved.channels).items()}
    )


def _trim(
    items: builtins.list[Checkpoint], cut: bool, size: int
) -> tuple[builtins.list[Checkpoint], bool]:
    """The page and whether more follow: a backend returns one extra item when there is
    more, or says it cut the page short to keep it under the byte budget."""
    if len(items) > size:
        return items[:size], True
    return items, cut and bool(items)


def _missing(execution_id: str, namespace: str, checkpoint_id: str) -> NotFound:
    return NotFound(
        f"checkpoint {checkpoint_id!r} of execution {execution_id!r}"
        f"{_in_namespace(namespace)} does not exist"
    )


def _item_error(exc: CheckpointError) -> bool:
    """Whether an error belongs to one item of a batch (the backend answered about it),
    rather than to the whole call (unreachable, overloaded, a defect)."""
    return isinstance(exc, InvalidArgument | NotFound | Conflict)


def _in_namespace(namespace: str) -> str:
    return f" in namespace {namespace!r}" if namespace else ""
