"""What the contract suite cannot see of the Redis backend: key layout and cluster slots,
Redis-level TTLs, the connection pool's limits, big values, settings and error mapping.
Runs against a real redis-server and a real three-node Redis Cluster (tests/harness)."""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from checkpoint_client import (
    Channel,
    Checkpoint,
    Conflict,
    NotFound,
    PendingWrite,
    ResourceExhausted,
    Unavailable,
)
from checkpoint_gateway import context as call_context
from checkpoint_gateway.backends import BackendURLError, Retention, open_backend
from checkpoint_gateway.backends._base import to_us, weight
from checkpoint_gateway.backends.redis import RedisSettings, RedisStore
from checkpoint_gateway.backends.redis.records import b64, light_rows
from checkpoint_gateway.backends.redis.store import INDEX_GRACE_US
from checkpoint_gateway.validation import Limits
from tests.clock import FakeClock
from tests.contract.test_runtime_ops import all_pages
from tests.harness.redis import BACKENDS

MiB = 1024 * 1024
MakeRedis = Callable[..., Awaitable[RedisStore]]

# An execution id that would break a naive hash tag: braces, unicode, colons.
TRICKY_ID = "run}{x}:{ü🚀}"


@pytest.fixture(params=["redis", "redis-cluster"])
async def make_redis(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeRedis]:
    """Build Redis stores (plain or cluster) with a unique key prefix; closed at the end."""
    made: list[RedisStore] = []

    async def make(**options: Any) -> RedisStore:
        store = await BACKENDS[request.param](request, tmp_path, **options)
        assert isinstance(store, RedisStore)
        made.append(store)
        return store

    try:
        yield make
    finally:
        for store in made:
            await store.close()


async def keys_of(store: RedisStore) -> list[str]:
    """Every key the store created (on every cluster node)."""
    pattern = store.settings.key_prefix + "*"
    return sorted([k.decode() async for k in store.client.scan_iter(match=pattern)])


async def slot_of(store: RedisStore, key: str) -> int:
    """The cluster slot of a key: asked of the cluster itself (CLUSTER KEYSLOT) when there
    is one, computed like Redis does otherwise."""
    if isinstance(store.client, RedisCluster):
        return int(await store.client.cluster_keyslot(key))
    return key_slot(key.encode())


async def node_client(store: RedisStore, key: str, redis_url: str | None = None) -> Redis:
    """A separate plain client on the server that holds ``key``."""
    if isinstance(store.client, RedisCluster):
        node = store.client.get_node_from_key(key)
        assert node is not None
        return Redis(host=node.host, port=int(node.port))
    assert redis_url is not None
    return Redis.from_url(redis_url)


def is_cluster(store: RedisStore) -> bool:
    return isinstance(store.client, RedisCluster)


# -- key layout -------------------------------------------------------------------------------


async def test_every_key_of_an_execution_is_in_one_slot(make_redis: MakeRedis) -> None:
    store = await make_redis()
    channels = {"m{": Channel("1", [1])}
    await store.save(Checkpoint(TRICKY_ID, {"a": 1}, checkpoint_id="c{1}", channels=channels))
    await store.save(Checkpoint(TRICKY_ID, {"a": 2}, checkpoint_id="c}2{", namespace="ns{:}"))
    await store.save(Checkpoint(TRICKY_ID, {"a": 3}, checkpoint_id="ïd", namespace="ns{:}"))
    await store.put_writes(TRICKY_ID, "c{1}", [PendingWrite("t{", 0, "ch", b"x")])
    await store.put_writes(
        TRICKY_ID, "later", [PendingWrite("t", 0, "ch", b"y")], namespace="ns{:}"
    )
    # Another execution whose id shares a brace-delimited part with the first.
    await store.save(Checkpoint("run}{x}", {"other": True}, checkpoint_id="c{1}"))

    root = store.execution_key(TRICKY_ID)
    mine = [k for k in await keys_of(store) if k.startswith(root)]
    ns = b64("ns{:}")
    assert sorted(k[len(root) :] for k in mine) == sorted(
        [
            "namespaces",
            "times",
            # the root namespace ("" in base64 is ""): one checkpoint with a channel value
            ":versions",
            ":cp:c{1}",
            ":w:c{1}",
            ":blobs",
            ":blobrefs",
            ":chans",
            # "ns{:}": two checkpoints, and writes whose checkpoint is not saved yet
            f"{ns}:versions",
            f"{ns}:cp:c}}2{{",
            f"{ns}:cp:ïd",
            f"{ns}:w:later",
            f"{ns}:orphans",
        ]
    )
    slots = {await slot_of(store, k) for k in mine}
    assert len(slots) == 1, slots
    # The tag really is the execution's own: the other execution lands elsewhere.
    other = store.execution_key("run}{x}") + "namespaces"
    assert await slot_of(store, other) not in slots
    # Outside every execution: the executions index and the layout version only.
    executions = [
        k for k in await keys_of(store) if not k.startswith(store.settings.key_prefix + "{")
    ]
    assert sorted(executions) == [store.index_key, store.settings.key_prefix + "layout"]
    assert (await store.load(TRICKY_ID, "c}2{", namespace="ns{:}")).state == {"a": 2}
    assert (await store.load(TRICKY_ID, "c{1}")).pending_writes[0].task_id == "t{"
    assert await store.clear(TRICKY_ID) == 3
    assert [k for k in await keys_of(store) if k.startswith(root)] == []


