"""``RedisStore``: the store over a redis-py client (see the package docstring)."""

from __future__ import annotations

import asyncio
import bisect
import builtins
import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import redis.exceptions as rx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.commands.core import AsyncScript

from checkpoint_client import (
    Checkpoint,
    CheckpointError,
    Conflict,
    ExecutionInfo,
    InternalError,
    NotFound,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)

from ... import validation as v
from ...secrets import scrub
from .. import BackendURLError
from .._base import (
    AncestorWalk,
    Backend,
    PoolStats,
    Position,
    channel_conflict,
    check_cas,
    from_us,
    missing_channel,
    saved_or_conflict,
    to_us,
)
from .._batch import Coalescer
from .batch import PIPELINE_BYTES, chunks, pack
from .records import (
    LightRow,
    b64,
    blobs_of,
    channel_args,
    from_fields,
    light_rows,
    record,
    records,
    references,
    time_bound,
    unb64,
    write_args,
)
from .scripts import SCRIPTS
from .settings import RedisSettings
from .upgrade import upgrade_layout

__all__ = ["RedisStore"]

T = TypeVar("T")
RedisClient = Redis | RedisCluster

#: A cluster adds an execution to the index before its save's script runs; an entry this
#: recent (µs) is never taken out lazily, as its save may still be on its way.
INDEX_GRACE_US = 10 * 60 * 1_000_000
#: Staged keys of a copy expire after this (ms) should the copy never finish.
STAGE_TTL_MS = 3_600_000
#: Executions read from the index per round trip (listings, search, delete_where).
INDEX_BATCH = 32
#: Rows of an execution's time index read per round trip when deleting by metadata.
DELETE_BATCH = 500


# -- the store ---------------------------------------------------------------------------------


class _PoolTimeout(rx.ConnectionError):
    """No pooled connection became free within ``pool_timeout``."""


