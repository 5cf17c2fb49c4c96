"""``RedisStore``: the store over a redis-py client (see the package docstring)."""

from __future__ import annotations

import asyncio
import base64
import builtins
import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
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
    InternalError,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)

from ... import validation as v
from ...secrets import scrub
from .. import BackendURLError
from .._base import Backend, PoolStats, check_cas, saved_or_conflict
from .._batch import Coalescer
from .batch import PIPELINE_BYTES, chunks, pack
from .scripts import CLEAR, DELETE, FETCH, LATEST, LOAD, PUT_WRITES, SAVE, SCAN
from .settings import RedisSettings

__all__ = ["RedisStore"]

T = TypeVar("T")
RedisClient = Redis | RedisCluster

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_FIELDS = (
    "state",
    "content_type",
    "metadata",
    "parent_id",
    "node",
    "next_nodes",
    "created_at",
    "version",
)


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
        self._scripts: dict[str, AsyncScript] = {
            name: client.register_script(text)
            for name, text in (
                ("save", SAVE),
                ("load", LOAD),
                ("latest", LATEST),
                ("scan", SCAN),
                ("fetch", FETCH),
                ("delete", DELETE),
                ("clear", CLEAR),
                ("put_writes", PUT_WRITES),
            )
        }

    @classmethod
    async def open(
        cls, url: str, *, settings: RedisSettings | None = None, **kwargs: Any
    ) -> RedisStore:
        """Connect to the server(s) a URL names and check they answer.

        ``redis://[user:pw@]host:port/db`` and ``rediss://`` (TLS) use a blocking
        connection pool; ``redis+cluster://[user:pw@]h1:p1,h2:p2`` and
        ``rediss+cluster://`` use RedisCluster with those startup nodes.

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
        return f"{self.settings.key_prefix}{{{_b64(execution_id)}}}:"

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
        return f"{self.execution_key(execution_id)}{_b64(namespace)}:"

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

    async def _run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run one Redis round trip, translating redis-py's errors to the store's."""
        try:
            async with self._slot(), asyncio.timeout(self._call_timeout):
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
        return "" if cutoff is None else str(_to_us(cutoff))

    def _ttl_ms(self) -> str:
        ttl = self.retention.ttl_seconds
        return "" if ttl is None else str(max(1, math.ceil(ttl * 1000)))

    def _live(self, created_at_us: int) -> bool:
        cutoff = self.expired_before()
        return cutoff is None or created_at_us >= _to_us(cutoff)

    # -- the primitives ------------------------------------------------------------------

    def _save_call(
        self, checkpoint: Checkpoint, expected_version: int | None
    ) -> tuple[list[str], list[Any], int]:
        """The save script's keys and arguments, and the created_at (µs) they carry."""
        base = self._base(checkpoint.execution_id, checkpoint.namespace)
        cid = checkpoint.checkpoint_id
        created_at = _to_us(self.now())
        keep = self.retention.max_checkpoints
        keys = [
            base + "versions",
            self.execution_key(checkpoint.execution_id) + "namespaces",
            base + "cp:" + cid,
            base + "w:" + cid,
        ]
        args: list[Any] = [
            base,
            _b64(checkpoint.namespace),
            cid,
            "" if expected_version is None else str(expected_version),
            str(created_at),
            self._cutoff(),
            "" if keep is None else str(keep),
            self._ttl_ms(),
            checkpoint.state_bytes,
            checkpoint.content_type,
            checkpoint.metadata_json(),
            checkpoint.parent_id,
            checkpoint.node,
            json.dumps(checkpoint.next_nodes, ensure_ascii=False),
        ]
        return keys, args, created_at

    @staticmethod
    def _saved(
        checkpoint: Checkpoint, expected_version: int | None, reply: Any, created_at: int
    ) -> Checkpoint:
        """The answer to one save from the script's reply (or its Conflict)."""
        if isinstance(reply, int):  # saved: the new version
            return checkpoint.replace(version=reply, created_at=_from_us(created_at))
        kind = int(reply[0])
        if kind == 0:
            stored = _checkpoint(
                checkpoint.execution_id, checkpoint.namespace, checkpoint.checkpoint_id, reply[1:]
            )
            return saved_or_conflict(checkpoint, stored)
        if kind == 1:
            check_cas(checkpoint, expected_version, int(reply[1]))
            raise InternalError("compare-and-set failed without a conflict")  # unreachable
        raise InternalError(f"unexpected reply from the save script: {reply!r}"[:200])

    async def _save(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        if self._coalescer is not None:
            return await self._coalescer.submit((checkpoint, expected_version))
        return await self._save_one(checkpoint, expected_version)

    async def _save_one(self, checkpoint: Checkpoint, expected_version: int | None) -> Checkpoint:
        keys, args, created_at = self._save_call(checkpoint, expected_version)
        reply = await self._script("save", keys, args)
        return self._saved(checkpoint, expected_version, reply, created_at)

    async def _save_many(
        self, items: builtins.list[tuple[Checkpoint, int | None]]
    ) -> builtins.list[Checkpoint | CheckpointError]:
        """One pipeline per ``max_batch`` items on plain Redis: every save is its own
        script (atomic, answered on its own), sent together and answered in order."""
        if isinstance(self._client, RedisCluster):
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
        script = self._scripts["save"]
        replies = await self._send(script.sha, calls)
        if any(isinstance(r, rx.NoScriptError) for r in replies):
            # Redis lost its script cache (restart, SCRIPT FLUSH): the items refused
            # with NOSCRIPT did not run, so load the script and send just those again.
            await self._client.script_load(SAVE)
            again = [i for i, r in enumerate(replies) if isinstance(r, rx.NoScriptError)]
            for i, reply in zip(
                again, await self._send(script.sha, [calls[i] for i in again]), strict=True
            ):
                replies[i] = reply
        out: builtins.list[Checkpoint | CheckpointError] = []
        for (checkpoint, expected), (_, _, created_at), reply in zip(
            items, calls, replies, strict=True
        ):
            if isinstance(reply, BaseException):
                raise reply  # an error of Redis itself, not of this item: the whole call
            try:
                out.append(self._saved(checkpoint, expected, reply, created_at))
            except Conflict as exc:
                out.append(exc)
        return out

    async def _send(
        self, sha: str, calls: builtins.list[tuple[list[str], list[Any], int]]
    ) -> builtins.list[Any]:
        """EVALSHA every call on one pooled connection: one write, then the replies in
        order; a reply that is an error (NOSCRIPT...) is returned in its place.

        Packed here rather than through redis-py's pipeline, whose generic encoder was
        the largest cost of a save (see the README's Performance section); the wire
        bytes are the same RESP.
        """
        chunks: list[bytes] = []
        for keys, args, _ in calls:
            chunks += pack([b"EVALSHA", sha, str(len(keys)), *keys, *args])
        client = self._client
        assert not isinstance(client, RedisCluster)  # a cluster saves one by one
        pool = client.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await conn.send_packed_command(chunks)
            replies: list[Any] = []
            for _ in calls:
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

    async def _load(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> Checkpoint | None:
        base = self._base(execution_id, namespace)
        reply = await self._script(
            "load", [base + "cp:" + checkpoint_id, base + "w:" + checkpoint_id], []
        )
        if not reply:
            return None
        cp = _checkpoint(execution_id, namespace, checkpoint_id, reply[0])
        if not self.is_live(cp):
            return None
        return cp.replace(pending_writes=_writes(reply[1]))

    async def _latest(self, execution_id: str, namespace: str) -> Checkpoint | None:
        base = self._base(execution_id, namespace)
        reply = await self._script("latest", [base + "versions"], [base])
        if not reply:
            return None
        cp = _checkpoint(execution_id, namespace, reply[0].decode(), reply[1])
        # Versions are in time order: an expired latest means the whole lineage expired.
        if not self.is_live(cp):
            return None
        return cp.replace(pending_writes=_writes(reply[2]))

    async def _version_of(
        self, execution_id: str, namespace: str, checkpoint_id: str
    ) -> int | None:
        key = self._base(execution_id, namespace) + "cp:" + checkpoint_id
        version, created_at = await self._run(
            lambda: self._client.hmget(key, ["version", "created_at"])
        )
        if version is None or created_at is None or not self._live(int(created_at)):
            return None
        return int(version)

    async def _list(
        self,
        execution_id: str,
        namespace: str,
        below_version: int | None,
        limit: int,
        metadata_filter: Mapping[str, v.Scalar],
    ) -> builtins.list[Checkpoint]:
        base = self._base(execution_id, namespace)
        keys = [base + "versions"]
        cutoff = self.expired_before()
        cutoff_us = None if cutoff is None else _to_us(cutoff)
        out: list[Checkpoint] = []
        below = below_version
        full = not metadata_filter
        # Unfiltered, a batch of `limit` is exactly what is needed; filtered, read
        # metadata in bounded batches and fetch the full records of matches only.
        batch = limit if full else max(self.scan_batch, 1)
        while len(out) < limit:
            upper = "+inf" if below is None else f"({below}"
            rows = await self._script("scan", keys, [base, upper, batch, "1" if full else "0"])
            wanted: list[str] = []
            expired = counted = False
            for i in range(0, len(rows), 3):
                cid, below, fields = rows[i].decode(), int(float(rows[i + 1])), rows[i + 2]
                created = fields[6] if full else fields[1]
                if created is None:
                    continue  # removed by Redis's own expiry: expired
                if cutoff_us is not None and int(created) < cutoff_us:
                    expired = True  # saved in time order: everything older expired too
                    break
                if full:
                    out.append(_checkpoint(execution_id, namespace, cid, fields))
                elif v.matches(json.loads(fields[0]), metadata_filter):
                    wanted.append(cid)
                if len(out) + len(wanted) >= limit:
                    counted = True  # the rest of the batch is read again if still needed
                    break
            if wanted:
                records = await self._script("fetch", keys, [base, *wanted])
                out += [
                    _checkpoint(execution_id, namespace, cid, fields)
                    for cid, fields in zip(wanted, records, strict=True)
                    if fields  # deleted between the two round trips
                ]
            if expired or (not counted and len(rows) < 3 * batch):
                break
        return out[:limit]

    async def _delete(self, execution_id: str, namespace: str, checkpoint_id: str) -> bool:
        base = self._base(execution_id, namespace)
        deleted = await self._script(
            "delete",
            [base + "versions", base + "cp:" + checkpoint_id, base + "w:" + checkpoint_id],
            [checkpoint_id, self._cutoff()],
        )
        return bool(deleted)

    async def _clear(self, execution_id: str, namespace: str | None) -> int:
        root = self.execution_key(execution_id)
        every = namespace is None
        count = await self._script(
            "clear",
            [root + "namespaces"],
            [root, "1" if every else "0", _b64(namespace or ""), self._cutoff()],
        )
        return int(count)

    async def _put_writes(
        self,
        execution_id: str,
        namespace: str,
        checkpoint_id: str,
        writes: builtins.list[PendingWrite],
    ) -> bool:
        base = self._base(execution_id, namespace)
        args: list[Any] = [self._cutoff(), self._ttl_ms()]
        for w in writes:
            args.append(json.dumps([w.task_id, w.idx], ensure_ascii=False))
            head = json.dumps([w.channel, w.content_type, w.task_path]).encode()
            # The header is ASCII JSON (newlines escaped), so the first newline ends it.
            args.append(head + b"\n" + w.value_bytes)
        done = await self._script(
            "put_writes",
            [
                base + "cp:" + checkpoint_id,
                base + "w:" + checkpoint_id,
                base + "versions",
                self.execution_key(execution_id) + "namespaces",
            ],
            args,
        )
        return bool(done)

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


async def _ping(client: RedisClient) -> None:
    await client.ping()


@lru_cache(maxsize=4096)
def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode()


def _checkpoint(
    execution_id: str, namespace: str, checkpoint_id: str, fields: Sequence[bytes | None]
) -> Checkpoint:
    """A checkpoint from the hash fields in ``_FIELDS`` order."""
    state, content_type, metadata, parent_id, node, next_nodes, created_at, version = fields
    return Checkpoint(
        execution_id,
        state or b"",
        namespace=namespace,
        checkpoint_id=checkpoint_id,
        parent_id=_text(parent_id),
        node=_text(node),
        next_nodes=json.loads(next_nodes or b"[]"),
        content_type=_text(content_type),
        metadata=json.loads(metadata or b"{}"),
        created_at=_from_us(int(created_at or 0)),
        version=int(version or 0),
    )


def _writes(flat: Sequence[bytes]) -> tuple[PendingWrite, ...]:
    """Pending writes from a flat HGETALL reply, sorted by (task_id, idx)."""
    out = []
    for i in range(0, len(flat), 2):
        task_id, idx = json.loads(flat[i])
        head, _, value = flat[i + 1].partition(b"\n")
        channel, content_type, task_path = json.loads(head)
        out.append(
            PendingWrite(
                task_id, idx, channel, value, content_type=content_type, task_path=task_path
            )
        )
    out.sort(key=lambda w: (w.task_id, w.idx))
    return tuple(out)


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