async def test_latest_and_list_follow_versions_not_ids(make_redis: MakeRedis) -> None:
    store = await make_redis()
    ids = ["9", "10", "2", "b", "a", "1"]
    for i, cid in enumerate(ids):
        await store.save(Checkpoint("run", {"i": i}, checkpoint_id=cid))
    assert (await store.latest("run")).checkpoint_id == "1"
    page = await store.list("run", limit=100)
    assert [c.checkpoint_id for c in page.checkpoints] == list(reversed(ids))
    assert [c.version for c in page.checkpoints] == [6, 5, 4, 3, 2, 1]


async def test_filtered_listing_reads_in_batches(make_redis: MakeRedis) -> None:
    store = await make_redis()
    store.scan_batch = 3  # far below the lineage size, so matches span many batches
    for i in range(20):
        await store.save(Checkpoint("run", {"i": i}, metadata={"hit": i % 5 == 0}))
    first = await store.list("run", limit=2, metadata_filter={"hit": True})
    assert [c.state["i"] for c in first.checkpoints] == [15, 10]
    rest = await store.list(
        "run", limit=2, metadata_filter={"hit": True}, page_token=first.next_page_token
    )
    assert [c.state["i"] for c in rest.checkpoints] == [5, 0]
    assert rest.next_page_token is None
    assert (await store.list("run", metadata_filter={"hit": "yes"})).checkpoints == []
    across = await store.list("run", all_namespaces=True, metadata_filter={"hit": True})
    assert [c.state["i"] for c in across.checkpoints] == [15, 10, 5, 0]


async def test_the_scripts_base64_and_byte_order_are_pythons(redis_url: str) -> None:
    """The scripts turn namespaces into key parts and compare members themselves."""
    from checkpoint_gateway.backends.redis.scripts import SELF_TEST

    samples = ["", "a", "ab", "abc", "abcd", "ns{:}", TRICKY_ID, "é", "\U0010ffff" * 3, "~"]
    rnd = random.Random(7)
    for _ in range(100):
        size = rnd.randint(0, 30)
        samples.append(
            "".join(chr(rnd.choice([rnd.randint(32, 0xD7FF), 0x1F680])) for _ in range(size))
        )
    client = Redis.from_url(redis_url)
    try:
        script = client.register_script(SELF_TEST)
        for x, y in zip(samples, samples[1:] + samples[:1], strict=True):
            encoded, decoded, lower = await script(keys=["k"], args=[x, b64(y)])
            assert encoded.decode() == b64(x)
            assert decoded.decode() == y
            assert (lower == b"true") == (x.encode() < b64(y).encode()), (x, y)
    finally:
        await client.aclose()


# -- TTL --------------------------------------------------------------------------------------


async def test_without_ttl_keys_never_expire(make_redis: MakeRedis) -> None:
    store = await make_redis()
    saved = await store.save(Checkpoint("run", {"a": 1}, channels={"m": Channel("1", 1)}))
    await store.put_writes("run", saved.checkpoint_id, [PendingWrite("t", 0, "ch", b"x")])
    await store.put_writes("run", "next", [PendingWrite("t", 0, "ch", b"x")])
    keys = await keys_of(store)
    assert len(keys) == 12
    assert [await store.client.pttl(k) for k in keys] == [-1] * 12


async def test_ttl_expires_every_key_and_a_save_refreshes_it(make_redis: MakeRedis) -> None:
    ttl_ms = 1_000_000_000  # ~11.6 days: nothing expires while the test runs
    store = await make_redis(retention=Retention(ttl_seconds=ttl_ms / 1000))
    first = await store.save(
        Checkpoint(TRICKY_ID, {"a": 1}, namespace="n", channels={"m": Channel("1", 1)})
    )
    await store.put_writes(
        TRICKY_ID, first.checkpoint_id, [PendingWrite("t", 0, "ch", b"x")], namespace="n"
    )
    await store.put_writes(TRICKY_ID, "next", [PendingWrite("t", 0, "ch", b"x")], namespace="n")
    root = store.execution_key(TRICKY_ID)
    keys = [k for k in await keys_of(store) if k.startswith(root)]
    # namespaces, times; versions, checkpoint, its writes, blobs, blobrefs, chans, orphans
    # and their writes
    assert len(keys) == 10
    for key in keys:
        assert 0 < await store.client.pttl(key) <= ttl_ms, key
    # The executions index and the layout version are the store's, never expired.
    assert await store.client.pttl(store.index_key) == -1

    # Age every key artificially (no sleeping), then save again: the keys the save
    # writes (the lineage's, the execution's, the new checkpoint) are back at the full
    # TTL; the old checkpoint and its writes keep their own, shorter, expiry.
    aged = 60_000
    for key in keys:
        assert await store.client.pexpire(key, aged)
    second = await store.save(Checkpoint(TRICKY_ID, {"a": 2}, namespace="n"))
    lineage = store._base(TRICKY_ID, "n")
    refreshed = [root + "namespaces", root + "times", lineage + "cp:" + second.checkpoint_id]
    refreshed += [lineage + k for k in ("versions", "blobs", "blobrefs", "chans", "orphans")]
    for key in refreshed:
        assert ttl_ms - 600_000 < await store.client.pttl(key) <= ttl_ms, key
    assert 0 < await store.client.pttl(lineage + "cp:" + first.checkpoint_id) <= aged
    # A put_writes refreshes the writes key too.
    writes = lineage + "w:" + first.checkpoint_id
    assert 0 < await store.client.pttl(writes) <= aged
    await store.put_writes(
        TRICKY_ID, first.checkpoint_id, [PendingWrite("t", 1, "ch", b"y")], namespace="n"
    )
    assert await store.client.pttl(writes) > ttl_ms - 600_000
    for key in await keys_of(store):
        if key.startswith(root):
            assert await store.client.pttl(key) > 0, key