class _Pool(BlockingConnectionPool):
    """A BlockingConnectionPool whose wait timeout is told apart from a broken server."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            # redis-py leaves this method unannotated.
            return await super().get_connection()  # type: ignore[no-untyped-call]
        except rx.ConnectionError as exc:
            # redis-py raises a plain ConnectionError for both; only the wait timeout is
            # chained from asyncio's TimeoutError.
            if isinstance(exc.__cause__, asyncio.TimeoutError):
                raise _PoolTimeout(str(exc)) from exc
            raise


class RedisStore(Backend):
    """Checkpoints in Redis or Redis Cluster; see the module docstring for the layout.

    Args:
        client: a ready ``redis.asyncio.Redis`` or ``RedisCluster`` (``decode_responses``
            must be off). The store does not close a client it was given; ``open`` builds
            and owns one.
        settings: key prefix and connection settings; only ``key_prefix``,
            ``max_connections`` and ``pool_timeout`` (cluster call gate) apply to a ready
            client.
        **kwargs: ``limits``, ``retention``, ``clock`` for ``Backend``.

    A store built on a ready client over data an older version wrote needs ``await
    store.setup()`` once before use (``open`` runs it).
    """

    name = "redis"

    #: How many checkpoints a filtered listing reads per round trip (metadata only).
    scan_batch = 100

    def __init__(
        self, client: RedisClient, *, settings: RedisSettings | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings or RedisSettings()
        self._client: RedisClient = client
        self._owns_client = False
        self._closed = False
        # Set by ``open`` on plain Redis, whose connections then have no timeout of their
        # own: each call (every round trip it makes) gets this many seconds.
        self._call_timeout: float | None = None
        self._secret: str | None = None
        # RedisCluster fails at once when a node's pool is full instead of waiting; a gate
        # of max_connections calls gives cluster callers the same bounded wait as the
        # BlockingConnectionPool does on plain Redis (and keeps every node within it).
        self._gate = (
            asyncio.Semaphore(self.settings.max_connections)
            if isinstance(client, RedisCluster)
            else None
        )
        self._coalescer: Coalescer[tuple[Checkpoint, int | None], Checkpoint] | None = None
        if self.settings.coalesce_saves and not isinstance(client, RedisCluster):
            self._coalescer = Coalescer(
                self._save_many,
                max_batch=self.settings.max_batch,
                weigh=lambda item: len(item[0].state_bytes),
                max_batch_bytes=PIPELINE_BYTES,
            )
        self._cluster = isinstance(client, RedisCluster)
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(text) for name, text in SCRIPTS.items()
        }

    @classmethod
    async def open(
        cls, url: str, *, settings: RedisSettings | None = None, **kwargs: Any
    ) -> RedisStore:
        """Connect to the server(s) a URL names and check they answer.

        ``redis://[user:pw@]host:port/db`` and ``rediss://`` (TLS) use a blocking
        connection pool; ``redis+cluster://[user:pw@]h1:p1,h2:p2`` and
        ``rediss+cluster://`` use RedisCluster with those startup nodes.

        Stored data is brought to the current layout (``setup``) before the store is
        returned.

        Raises:
            BackendURLError: the URL is malformed.
            Unavailable: the server cannot be reached.
        """
        settings = settings or RedisSettings()
        scheme = url.split("://", 1)[0].lower()
        client: RedisClient
        secret: str | None
        if scheme in ("redis+cluster", "rediss+cluster"):
            client, secret = _cluster_client(url, settings, tls=scheme == "rediss+cluster")
        elif scheme in ("redis", "rediss"):
            try:
                pool = _Pool.from_url(
                    url,
                    max_connections=settings.max_connections,
                    timeout=settings.pool_timeout,
                    # The store bounds each call itself (``_run``): one timer per call
                    # instead of redis-py's task per write and timer per reply.
                    socket_timeout=None,
                    socket_connect_timeout=settings.socket_connect_timeout,
                    socket_keepalive=settings.socket_keepalive,
                    health_check_interval=settings.health_check_interval,
                )
            except ValueError as exc:
                raise BackendURLError(f"malformed Redis URL: {exc}") from None
            secret = pool.connection_kwargs.get("password")
            client = Redis.from_pool(pool)
        else:
            raise BackendURLError(f"not a Redis URL scheme: {scheme}://")
        store = cls(client, settings=settings, **kwargs)
        store._owns_client = True
        store._secret = secret
        if not isinstance(client, RedisCluster):
            store._call_timeout = settings.socket_timeout
        try:
            await store._run(lambda: _ping(client))
            await store.setup()
        except BaseException:
            await store.close()
            raise
        return store

    @property
    def client(self) -> RedisClient:
        """The underlying redis-py client (for inspection and tests)."""
        return self._client

    def execution_key(self, execution_id: str) -> str:
        """The common start of every key of an execution: prefix plus hash tag."""
        return f"{self.settings.key_prefix}{{{b64(execution_id)}}}:"

    @property
    def index_key(self) -> str:
        """The executions index: execution ids by when a checkpoint was last saved."""
        return self.settings.key_prefix + "executions"

    def partition_key(self, segment: str) -> str:
        """The executions index of the ids that start with ``segment`` (their first
        ``/``-terminated part, such as a tenant's ``<tenant>/``). Its hash tag is the
        global index's name, so every index key is in one cluster slot; ``~`` (not in
        base64) keeps it apart from any execution's keys."""
        prefix = self.settings.key_prefix
        return f"{prefix}{{{prefix}executions}}~{b64(segment)}"

    def _index_keys(self, execution_id: str) -> list[str]:
        """The index keys an execution has an entry in: the global one, and its
        partition's when its id has a ``/``."""
        segment = _segment(execution_id)
        keys = [self.index_key]
        if segment:
            keys.append(self.partition_key(segment))
        return keys

    def _index_for(self, prefix: str) -> str:
        """The index to walk for ids starting with ``prefix``: a partition when the
        prefix is exactly one segment (a tenant), else the global index."""
        return (
            self.partition_key(prefix) if prefix and _segment(prefix) == prefix else self.index_key
        )

    async def setup(self) -> None:
        """Bring the stored data to the current key layout (see ``upgrade``). ``open``
        runs it; a store built on a ready client runs it once before use. Safe to run
        twice and from several replicas at once."""
        await upgrade_layout(self)

    async def close(self) -> None:
        """Close the client if the store opened it; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if self._coalescer is not None:
            await self._coalescer.close()
        if self._owns_client:
            await self._client.aclose()

    # -- plumbing ------------------------------------------------------------------------

    def _base(self, execution_id: str, namespace: str) -> str:
        return f"{self.execution_key(execution_id)}{b64(namespace)}:"

    def _indexed(self, keys: list[str], execution_id: str) -> list[str]:
        """A script's keys, with the execution's index keys on plain Redis (the scripts
        keep the index in the same atomic step; on a cluster it is in another slot)."""
        return keys if self._cluster else [*keys, *self._index_keys(execution_id)]

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._gate is None:
            yield
            return
        try:
            async with asyncio.timeout(self.settings.pool_timeout):
                await self._gate.acquire()
        except TimeoutError:
            raise ResourceExhausted(self._exhausted_message()) from None
        try:
            yield
        finally:
            self._gate.release()

    def _exhausted_message(self) -> str:
        return (
            f"no free Redis connection within pool_timeout={self.settings.pool_timeout}s "
            f"(max_connections={self.settings.max_connections}); the gateway is "
            "overloaded, retry later"
        )

    async def _run(self, call: Callable[[], Awaitable[T]], *, bounded: bool = True) -> T:
        """Run one Redis round trip, translating redis-py's errors to the store's.
        ``bounded=False`` lifts the call timeout (for ``setup``'s many round trips)."""
        try:
            async with self._slot(), asyncio.timeout(self._call_timeout if bounded else None):
                return await call()
        except CheckpointError:
            raise
        except TimeoutError as exc:
            # Ours (a cancellation from outside, such as the caller's deadline, passes
            # through as CancelledError); the connection was dropped mid-call.
            raise Unavailable(
                f"Redis did not answer within socket_timeout={self.settings.socket_timeout}s"
            ) from exc
        except (_PoolTimeout, rx.MaxConnectionsError) as exc:
            raise ResourceExhausted(self._exhausted_message()) from exc
        except rx.OutOfMemoryError as exc:
            raise ResourceExhausted("Redis is out of memory (maxmemory reached)") from exc
        except rx.AuthenticationError as exc:
            raise Unavailable(f"Redis refused the credentials: {self._safe(exc)}") from exc
        except (
            rx.ConnectionError,  # includes BusyLoadingError
            rx.TimeoutError,
            rx.ClusterError,  # includes ClusterDownError, "TTL exhausted" redirections
            rx.TryAgainError,
            rx.AskError,  # includes MovedError
            rx.ReadOnlyError,  # a replica promoted mid-failover
            rx.MasterDownError,
            rx.RedisClusterException,  # includes SlotNotCoveredError, cannot connect
            OSError,
        ) as exc:
            raise Unavailable(
                f"Redis is unavailable: {type(exc).__name__}: {self._safe(exc)}"
            ) from exc
        except rx.RedisError as exc:
            raise InternalError(f"Redis error: {self._safe(exc)}") from exc

    def _safe(self, exc: BaseException) -> str:
        """The exception's text, with the password masked should it ever appear."""
        text = str(exc)
        return scrub(text, (self._secret,)) if self._secret else text

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        script = self._scripts[name]
        return await self._run(lambda: script(keys=keys, args=args))

    def _cutoff(self) -> str:
        cutoff = self.expired_before()
        return "" if cutoff is None else str(to_us(cutoff))

    def _ttl_ms(self) -> str:
        ttl = self.retention.ttl_seconds
        return "" if ttl is None else str(max(1, math.ceil(ttl * 1000)))

    def _live(self, created_at_us: int) -> bool:
        cutoff = self.expired_before()
        return cutoff is None or created_at_us >= to_us(cutoff)

    async def _many(
        self, name: str, calls: builtins.list[tuple[list[str], list[Any]]]
    ) -> list[Any]:
        """Run a script once per call, answers in order: on plain Redis in one round trip
        (one pipeline), on a cluster concurrently (each call to its node)."""
        if not calls:
            return []
        if self._cluster:
            return list(await asyncio.gather(*(self._script(name, k, a) for k, a in calls)))
        return await self._run(partial(self._evalsha, name, calls))

    async def _evalsha(
        self, name: str, calls: builtins.list[tuple[list[str], list[Any]]]
    ) -> builtins.list[Any]:
        """EVALSHA each call in one pipeline; raise the first error reply."""
        script = self._scripts[name]
        replies = await self._send([_evalsha_parts(script.sha, k, a) for k, a in calls])
        if any(isinstance(r, rx.NoScriptError) for r in replies):
            # Redis lost its script cache (restart, SCRIPT FLUSH): the calls refused with
            # NOSCRIPT did not run, so load the script and send just those again.
            await self._client.script_load(script.script)
            again = [i for i, r in enumerate(replies) if isinstance(r, rx.NoScriptError)]
            resent = await self._send([_evalsha_parts(script.sha, *calls[i]) for i in again])
            for i, reply in zip(again, resent, strict=True):
                replies[i] = reply
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply  # an error of Redis itself, not of one call
        return replies

    # -- saves ---------------------------------------------------------------------------

    def _save_call(
        self, checkpoint: Checkpoint, expected_version: int | None
    ) -> tuple[list[str], list[Any], int]:
        """The save script's keys and arguments, and the created_at (µs) they carry."""
        eid, namespace, cid = (
            checkpoint.execution_id,
            checkpoint.namespace,
            checkpoint.checkpoint_id,
        )
        root = self.execution_key(eid)
        base = self._base(eid, namespace)
        created_at = to_us(self.now())
        keep = self.retention.max_checkpoints
        keys = self._indexed([base + "versions", root + "namespaces", base + "cp:" + cid], eid)
        args: list[Any] = [
            root,
            base,
            namespace,
            b64(namespace),
            cid,
            "" if expected_version is None else str(expected_version),
            str(created_at),
            self._cutoff(),
            "" if keep is None else str(keep),
            self._ttl_ms(),
            eid,
            checkpoint.state_bytes,
            checkpoint.content_type,
            checkpoint.metadata_json(),
            checkpoint.parent_id,
            checkpoint.node,
            json.dumps(checkpoint.next_nodes, ensure_ascii=False),
            *channel_args(checkpoint),
        ]
        return keys, args, created_at

    @staticmethod
    def _saved(
        checkpoint: Checkpoint, expected_version: int | None, reply: Any, created_at: int
    ) -> Checkpoint:
        """The answer to one save from the script's reply (or its error)."""
        if isinstance(reply, int):  # saved: the new version
            return checkpoint.replace(version=reply, created_at=from_us(created_at))
        kind = int(reply[0])
        if kind == 0:
            stored = from_fields(
                checkpoint.execution_id, checkpoint.namespace, checkpoint.checkpoint_id, reply[1]
            ).replace(channels=references(reply[2] or b""))
            return saved_or_conflict(checkpoint, stored)
        if kind == 1:
            check_cas(checkpoint, expected_version, int(reply[1]))
            raise InternalError("compare-and-set failed without a conflict")  # unreachable
        if kind == 2:
            raise missing_channel(checkpoint, reply[1].decode())
        if kind == 3:
            raise channel_conflict(checkpoint, reply[1].decode())
        raise InternalError(f"unexpected reply from the save script: {reply!r}"[:200])

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        if self._coalescer is not None:
            return await self._coalescer.submit((checkpoint, expected_version))
        return await self._save_one(checkpoint, expected_version)

    async def _save_one(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        keys, args, created_at = self._save_call(checkpoint, expected_version)
        if not self._cluster:
            reply = await self._script("save", keys, args)
        else:
            # The index is in another slot: its entry goes at the same time as the save,
            # so a stored checkpoint never stands without it (unless this call fails, and
            # then its retry adds it). The price: a save that is then refused (a conflict,
            # a lost compare-and-set, a retry of a stored one) still moves updated_at to
            # its attempt; an execution with nothing live is skipped by listings.
            reply, _ = await asyncio.gather(
                self._script("save", keys, args),
                self._index_add(checkpoint.execution_id, created_at),
            )
        return self._saved(checkpoint, expected_version, reply, created_at)

    async def _index_add(self, execution_id: str, updated_us: int) -> None:
        await self._script("index_add", self._index_keys(execution_id), [updated_us, execution_id])

    async def _save_many(
        self, items: builtins.list[tuple[Checkpoint, int | None]]
    ) -> builtins.list[Checkpoint | CheckpointError]:
        """One pipeline per ``max_batch`` items on plain Redis: every save is its own
        script (atomic, answered on its own), sent together and answered in order."""
        if self._cluster:
            # A cluster pipeline splits by node and may reorder across them; saves of one
            # lineage must stay in order, so a cluster saves one by one (the base's loop;
            # a cluster has no coalescer, so its _save is one script call).
            return await super()._save_many(items)
        results: builtins.list[Checkpoint | CheckpointError] = []
        for chunk in chunks(items, self.settings.max_batch, PIPELINE_BYTES):
            results += await self._run(partial(self._pipeline, chunk))
        return results

    async def _pipeline(
        self, items: builtins.list[tuple[Checkpoint, int | None]]
    ) -> builtins.list[Checkpoint | CheckpointError]:
        calls = [self._save_call(cp, expected) for cp, expected in items]
        replies = await self._evalsha("save", [(keys, args) for keys, args, _ in calls])
        out: builtins.list[Checkpoint | CheckpointError] = []
        for (checkpoint, expected), (_, _, created_at), reply in zip(
            items, calls, replies, strict=True
        ):
            try:
                out.append(self._saved(checkpoint, expected, reply, created_at))
            except (Conflict, NotFound) as exc:
                out.append(exc)
        return out

    async def _send(self, commands: builtins.list[list[Any]]) -> builtins.list[Any]:
        """Send commands on one pooled connection: one write, then the replies in order;
        a reply that is an error (NOSCRIPT...) is returned in its place.

        Packed here rather than through redis-py's pipeline, whose generic encoder was
        the largest cost of a save (see the README's Performance section); the wire
        bytes are the same RESP.
        """
        buffers: list[bytes] = []
        for parts in commands:
            buffers += pack(parts)
        client = self._client
        assert not isinstance(client, RedisCluster)  # a cluster sends one by one
        pool = client.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await conn.send_packed_command(buffers)
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await conn.read_response())
                except rx.ResponseError as exc:  # read whole: the stream stays in step
                    replies.append(exc)
        except BaseException:
            # Cut off mid-conversation (a timeout, a cancellation): the replies still
            # due would answer the connection's next user, so it is dropped.
            await conn.disconnect(nowait=True)
            raise
        finally:
            await pool.release(conn)
        return replies

    # -- single checkpoints ----------------------------------------------------------------

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        base = self._base(execution_id, namespace)
        reply = await self._script(
            "load", [base + "cp:" + checkpoint_id], [base, b64(namespace), checkpoint_id]
        )
        return self._one(execution_id, reply)

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        base = self._base(execution_id, namespace)
        reply = await self._script("latest", [base + "versions"], [base, b64(namespace)])
        # Versions are in time order: an expired latest means the whole lineage expired.
        return self._one(execution_id, reply)

    def _one(self, execution_id: str, reply: Any) -> Checkpoint | None:
        if not reply:
            return None
        cp = record(execution_id, reply[0], blobs_of(reply[1]))
        return cp if self.is_live(cp) else None

    async def _locate(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> tuple[int, int] | None:
        key = self._base(execution_id, namespace) + "cp:" + checkpoint_id
        version, created_at = await self._run(
            lambda: self._client.hmget(key, ["version", "created_at"])
        )
        if version is None or created_at is None or not self._live(int(created_at)):
            return None
        return int(version), int(created_at)

    # -- listings of one execution -----------------------------------------------------------

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
        base = self._base(execution_id, namespace)
        tag = b64(namespace)
        keys = [base + "versions"]
        upper = "+inf" if below_version is None else f"({below_version}"
        writes = "1" if with_writes else "0"
        if not metadata_filter:
            # One round trip: the script walks the versions, weighs each checkpoint before
            # reading it, and stops at the limit or the byte budget.
            cut, recs, flat = await self._script(
                "list", keys, [base, tag, upper, limit, self._cutoff(), max_bytes, writes, "0"]
            )
            return records(execution_id, recs, flat), bool(cut)
        # Filtered: read metadata in bounded batches, match here (JSON equality as the
        # other backends have it), then fetch the matches within the budget.
        cutoff = self.expired_before()
        cutoff_us = None if cutoff is None else to_us(cutoff)
        page = _Page(execution_id, limit, max_bytes, with_writes)
        batch = max(self.scan_batch, 1)
        while True:
            rows = await self._script("list", keys, [base, tag, upper, batch, "", 0, "0", "1"])
            wanted: list[tuple[str, str]] = []
            expired = False
            for i in range(0, len(rows), 4):
                cid, metadata, created = rows[i].decode(), rows[i + 2], rows[i + 3]
                upper = f"({int(float(rows[i + 1]))}"
                if created is None:
                    continue  # removed by Redis's own expiry: expired
                if cutoff_us is not None and int(created) < cutoff_us:
                    expired = True  # saved in time order: everything older expired too
                    break
                if v.matches(json.loads(metadata), metadata_filter):
                    wanted.append((tag, cid))
            if wanted and await self._fetch_into(page, wanted):
                return page.items, page.cut
            if expired or len(rows) < 4 * batch:
                return page.items, False

    async def _fetch_into(self, page: _Page, wanted: builtins.list[tuple[str, str]]) -> bool:
        """Fetch checkpoints of ``page``'s execution into it, in order, within its limit
        and byte budget; True once the page is complete (full or cut)."""
        root = self.execution_key(page.execution_id)
        args: list[Any] = [
            root,
            page.used,
            len(page.items),
            page.max_bytes,
            page.limit,
            "1" if page.with_writes else "0",
            self._cutoff(),
        ]
        for tag, cid in wanted:
            args += [tag, cid]
        cut, recs, flat, used = await self._script("fetch", [root + "namespaces"], args)
        page.items += records(page.execution_id, recs, flat)
        page.used = int(used)
        page.cut = bool(cut)
        return page.cut or len(page.items) >= page.limit

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
        root = self.execution_key(execution_id)
        keys = [root + "times"]
        high, bound = time_bound(execution_id, after)
        low = self._cutoff() or "-inf"
        writes = "1" if with_writes else "0"
        if not metadata_filter:
            cut, recs, flat = await self._script(
                "list_execution", keys, [root, high, bound, limit, low, max_bytes, writes, "full"]
            )
            return records(execution_id, recs, flat), bool(cut)
        page = _Page(execution_id, limit, max_bytes, with_writes)
        batch = max(self.scan_batch, 1)
        while True:
            rows = light_rows(
                execution_id,
                await self._script(
                    "list_execution", keys, [root, high, bound, batch, low, 0, "0", "meta"]
                ),
            )
            wanted = [(r.b64ns, r.checkpoint_id) for r in rows if _matches(r, metadata_filter)]
            if wanted and await self._fetch_into(page, wanted):
                return page.items, page.cut
            if len(rows) < batch:
                return page.items, False
            high, bound = str(rows[-1].position[0]), rows[-1].member

    async def _namespaces(
        self, execution_id: str, after: str | None, limit: int
    ) -> builtins.list[str]:
        root = self.execution_key(execution_id)
        found = await self._script("namespaces", [root + "namespaces"], [root, self._cutoff()])
        names = sorted(unb64(s) for s in found)
        if after is not None:
            names = names[bisect.bisect_right(names, after) :]
        return names[:limit]

    # -- across executions -------------------------------------------------------------------

    async def _index_batches(
        self, prefix: str, after: tuple[int, str] | None = None, size: int = INDEX_BATCH
    ) -> AsyncIterator[builtins.list[tuple[int, str]]]:
        """The executions index, ``(updated_at µs, execution_id)`` descending, strictly
        below ``after``, in batches (of ids starting with ``prefix``). Keyset-paged, so
        entries that come or go meanwhile never make it skip or repeat one."""
        key = self._index_for(prefix)
        ties = 0  # entries already seen at the score of `after`
        while True:
            top = "+inf" if after is None else str(after[0])
            rows = await self._run(
                partial(
                    self._client.zrevrangebyscore,
                    key,
                    top,
                    "-inf",
                    start=0,
                    num=size + ties,
                    withscores=True,
                )
            )
            entries = [(int(score), bytes(member).decode()) for member, score in _pairs(rows)]
            # Entries not below `after` share its score: they come first, and are skipped.
            fresh = [e for e in entries if after is None or e < after]
            batch = [e for e in fresh if e[1].startswith(prefix)]
            if batch:
                yield batch
            if len(rows) < size + ties:
                return
            if fresh:
                after = fresh[-1]
            # Every entry at the score of `after` is one already seen (or skipped): read
            # past them next time, however many there are.
            ties = sum(1 for score, _ in entries if after is not None and score == after[0])

    async def _live_executions(
        self, execution_ids: builtins.list[str], *, unindex: bool = False
    ) -> builtins.list[bool]:
        """Which executions hold a live checkpoint. With ``unindex`` on plain Redis, the
        others leave the executions index in the same step."""
        calls = []
        for eid in execution_ids:
            root = self.execution_key(eid)
            keys = [root + "namespaces"]
            if unindex:
                keys = self._indexed(keys, eid)
            calls.append((keys, [root, self._cutoff(), eid]))
        return [bool(r) for r in await self._many("live", calls)]

    async def _unindex(self, entries: builtins.list[tuple[str, int | None]]) -> None:
        """On a cluster, take executions out of the index unless their entry changed since
        it was seen (``None``: whatever it is) or is too recent (see ``INDEX_GRACE_US``)."""
        recent = str(to_us(self.now()) - INDEX_GRACE_US)
        await asyncio.gather(
            *(
                self._script(
                    "unindex", self._index_keys(eid), [eid, "" if seen is None else seen, recent]
                )
                for eid, seen in entries
            )
        )

    async def _executions(
        self, prefix: str, after: tuple[int, str] | None, limit: int
    ) -> builtins.list[ExecutionInfo]:
        out: list[ExecutionInfo] = []
        async for batch in self._index_batches(prefix, after, max(min(limit, 500), INDEX_BATCH)):
            live = await self._live_executions([eid for _, eid in batch], unindex=True)
            dead = [
                (eid, score) for (score, eid), alive in zip(batch, live, strict=True) if not alive
            ]
            if dead and self._cluster:
                await self._unindex([(eid, score) for eid, score in dead])
            for (score, eid), alive in zip(batch, live, strict=True):
                if alive:
                    out.append(ExecutionInfo(eid, from_us(score)))
                    if len(out) == limit:
                        return out
        return out

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
        """A merge of the executions' time indexes, walking the executions index newest
        first: every checkpoint of an execution is at most as new as its entry there, so
        the walk stops once the page is full of checkpoints newer than the next entry.
        Light rows (position, weight, metadata when filtering) decide the page; then
        only its checkpoints are read."""
        best = _Best(limit)
        low = self._cutoff() or "-inf"
        writes = "1" if with_writes else "0"
        mode = "meta" if metadata_filter else "light"
        first = max(self.scan_batch, 1) if metadata_filter else min(limit, 32)
        async for batch in self._index_batches(prefix):
            streams = []
            done = False
            for score, eid in batch:
                if best.beats(score, eid):
                    done = True  # and every execution after it
                    break
                high, bound = time_bound(eid, after)
                streams.append(_Stream(eid, high, bound, first))
            while streams:
                calls = []
                for st in streams:
                    root = self.execution_key(st.execution_id)
                    walk = [root, st.high, st.bound, st.count, low, 0, writes, mode]
                    calls.append(([root + "times"], walk))
                following = []
                for st, flat in zip(
                    streams, await self._many("list_execution", calls), strict=True
                ):
                    rows = light_rows(st.execution_id, flat)
                    for row in rows:
                        if best.full() and row.position < best.floor():
                            break
                        if _matches(row, metadata_filter):
                            best.add(row)
                            st.matched += 1
                    else:
                        if len(rows) == st.count and st.matched < limit:
                            st.high, st.bound = str(rows[-1].position[0]), rows[-1].member
                            st.count = min(st.count * 2, 1000)
                            following.append(st)
                streams = following
            if done:
                break
        # The page: in order, within the byte budget (the rows carry each weight).
        page: list[LightRow] = []
        used, cut = 0, False
        for row in best.rows:
            if page and used + row.weight > max_bytes:
                cut = True
                break
            page.append(row)
            used += row.weight
        groups: dict[str, list[LightRow]] = {}
        for row in page:
            groups.setdefault(row.position[1], []).append(row)
        calls = []
        for eid, rows in groups.items():
            root = self.execution_key(eid)
            args: list[Any] = [root, 0, 0, 2**62, len(rows), writes, self._cutoff()]
            for row in rows:
                args += [row.b64ns, row.checkpoint_id]
            calls.append(([root + "namespaces"], args))
        found: dict[tuple[str, str, str], Checkpoint] = {}
        for eid, reply in zip(groups, await self._many("fetch", calls), strict=True):
            for cp in records(eid, reply[1], reply[2]):
                found[(eid, cp.namespace, cp.checkpoint_id)] = cp
        items = [
            found[key]
            for row in page
            if (key := (row.position[1], row.position[2], row.checkpoint_id)) in found
        ]
        # Checkpoints removed since the rows were read leave the page short: say there
        # may be more, so the next page continues after the last one served.
        return items, cut or len(items) < len(page)

    async def _delete_where(
        self, prefix: str, execution_id: str | None, metadata_filter: Mapping[str, v.Scalar]
    ) -> int:
        if execution_id is not None:
            return await self._delete_matching(execution_id, metadata_filter)
        deleted = 0
        async for batch in self._index_batches(prefix):
            counts = await asyncio.gather(
                *(self._delete_matching(eid, metadata_filter) for _, eid in batch)
            )
            deleted += sum(counts)
        return deleted

    async def _delete_matching(
        self, execution_id: str, metadata_filter: Mapping[str, v.Scalar]
    ) -> int:
        """Walk one execution's time index, deleting the matches batch by batch (each
        batch one script, which leaves a checkpoint saved again meanwhile alone)."""
        root = self.execution_key(execution_id)
        keys = self._indexed([root + "namespaces"], execution_id)
        low = self._cutoff() or "-inf"
        high, bound = "+inf", b""
        deleted = 0
        while True:
            rows = light_rows(
                execution_id,
                await self._script(
                    "list_execution",
                    [root + "times"],
                    [root, high, bound, DELETE_BATCH, low, 0, "0", "meta"],
                ),
            )
            args: list[Any] = [root, self._cutoff(), execution_id]
            for row in rows:
                if _matches(row, metadata_filter):
                    args += [row.b64ns, row.checkpoint_id, row.position[3]]
            if len(args) > 3:
                deleted += int(await self._script("delete_many", keys, args))
            if len(rows) < DELETE_BATCH:
                return deleted
            high, bound = str(rows[-1].position[0]), rows[-1].member

    # -- copy -----------------------------------------------------------------------------

    async def _copy_execution(self, source: str, target: str) -> int:
        """Stage the source under keys of the target's slot no reader looks at, a chunk
        at a time, then publish it in one script that checks the target is still empty:
        the target appears whole or not at all (see the package docstring)."""
        source_live, target_live = await self._live_executions([source, target])
        if not source_live:
            raise NotFound(f"execution {source!r} has no checkpoints to copy")
        if target_live:
            raise Conflict(f"execution {target!r} already has checkpoints; copy to a new id")
        stage = f"{self.execution_key(target)}~copy:{uuid.uuid4().hex}:"
        try:
            count = await self._stage_and_publish(source, target, stage)
        except BaseException:
            # Staged keys expire by themselves too (STAGE_TTL_MS), should this fail.
            with suppress(Exception):
                await self._script("abort", [stage + "namespaces"], [stage])
            raise
        if count < 0:
            raise Conflict(f"execution {target!r} got checkpoints during the copy")
        return count

    async def _stage_and_publish(self, source: str, target: str, stage: str) -> int:
        src, dst = self.execution_key(source), self.execution_key(target)
        spaces = sorted(
            s.decode() if isinstance(s, bytes) else s
            for s in await self._run(lambda: self._client.smembers(src + "namespaces"))
        )
        copied = 0
        for s in spaces:
            copied += await self._stage_lineage(src + s + ":", stage, s)
        if not copied:
            raise NotFound(f"execution {source!r} has no checkpoints to copy")
        now = to_us(self.now())
        if self._cluster:
            # Before the publish, as a save does: never a copy without its entry.
            await self._index_add(target, now)
        count = await self._script(
            "publish",
            self._indexed([dst + "namespaces"], target),
            [dst, stage, target, now, self._ttl_ms(), self._cutoff()],
        )
        return int(count)

    async def _stage_lineage(self, base: str, stage: str, s: str) -> int:
        """Copy one lineage of the source (``base``) into the stage; return how many
        checkpoints."""
        namespace = unb64(s)
        keys = [stage + "namespaces"]
        head: list[Any] = [stage, s, namespace, STAGE_TTL_MS]
        copied, after = 0, 0
        while True:
            last, recs, flat = await self._script(
                "copy_read",
                [base + "versions"],
                [base, after, 200, PIPELINE_BYTES, self._cutoff()],
            )
            if recs:
                args: list[Any] = [*head, len(recs), 0]
                for cid, version, fields, refs, wflat in recs:
                    args += [cid, version, *(f or b"" for f in fields), refs, len(wflat) // 2]
                    args += wflat
                for i in range(0, len(flat), 4):
                    args += [flat[i + 1], flat[i + 2], flat[i + 3] or b""]
                await self._script("stage", keys, args)
                copied += len(recs)
            if not last:
                break
            after = int(last)
        offset = 0
        while True:
            following, rows = await self._script(
                "copy_read_orphans", [base + "orphans"], [base, offset, 200]
            )
            if rows:
                args = [*head, 0, len(rows) // 3]
                for i in range(0, len(rows), 3):
                    args += [rows[i], rows[i + 1], len(rows[i + 2]) // 2, *rows[i + 2]]
                await self._script("stage", keys, args)
            if not following:
                return copied
            offset = int(following)

    # -- removal --------------------------------------------------------------------------

    async def _prune(self, execution_id: str) -> int:
        root = self.execution_key(execution_id)
        keys = self._indexed([root + "namespaces"], execution_id)
        return int(await self._script("prune", keys, [root, self._cutoff(), execution_id]))

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        root = self.execution_key(execution_id)
        base = self._base(execution_id, namespace)
        keys = self._indexed([base + "versions", root + "namespaces"], execution_id)
        args = [root, base, namespace, b64(namespace), checkpoint_id, self._cutoff(), execution_id]
        return bool(await self._script("delete", keys, args))

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        root = self.execution_key(execution_id)
        every = namespace is None
        count = await self._script(
            "clear",
            self._indexed([root + "namespaces"], execution_id),
            [root, "1" if every else "0", b64(namespace or ""), self._cutoff(), execution_id],
        )
        if every and self._cluster:
            await self._unindex([(execution_id, None)])
        return int(count)

    # -- writes and ancestors -------------------------------------------------------------

    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> None:
        root = self.execution_key(execution_id)
        base = self._base(execution_id, namespace)
        now = to_us(self.now())
        args: list[Any] = [
            root,
            base,
            namespace,
            b64(namespace),
            checkpoint_id,
            self._cutoff(),
            self._ttl_ms(),
            now,
            *write_args(writes, now),
        ]
        keys = [base + "w:" + checkpoint_id, base + "cp:" + checkpoint_id, root + "namespaces"]
        await self._script("put_writes", keys, args)

    async def _ancestors(
        self, execution_id: str, namespace: str, start: str, include_start: bool, walk: AncestorWalk
    ) -> str | None:
        """One script per page walks the chain with the walk's rules and returns only
        what the page keeps; ``walk`` then takes it (and has the last word)."""
        base = self._base(execution_id, namespace)
        names = walk.channels
        reply = await self._script(
            "ancestors",
            [base + "versions"],
            [
                base,
                b64(namespace),
                start,
                "1" if include_start else "0",
                self._cutoff(),
                walk.limit,
                walk.max_bytes,
                "1" if walk.include_state else "0",
                -1 if names is None else len(names),
                *(names or ()),
            ],
        )
        if not reply:
            return None
        following, recs, flat = reply
        for cp in records(execution_id, recs, flat):
            if not walk.take(cp):
                return cp.checkpoint_id
            after = walk.next_after(cp)
            if after is not None:
                return after
        return bytes(following).decode()

    def pool_stats(self) -> PoolStats:
        """The connections now (for metrics; safe to call from another thread).

        Plain Redis: the blocking pool's connections, and the calls waiting for one. A
        cluster: connections summed over its nodes; waiting are the calls awaiting a slot
        of the store's gate, and the maximum is the gate's size, which bounds the calls
        (so the connections) in flight (see ``__init__``). redis-py publishes no pool
        statistics, so this reads the pool's (and asyncio's) bookkeeping, defensively: a
        missing attribute reads as zero.
        """
        if self._gate is not None and isinstance(self._client, RedisCluster):
            nodes = self._client.get_nodes()
            size = sum(len(getattr(n, "_connections", ())) for n in nodes)
            idle = sum(len(getattr(n, "_free", ())) for n in nodes)
            return PoolStats(
                size=size,
                in_use=max(0, size - idle),
                idle=idle,
                waiting=len(getattr(self._gate, "_waiters", None) or ()),
                max_size=self.settings.max_connections,
            )
        pool = getattr(self._client, "connection_pool", None)  # a cluster given without gate
        idle = len(getattr(pool, "_available_connections", ()))
        in_use = len(getattr(pool, "_in_use_connections", ()))
        # BlockingConnectionPool waits on a Condition: for it, or for its lock.
        condition = getattr(pool, "_condition", None)
        lock = getattr(condition, "_lock", None)
        waiting = len(getattr(condition, "_waiters", None) or ()) + len(
            getattr(lock, "_waiters", None) or ()
        )
        return PoolStats(
            size=idle + in_use,
            in_use=in_use,
            idle=idle,
            waiting=waiting,
            max_size=int(getattr(pool, "max_connections", 0) or 0),
        )


# -- helpers -----------------------------------------------------------------------------------


class _Page:
    """A page of one execution as it is fetched: its checkpoints so far and its budget."""

    __slots__ = ("cut", "execution_id", "items", "limit", "max_bytes", "used", "with_writes")

    def __init__(self, execution_id: str, limit: int, max_bytes: int, with_writes: bool) -> None:
        self.execution_id = execution_id
        self.limit = limit
        self.max_bytes = max_bytes
        self.with_writes = with_writes
        self.items: list[Checkpoint] = []
        self.used = 0
        self.cut = False


class _Stream:
    """Where a search is in one execution's time index."""

    __slots__ = ("bound", "count", "execution_id", "high", "matched")

    def __init__(self, execution_id: str, high: str, bound: bytes, count: int) -> None:
        self.execution_id = execution_id
        self.high = high
        self.bound = bound
        self.count = count  # rows to read next
        self.matched = 0


class _Best:
    """The ``limit`` highest positions a search has seen."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._rows: list[LightRow] = []  # ascending by position

    def full(self) -> bool:
        return len(self._rows) >= self.limit

    def floor(self) -> Position:
        return self._rows[0].position

    def add(self, row: LightRow) -> None:
        bisect.insort(self._rows, row, key=lambda r: r.position)
        if len(self._rows) > self.limit:
            del self._rows[0]

    def beats(self, updated_us: int, execution_id: str) -> bool:
        """Whether every checkpoint of an execution whose index entry is ``(updated_us,
        execution_id)`` sorts below the page (its checkpoints are no newer than that)."""
        if not self.full():
            return False
        floor = self.floor()
        return (updated_us, execution_id) < (floor[0], floor[1])

    @property
    def rows(self) -> list[LightRow]:
        return self._rows[::-1]


def _matches(row: LightRow, metadata_filter: Mapping[str, v.Scalar]) -> bool:
    return not metadata_filter or v.matches(json.loads(row.metadata or b"{}"), metadata_filter)


def _segment(execution_id: str) -> str:
    """An id's first ``/``-terminated part ("" without one): its index partition."""
    cut = execution_id.find("/")
    return execution_id[: cut + 1] if cut >= 0 else ""


def _pairs(rows: Any) -> list[tuple[bytes, float]]:
    """ZRANGE ... WITHSCORES as redis-py answers it: (member, score) pairs."""
    return [(bytes(member), float(score)) for member, score in rows]


def _evalsha_parts(sha: str, keys: Sequence[str], args: Sequence[Any]) -> list[Any]:
    return [b"EVALSHA", sha, str(len(keys)), *keys, *args]


async def _ping(client: RedisClient) -> None:
    await client.ping()


def _cluster_client(
    url: str, settings: RedisSettings, *, tls: bool
) -> tuple[RedisCluster, str | None]:
    """A RedisCluster for ``redis+cluster://[user:pw@]h1:p1,h2:p2[/0]``."""
    rest = url.split("://", 1)[1]
    netloc, _, tail = rest.partition("/")
    if "?" in rest or "#" in rest or tail not in ("", "0"):
        raise BackendURLError(
            "a Redis Cluster URL is redis+cluster://[user:password@]host:port,host:port "
            "(database 0 only, no query options)"
        )
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, pw = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(pw) if colon else None
    nodes = []
    for item in hosts.split(","):
        parts = urlsplit(f"//{item.strip()}")
        try:
            port = parts.port or 6379
        except ValueError:
            raise BackendURLError(f"bad port in Redis Cluster node {item!r}") from None
        if not parts.hostname:
            raise BackendURLError(f"Redis Cluster URL has an empty node in {hosts!r}")
        nodes.append(ClusterNode(parts.hostname, port))
    client = RedisCluster(
        startup_nodes=nodes,
        username=username,
        password=password,
        ssl=tls,
        max_connections=settings.max_connections,
        socket_timeout=settings.socket_timeout,
        socket_connect_timeout=settings.socket_connect_timeout,
        socket_keepalive=settings.socket_keepalive,
        health_check_interval=settings.health_check_interval,
    )
    return client, password