async def test_a_checkpoint_redis_already_expired_is_gone(make_redis: MakeRedis) -> None:
    store = await make_redis(retention=Retention(ttl_seconds=3600))
    saved = [await store.save(Checkpoint("run", {"i": i})) for i in range(3)]
    base = store._base("run", "")
    # What Redis's own expiry does to the oldest checkpoint's hash.
    await store.client.delete(base + "cp:" + saved[0].checkpoint_id)
    with pytest.raises(NotFound):
        await store.load("run", saved[0].checkpoint_id)
    assert [c.version for c in (await store.list("run")).checkpoints] == [3, 2]
    assert [c.version for c in (await store.list("run", all_namespaces=True)).checkpoints] == [3, 2]
    assert (await store.latest("run")).version == 3
    assert await store.clear("run") == 2


async def test_channel_values_of_a_hash_redis_expired_are_still_collected(
    make_redis: MakeRedis,
) -> None:
    # A checkpoint's channel references live in its lineage's `chans` hash, which every
    # save of the lineage refreshes, not in the checkpoint's own hash, which Redis may
    # expire first: so the values it alone carried still go when it expires.
    clock = FakeClock()
    store = await make_redis(retention=Retention(ttl_seconds=3600), clock=clock)
    first = await store.save(Checkpoint("run", b"", channels={"a": Channel("1", "A1")}))
    clock.advance(1)
    await store.save(Checkpoint("run", b"", channels={"a": Channel("1"), "b": Channel("1", "B")}))
    base = store._base("run", "")
    await store.client.delete(base + "cp:" + first.checkpoint_id)
    clock.advance(1800)
    await store.save(Checkpoint("run", b"", channels={"b": Channel("1")}))
    assert await store.client.hgetall(base + "blobrefs") == {b"a\x001": b"1", b"b\x001": b"2"}
    clock.advance(1801)  # the first two have expired, the third has not
    await store.save(Checkpoint("run", b"", channels={"b": Channel("1")}))
    assert await store.client.hgetall(base + "blobrefs") == {b"b\x001": b"2"}
    assert sorted(await store.client.hkeys(base + "blobs")) == [b"b\x001", b"b\x001\x00"]


# -- the connection pool ----------------------------------------------------------------------


async def test_pool_exhaustion_fails_fast_and_recovers(
    make_redis: MakeRedis, request: pytest.FixtureRequest
) -> None:
    settings = RedisSettings(max_connections=2, pool_timeout=0.3, socket_timeout=30)
    store = await make_redis(settings=settings)
    await store.save(Checkpoint("busy", {"ok": True}))
    redis_url = None if is_cluster(store) else request.getfixturevalue("redis_url")
    # Dummy lists in the execution's slot, so on a cluster they block the same node.
    dummies = [store.execution_key("busy") + f"dummy:{i}:{uuid.uuid4().hex}" for i in range(2)]
    helper = await node_client(store, dummies[0], redis_url)
    try:

        async def hold(key: str) -> Any:
            return await store.client.blpop([key], timeout=25)

        held = [asyncio.create_task(hold(d)) for d in dummies]
        deadline = time.monotonic() + 10
        while int((await helper.info("clients"))["blocked_clients"]) < 2:
            assert time.monotonic() < deadline, "the BLPOPs never blocked"
            await asyncio.sleep(0.01)

        started = time.monotonic()
        results = await asyncio.wait_for(
            asyncio.gather(*(store.latest("busy") for _ in range(20)), return_exceptions=True),
            timeout=15,
        )
        assert time.monotonic() - started < 10
        assert all(isinstance(r, ResourceExhausted) for r in results), results
        message = str(results[0])
        assert "max_connections=2" in message
        assert "pool_timeout" in message

        for d in dummies:
            await helper.lpush(d, b"go")
        assert [(await t)[1] for t in held] == [b"go", b"go"]
        # Free again: 20 callers now share the two connections without error.
        again = await asyncio.gather(*(store.latest("busy") for _ in range(20)))
        assert {c.state["ok"] for c in again} == {True}
    finally:
        for d in dummies:
            await helper.delete(d)
        await helper.aclose()


# -- coalescing -------------------------------------------------------------------------------


async def test_concurrent_saves_share_pipelines_in_order(make_redis: MakeRedis) -> None:
    store = await make_redis()
    if is_cluster(store):
        # A cluster pipeline may reorder across nodes: saves there run one by one.
        assert store._coalescer is None
        return
    assert store._coalescer is not None
    lineages = [f"run-{i}" for i in range(10)]
    # Submitted in this order: each lineage's saves n = 0..4 interleaved with the others.
    calls = [store.save(Checkpoint(run, {"n": n})) for n in range(5) for run in lineages]
    saved = await asyncio.gather(*calls)

    assert store._coalescer.items == 50
    assert store._coalescer.batches < 50  # the first iteration alone carries all 50
    for run in lineages:
        mine = [c for c in saved if c.execution_id == run]
        assert [(c.state["n"], c.version) for c in mine] == [(n, n + 1) for n in range(5)]
        page = await store.list(run)
        assert [c.state["n"] for c in page.checkpoints] == [4, 3, 2, 1, 0]


async def test_pipelines_recover_from_a_flushed_script_cache(make_redis: MakeRedis) -> None:
    store = await make_redis()
    await store.save(Checkpoint("run-1", {"n": 0}))
    await store.client.script_flush()  # as after a restart: the scripts are gone
    results = await store.save_many([Checkpoint("run-1", {"n": i}) for i in (1, 2)])
    assert [getattr(r, "version", r) for r in results] == [2, 3]
    await store.client.script_flush()
    more = await asyncio.gather(*(store.save(Checkpoint("run-2", {"n": i})) for i in range(3)))
    assert sorted(c.version for c in more) == [1, 2, 3]


async def test_coalescing_can_be_turned_off(make_redis: MakeRedis) -> None:
    store = await make_redis(settings=RedisSettings(coalesce_saves=False))
    assert store._coalescer is None
    saved = await asyncio.gather(*(store.save(Checkpoint("run-1", {"n": i})) for i in range(4)))
    assert sorted(c.version for c in saved) == [1, 2, 3, 4]


async def test_big_states_go_in_pipelines_of_at_most_8_mib(make_redis: MakeRedis) -> None:
    from checkpoint_gateway.backends.redis.batch import chunks

    store = await make_redis(limits=Limits())
    items = [(Checkpoint("big", bytes(3 * MiB)), None) for _ in range(5)]
    items.insert(2, (Checkpoint("big", bytes(10 * MiB)), None))
    assert [len(c) for c in chunks(items, 100, 8 * MiB)] == [2, 1, 2, 1]
    results = await store.save_many([cp for cp, _ in items])
    assert [getattr(r, "version", r) for r in results] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "parts",
    [
        [b"EVALSHA", "0" * 40, "4", "k1", "k2", b"state", ""],
        ["SET", "ключ", b"\x00" * 20_000, "between", b"y" * 16_385, "end"],
        ["PING"],
    ],
)
def test_commands_are_packed_exactly_as_redis_py_packs_them(parts: list[Any]) -> None:
    from redis.asyncio.connection import Connection

    from checkpoint_gateway.backends.redis.batch import pack

    assert b"".join(pack(parts)) == b"".join(Connection().pack_command(*parts))


async def test_a_batch_larger_than_max_batch_is_split_and_kept_in_order(
    make_redis: MakeRedis,
) -> None:
    store = await make_redis(settings=RedisSettings(max_batch=2))
    results = await store.save_many([Checkpoint("run-1", {"n": i}) for i in range(5)])
    assert [getattr(r, "version", r) for r in results] == [1, 2, 3, 4, 5]
    page = await store.list("run-1")
    assert [c.state["n"] for c in page.checkpoints] == [4, 3, 2, 1, 0]


# -- big values -------------------------------------------------------------------------------


async def test_8_mib_checkpoint_round_trips_byte_for_byte(make_redis: MakeRedis) -> None:
    store = await make_redis(limits=Limits())
    blob = random.Random(8).randbytes(8 * MiB)
    value = random.Random(1).randbytes(MiB)
    saved = await store.save(
        Checkpoint("big", blob, checkpoint_id="b", content_type="application/x-blob")
    )
    await store.put_writes("big", "b", [PendingWrite("t", 0, "ch", value)])
    loaded = await store.load("big", "b")
    assert loaded.state_bytes == blob
    assert loaded.content_type == "application/x-blob"
    assert loaded.pending_writes[0].value_bytes == value
    assert loaded == saved.replace(pending_writes=loaded.pending_writes)
    assert (await store.latest("big")).state_bytes == blob
    assert (await store.list("big")).checkpoints[0].state_bytes == blob


# -- settings, URLs, errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix", ["", "a{b", "a}b", "has space", "x" * 65, "é:", "tab\t", "*", None]
)
def test_bad_key_prefix_is_rejected(prefix: Any) -> None:
    with pytest.raises(ValueError, match="key_prefix"):
        RedisSettings(key_prefix=prefix)


@pytest.mark.parametrize("prefix", ["cp:", "a", "app/v1.checkpoints:", "x" * 64, "A_b-9:"])
def test_good_key_prefix_is_accepted(prefix: str) -> None:
    assert RedisSettings(key_prefix=prefix).key_prefix == prefix


@pytest.mark.parametrize(
    "changes",
    [
        {"max_connections": 0},
        {"max_connections": True},
        {"pool_timeout": 0},
        {"socket_timeout": -1},
        {"socket_connect_timeout": float("inf")},
        {"health_check_interval": -1},
        {"max_batch": 0},
        {"max_batch": True},
    ],
)
def test_bad_settings_are_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RedisSettings(**changes)


async def test_keys_use_the_configured_prefix(make_redis: MakeRedis) -> None:
    prefix = f"custom/{uuid.uuid4().hex[:8]}:"
    store = await make_redis(settings=RedisSettings(key_prefix=prefix))
    await store.save(Checkpoint("run", {"a": 1}))
    keys = await keys_of(store)
    assert keys
    assert all(k.startswith(prefix) for k in keys)
    # Every key but the store's two is an execution's, under its hash tag.
    assert {k for k in keys if not k.startswith(prefix + "{")} == {
        prefix + "executions",
        prefix + "layout",
    }


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://127.0.0.1:notaport",
        "redis+cluster://127.0.0.1:7000/3",
        "redis+cluster://127.0.0.1:7000?ssl=true",
        "redis+cluster://127.0.0.1:7000,,127.0.0.1:7001",
        "redis://127.0.0.1:notaport/0",
    ],
)
async def test_malformed_urls_are_rejected(url: str) -> None:
    with pytest.raises(BackendURLError):
        await open_backend(url)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize("scheme", ["redis", "redis+cluster"])
async def test_unreachable_server_is_unavailable_without_leaking_the_password(
    scheme: str,
) -> None:
    url = f"{scheme}://user:s3cr3t-pw@127.0.0.1:{_closed_port()}"
    settings = RedisSettings(socket_connect_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught:
        await open_backend(url, settings=settings)
    assert time.monotonic() - started < 15
    assert "s3cr3t-pw" not in str(caught.value)


async def test_a_server_that_never_answers_is_unavailable_after_socket_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(Unavailable, match=r"did not answer within socket_timeout=0.3s"):
            await open_backend(
                f"redis://127.0.0.1:{port}/0", settings=RedisSettings(socket_timeout=0.3)
            )
        assert accepted, "the store never connected"
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_wrong_password_is_unavailable_without_leaking_it(redis_url: str) -> None:
    parts = urlsplit(redis_url)
    host = parts.netloc.rpartition("@")[2]
    url = parts._replace(netloc=f"nobody:wr0ng-s3cret@{host}").geturl()
    with pytest.raises(Unavailable) as caught:
        await open_backend(url)
    assert "wr0ng-s3cret" not in str(caught.value)
    assert "credentials" in str(caught.value)


async def test_a_ready_client_is_used_and_left_open(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        store = RedisStore(client, settings=RedisSettings(key_prefix=f"t{uuid.uuid4().hex[:10]}:"))
        assert store.name == "redis"
        saved = await store.save(Checkpoint("run", {"a": 1}))
        assert (await store.latest("run")) == saved
        await store.clear("run")
        await store.close()
        await store.close()  # idempotent
        assert await client.ping()
    finally:
        await client.aclose()


async def test_close_is_idempotent_and_cluster_reports_redis(make_redis: MakeRedis) -> None:
    store = await make_redis()
    assert store.name == "redis"
    await store.close()
    await store.close()


# -- what a save sends --------------------------------------------------------------------------


def _addresses(store: RedisStore, redis_url: str | None) -> list[tuple[str, int]]:
    if isinstance(store.client, RedisCluster):
        return [(n.host, int(n.port)) for n in store.client.get_primaries()]
    assert redis_url is not None
    parts = urlsplit(redis_url)
    return [(parts.hostname or "127.0.0.1", parts.port or 6379)]


_MONITOR_LINE = re.compile(r'^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"')


@asynccontextmanager
async def monitored(
    store: RedisStore, redis_url: str | None
) -> AsyncIterator[Callable[[], Awaitable[list[tuple[bool, str]]]]]:
    """MONITOR every node; the callable returns, per command that names one of the
    store's keys, whether a script ran it and its name (all nodes, in node order)."""
    conns = []
    for host, port in _addresses(store, redis_url):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"MONITOR\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"+OK")
        conns.append((host, port, reader, writer))

    async def seen() -> list[tuple[bool, str]]:
        marker = uuid.uuid4().hex
        out = []
        for host, port, reader, _ in conns:
            async with Redis(host=host, port=port) as client:
                await client.echo(marker)
            while True:
                line = (await asyncio.wait_for(reader.readline(), 10)).decode(errors="replace")
                if marker in line:
                    break
                found = _MONITOR_LINE.match(line)
                if found and store.settings.key_prefix in line:
                    out.append((found.group(1) == "lua", found.group(2).upper()))
        return out

    try:
        yield seen
    finally:
        for *_, writer in conns:
            writer.close()


async def test_a_save_is_one_script_call(
    make_redis: MakeRedis, request: pytest.FixtureRequest
) -> None:
    store = await make_redis()
    redis_url = None if is_cluster(store) else request.getfixturevalue("redis_url")
    await store.save(Checkpoint("warm-up", {}))  # scripts loaded, connections open
    async with monitored(store, redis_url) as seen:
        await store.put_writes("run", "c1", [PendingWrite("t", 0, "ch", b"early")])
        await store.save(
            Checkpoint("run", {"a": 1}, checkpoint_id="c1", channels={"m": Channel("1", [1])})
        )
        results = await store.save_many([Checkpoint("run", {"i": i}) for i in range(3)])
        assert [getattr(r, "version", r) for r in results] == [2, 3, 4]
        sent = [name for lua, name in await seen() if not lua]
    if is_cluster(store):
        # The executions index is in another slot: one more command per save, sent to
        # its node at the same time as the save.
        assert sorted(sent) == ["EVALSHA"] * 9
    else:
        # The index entry is written by the save's own script.
        assert sent == ["EVALSHA"] * 5


# -- pages within their byte budget --------------------------------------------------------------


async def _sent_bytes(store: RedisStore, key: str, redis_url: str | None) -> int:
    client = await node_client(store, key, redis_url)
    try:
        return int((await client.info("stats"))["total_net_output_bytes"])
    finally:
        await client.aclose()


async def test_a_page_cut_short_never_reads_the_states_it_leaves_out(
    make_redis: MakeRedis, request: pytest.FixtureRequest
) -> None:
    # Pages stop before 1 MiB; each state is 200 KiB: a page of 8 holds 5, and only
    # those 5 states leave Redis (measured on the server, which sends every reply byte).
    store = await make_redis(limits=Limits(max_page_bytes=MiB))
    redis_url = None if is_cluster(store) else request.getfixturevalue("redis_url")
    for i in range(8):
        # Random bytes are stored as they come (see test_file_backend's twin).
        state = random.Random(i).randbytes(200 * 1024)
        await store.save(Checkpoint("big", state, checkpoint_id=f"c{i}"))
    key = store.execution_key("big") + "namespaces"
    for listing in (
        lambda: store.list("big", limit=8),
        lambda: store.list("big", limit=8, all_namespaces=True),
        lambda: store.search(limit=8),
        lambda: store.list("big", limit=8, metadata_filter={}),
    ):
        before = await _sent_bytes(store, key, redis_url)
        page = await listing()
        sent = await _sent_bytes(store, key, redis_url) - before
        assert len(page.checkpoints) == 5
        assert 5 * 200 * 1024 < sent < 5.5 * 200 * 1024, sent


# -- the executions index ---------------------------------------------------------------------


async def test_updated_at_moves_only_when_a_checkpoint_is_saved(make_redis: MakeRedis) -> None:
    clock = FakeClock()
    store = await make_redis(clock=clock)
    if is_cluster(store):
        pytest.skip("on a cluster the entry goes with the save, before its outcome is known")
    await store.save(Checkpoint("e1", {}, checkpoint_id="a"))
    clock.advance(1)
    await store.save(Checkpoint("e2", {}))
    clock.advance(1)
    with pytest.raises(Conflict):
        await store.save(Checkpoint("e1", {}), expected_version=5)
    with pytest.raises(NotFound):
        await store.save(Checkpoint("e1", {}, channels={"m": Channel("1")}))
    await store.save(Checkpoint("e1", {}, checkpoint_id="a"))  # a retry: nothing new
    assert [x.execution_id for x in (await store.executions()).executions] == ["e2", "e1"]


async def test_the_index_holds_each_execution_once_under_its_raw_id(make_redis: MakeRedis) -> None:
    clock = FakeClock()
    store = await make_redis(clock=clock)
    await store.save(Checkpoint(TRICKY_ID, {}))
    clock.advance(1)
    await store.save(Checkpoint(TRICKY_ID, {}, namespace="sub"))
    await store.save(Checkpoint("acme/run-1", {}))
    await store.save(Checkpoint("acme/run-2", {}))
    await store.save(Checkpoint("other/run-1", {}))
    now = to_us(clock.now)
    assert await store.client.zrange(store.index_key, 0, -1, withscores=True) == [
        (b"acme/run-1", now),
        (b"acme/run-2", now),
        (b"other/run-1", now),
        (TRICKY_ID.encode(), now),
    ]
    # Ids with a "/" are indexed under their first segment too (a tenant's own index).
    partition = store.partition_key("acme/")
    assert await store.client.zrange(partition, 0, -1) == [b"acme/run-1", b"acme/run-2"]
    assert await slot_of(store, partition) == await slot_of(store, store.index_key)
    token = call_context.execution_prefix.set("acme/")
    try:
        listed = (await store.executions()).executions
        found = (await store.search()).checkpoints
    finally:
        call_context.execution_prefix.reset(token)
    assert [x.execution_id for x in listed] == ["acme/run-2", "acme/run-1"]
    assert [c.execution_id for c in found] == ["acme/run-2", "acme/run-1"]
    # Gone with the last checkpoint (a cluster: lazily, see the next test).
    await store.clear("acme/run-1")
    if not is_cluster(store):
        assert await store.client.zrange(partition, 0, -1) == [b"acme/run-2"]


async def test_dead_entries_leave_the_index(make_redis: MakeRedis) -> None:
    clock = FakeClock()
    store = await make_redis(clock=clock, retention=Retention(ttl_seconds=3600))
    for eid in ["cleared", "deleted", "expired", "kept"]:
        await store.save(Checkpoint(eid, {}, checkpoint_id="c"))
        clock.advance(1)
    await store.clear("cleared")
    await store.delete("deleted", "c")
    index = store.index_key
    assert [x.execution_id for x in (await store.executions()).executions] == ["kept", "expired"]
    if is_cluster(store):
        # A cluster adds an entry before the save's script runs, so a listing leaves
        # recent entries be even with nothing live behind them...
        assert await store.client.zcard(index) == 4
    else:
        # ...while plain Redis takes them out in the script that took the last checkpoint.
        assert await store.client.zrange(index, 0, -1) == [b"expired", b"kept"]
    clock.advance(3599)  # "expired" (saved at +2 s) is now over the TTL, "kept" (+3 s) not
    assert INDEX_GRACE_US < 3599 * 1_000_000  # and every entry is older than the grace
    assert [x.execution_id for x in (await store.executions()).executions] == ["kept"]
    assert await store.client.zrange(index, 0, -1) == [b"kept"]


async def test_ties_sort_by_code_point_and_page_without_loss(make_redis: MakeRedis) -> None:
    clock = FakeClock()  # never advanced: every checkpoint saved at one instant
    store = await make_redis(clock=clock)
    ids = [f"e{i:02d}" for i in range(40)] + ["é", "z", "a/b", "a"]
    for eid in ids:
        await store.save(Checkpoint(eid, {}, checkpoint_id="c"))
    expected = sorted(ids, reverse=True)
    for size in (1, 7, 50):
        pages = await all_pages(
            lambda t, n=size: store.executions(limit=n, page_token=t), "executions"
        )
        assert [x.execution_id for x in pages] == expected
    names = ["", "a", "a:1", "b", "é", "a\u00a0"]
    for ns in names:
        await store.save(Checkpoint("run", {}, namespace=ns))
    order = sorted(names, reverse=True)
    for size in (1, 4):
        pages = await all_pages(
            lambda t, n=size: store.list("run", all_namespaces=True, limit=n, page_token=t),
            "checkpoints",
        )
        assert [c.namespace for c in pages] == order
    pages = await all_pages(lambda t: store.search(limit=3, page_token=t), "checkpoints")
    positions = [(c.execution_id, c.namespace) for c in pages]
    assert positions == sorted(positions, reverse=True)
    assert len(positions) == len(ids) + len(names)


# -- orphan writes ------------------------------------------------------------------------------


async def test_retention_removes_each_old_orphan_write_not_its_whole_key(
    make_redis: MakeRedis,
) -> None:
    clock = FakeClock()
    store = await make_redis(clock=clock, retention=Retention(max_checkpoints=1))
    orphans = store._base("run", "") + "orphans"
    clock.advance(1)
    await store.put_writes("run", "x", [PendingWrite("t", 0, "ch", b"old")])
    assert await store.client.zrange(orphans, 0, -1, withscores=True) == [(b"x", to_us(clock.now))]
    clock.advance(1)
    await store.save(Checkpoint("run", {}, checkpoint_id="c1"))
    clock.advance(1)
    await store.put_writes("run", "x", [PendingWrite("t", 1, "ch", b"new")])
    clock.advance(1)
    await store.save(Checkpoint("run", {}, checkpoint_id="c2"))  # removes c1
    # The write stored before c1 went; the one after it stays, and the key is now as old
    # as it.
    assert await store.client.zrange(orphans, 0, -1, withscores=True) == [
        (b"x", to_us(clock.now) - 1_000_000)
    ]
    await store.save(Checkpoint("run", {}, checkpoint_id="x"))
    assert [w.value for w in (await store.load("run", "x")).pending_writes] == [b"new"]
    assert await store.client.exists(orphans) == 0


# -- one round trip where it matters ------------------------------------------------------------


async def test_search_stops_at_the_first_executions_that_fill_the_page(
    make_redis: MakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    store = await make_redis(clock=clock)
    for i in range(100):
        clock.advance(1)
        await store.save_many([Checkpoint(f"e{i:03d}", {"i": i, "j": j}) for j in range(3)])
    walked: list[int] = []
    original = store._many

    async def spy(name: str, calls: list[Any]) -> list[Any]:
        if name == "list_execution":
            walked.append(len(calls))
        return await original(name, calls)

    monkeypatch.setattr(store, "_many", spy)
    page = await store.search(limit=5)
    assert [c.execution_id for c in page.checkpoints] == ["e099"] * 3 + ["e098"] * 2
    # One batch of the index, each of its executions read once: not the other 68.
    assert walked == [32]


async def test_an_ancestors_page_is_one_script_call(
    make_redis: MakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_redis()
    parent = ""
    for i in range(12):
        await store.save(Checkpoint("run", {"i": i}, checkpoint_id=f"c{i:02d}", parent_id=parent))
        parent = f"c{i:02d}"
    calls: list[str] = []
    original = store._script

    async def spy(name: str, keys: Any, args: Any) -> Any:
        calls.append(name)
        return await original(name, keys, args)

    monkeypatch.setattr(store, "_script", spy)
    page = await store.ancestors("run", "c11", limit=5)
    assert [c.checkpoint_id for c in page.checkpoints] == ["c10", "c09", "c08", "c07", "c06"]
    assert calls == ["ancestors"]


async def test_delete_where_walks_executions_in_batches(
    make_redis: MakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    import checkpoint_gateway.backends.redis.store as redis_store

    monkeypatch.setattr(redis_store, "DELETE_BATCH", 3)
    monkeypatch.setattr(redis_store, "INDEX_BATCH", 2)
    store = await make_redis()
    for e in range(5):
        await store.save_many(
            [Checkpoint(f"e{e}", {}, metadata={"run": "r1" if j % 2 else "r0"}) for j in range(7)]
        )
    assert await store.delete_where({"run": "r1"}, execution_id="e0") == 3
    assert await store.delete_where({"run": "r1"}) == 12
    assert await store.delete_where({"run": "r1"}) == 0
    for e in range(5):
        page = await store.list(f"e{e}", all_namespaces=True)
        assert [c.metadata["run"] for c in page.checkpoints] == ["r0"] * 4


async def test_pipelined_reads_recover_from_a_flushed_script_cache(make_redis: MakeRedis) -> None:
    store = await make_redis()
    for e in range(3):
        await store.save(Checkpoint(f"e{e}", {}))
    await store.client.script_flush()
    assert len((await store.search()).checkpoints) == 3
    await store.client.script_flush()
    assert len((await store.executions()).executions) == 3


# -- copy ------------------------------------------------------------------------------------


async def test_a_copy_is_invisible_until_it_is_whole(
    make_redis: MakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_redis()
    for ns in ["", "sub"]:
        for i in range(3):
            await store.save(Checkpoint("src", {"i": i}, namespace=ns, checkpoint_id=f"c{i}"))
    await store.put_writes("src", "next", [PendingWrite("t", 0, "ch", b"early")])
    original = store._stage_lineage
    staged = 0

    async def stage_and_look(base: str, stage: str, s: str) -> int:
        nonlocal staged
        copied = await original(base, stage, s)
        staged += copied
        # A reader sees nothing of the target while it is staged, lineage by lineage.
        with pytest.raises(NotFound):
            await store.latest("dst")
        with pytest.raises(NotFound):
            await store.load("dst", "c1", namespace="sub")
        assert (await store.list("dst", all_namespaces=True)).checkpoints == []
        assert (await store.namespaces("dst")).namespaces == []
        assert "dst" not in [x.execution_id for x in (await store.executions()).executions]
        assert all(c.execution_id != "dst" for c in (await store.search()).checkpoints)
        staging = [k for k in await keys_of(store) if "~copy:" in k]
        assert staging
        assert [k for k in staging if await store.client.pttl(k) <= 0] == []
        return copied

    monkeypatch.setattr(store, "_stage_lineage", stage_and_look)
    assert await store.copy_execution("src", "dst") == 6
    assert staged == 6
    assert len((await store.list("dst", all_namespaces=True)).checkpoints) == 6
    assert [k for k in await keys_of(store) if "~copy:" in k] == []
    # Published keys lose the stage's expiry (without a TTL setting, nothing expires).
    copied = [k for k in await keys_of(store) if k.startswith(store.execution_key("dst"))]
    # namespaces, times, 2 x (versions + 3 checkpoints), orphans and their writes
    assert len(copied) == 12
    assert [k for k in copied if await store.client.pttl(k) != -1] == []
    # Orphan writes come along, and wait for their checkpoint in the copy too.
    await store.save(Checkpoint("dst", {}, checkpoint_id="next"))
    assert [w.value for w in (await store.load("dst", "next")).pending_writes] == [b"early"]


async def test_a_copy_that_meets_a_save_to_its_target_leaves_nothing(
    make_redis: MakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await make_redis()
    await store.save(Checkpoint("src", {"from": "src"}, checkpoint_id="c"))
    await store.put_writes("dst", "w", [PendingWrite("t", 0, "ch", b"x")])  # not live
    original = store._stage_lineage

    async def stage_then_race(base: str, stage: str, s: str) -> int:
        copied = await original(base, stage, s)
        await store.save(Checkpoint("dst", {"from": "racer"}, checkpoint_id="c"))
        return copied

    monkeypatch.setattr(store, "_stage_lineage", stage_then_race)
    with pytest.raises(Conflict):
        await store.copy_execution("src", "dst")
    assert (await store.load("dst", "c")).state == {"from": "racer"}
    assert [k for k in await keys_of(store) if "~copy:" in k] == []


async def test_a_long_lineage_is_copied_in_chunks(make_redis: MakeRedis) -> None:
    store = await make_redis()
    channels = {"m": Channel("1", b"x" * 100)}
    await store.save(Checkpoint("src", {}, channels=channels))
    for _ in range(3):
        await store.save_many(
            [Checkpoint("src", {}, channels={"m": Channel("1")}) for _ in range(150)]
        )
    assert await store.copy_execution("src", "dst") == 451
    copied = await store.list("dst", limit=1000)
    assert [c.version for c in copied.checkpoints] == list(range(451, 0, -1))
    assert await store.client.hgetall(store._base("dst", "") + "blobrefs") == {b"m\x001": b"451"}


async def test_the_scripts_weigh_checkpoints_as_pages_do(make_redis: MakeRedis) -> None:
    # Scripts stop pages by their own count of a checkpoint's bytes: it must be the
    # backends' `weight`, or Redis pages would be cut elsewhere than the contract says.
    store = await make_redis()
    channels = {"a": Channel("1", b"x" * 300), "é": Channel("2", {"k": "v" * 50})}
    await store.save(Checkpoint("run", b"s" * 1000, checkpoint_id="c", channels=channels))
    await store.save(Checkpoint("run", b"", checkpoint_id="d", namespace="n"))
    await store.put_writes(
        "run", "c", [PendingWrite("t", 0, "ch", b"w" * 77), PendingWrite("t", -1, "é", "ü")]
    )
    root = store.execution_key("run")
    for with_writes in ("0", "1"):
        flat = await store._script(
            "list_execution",
            [root + "times"],
            [root, "+inf", b"", 10, "-inf", 0, with_writes, "light"],
        )
        got = {row.checkpoint_id: row.weight for row in light_rows("run", flat)}
        for cid, namespace in (("c", ""), ("d", "n")):
            cp = await store.load("run", cid, namespace=namespace)
            if with_writes == "0":
                cp = cp.replace(pending_writes=())
            assert got[cid] == weight(cp), (cid, with_writes)
