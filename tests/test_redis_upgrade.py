"""Data stored by the Redis backend's first key layout keeps working after an upgrade.

The old data is written with the old layout's own scripts (copied below from the last
version that used them), on a real redis-server and a real Redis Cluster; then a store of
this version opens the same prefix, and everything is read back and changed through it.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from checkpoint_client import Channel, Checkpoint, NotFound, PendingWrite
from checkpoint_gateway import context as call_context
from checkpoint_gateway.backends import open_backend
from checkpoint_gateway.backends._base import to_us
from checkpoint_gateway.backends.redis import RedisSettings, RedisStore
from checkpoint_gateway.backends.redis.store import _cluster_client
from tests.clock import FakeClock

# -- layout 1, as its store wrote it ------------------------------------------------------------

OLD_SAVE = """
local vkey, nskey, cpkey, wkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local base, id = ARGV[1], ARGV[3]
if redis.call('EXISTS', cpkey) == 1 then return {0} end
redis.call('ZREM', vkey, id)
local top = redis.call('ZREVRANGE', vkey, 0, 0, 'WITHSCORES')
local latest = 0
if #top > 0 then latest = tonumber(top[2]) end
if ARGV[4] ~= '' and tonumber(ARGV[4]) ~= latest then return {1, latest} end
local version = latest + 1
redis.call('DEL', wkey)
redis.call('HSET', cpkey, 'state', ARGV[9], 'content_type', ARGV[10], 'metadata', ARGV[11],
           'parent_id', ARGV[12], 'node', ARGV[13], 'next_nodes', ARGV[14],
           'created_at', ARGV[5], 'version', string.format('%d', version))
redis.call('ZADD', vkey, version, id)
redis.call('SADD', nskey, ARGV[2])
if ARGV[8] ~= '' then
  redis.call('PEXPIRE', vkey, ARGV[8])
  redis.call('PEXPIRE', nskey, ARGV[8])
  redis.call('PEXPIRE', cpkey, ARGV[8])
end
return version
"""

OLD_PUT_WRITES = """
local t = redis.call('HGET', KEYS[1], 'created_at')
if not t then return 0 end
if ARGV[1] ~= '' and tonumber(t) < tonumber(ARGV[1]) then return 0 end
for i = 3, #ARGV, 200 do
  redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + 199, #ARGV)))
end
if ARGV[2] ~= '' then
  for k = 2, 4 do
    if redis.call('EXISTS', KEYS[k]) == 1 then redis.call('PEXPIRE', KEYS[k], ARGV[2]) end
  end
end
return 1
"""


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


class OldStore:
    """What the layout-1 store sent to Redis for a save and a put_writes."""

    def __init__(self, client: Redis | RedisCluster, prefix: str) -> None:
        self.prefix = prefix
        self._save = client.register_script(OLD_SAVE)
        self._put_writes = client.register_script(OLD_PUT_WRITES)

    def _keys(self, execution_id: str, namespace: str) -> tuple[str, str]:
        root = f"{self.prefix}{{{_b64(execution_id)}}}:"
        return root, f"{root}{_b64(namespace)}:"

    async def save(self, cp: Checkpoint, created_us: int) -> int:
        root, base = self._keys(cp.execution_id, cp.namespace)
        cid = cp.checkpoint_id
        keys = [base + "versions", root + "namespaces", base + "cp:" + cid, base + "w:" + cid]
        args: list[Any] = [base, _b64(cp.namespace), cid, "", str(created_us), "", "", ""]
        args += [cp.state_bytes, cp.content_type, cp.metadata_json(), cp.parent_id, cp.node]
        args.append(json.dumps(cp.next_nodes, ensure_ascii=False))
        version = await self._save(keys=keys, args=args)
        assert isinstance(version, int)
        return version

    async def put_writes(
        self, execution_id: str, checkpoint_id: str, writes: list[PendingWrite], namespace: str = ""
    ) -> None:
        root, base = self._keys(execution_id, namespace)
        args: list[Any] = ["", ""]
        for w in writes:
            args.append(json.dumps([w.task_id, w.idx], ensure_ascii=False))
            head = json.dumps([w.channel, w.content_type, w.task_path]).encode()
            args.append(head + b"\n" + w.value_bytes)
        keys = [base + "cp:" + checkpoint_id, base + "w:" + checkpoint_id]
        keys += [base + "versions", root + "namespaces"]
        assert await self._put_writes(keys=keys, args=args) == 1


@pytest.fixture(params=["redis", "redis-cluster"])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Redis | RedisCluster]]:
    """A server's URL and a plain client of it (no store, no layout)."""
    url = request.getfixturevalue("redis_url" if request.param == "redis" else "redis_cluster_url")
    client: Redis | RedisCluster
    if request.param == "redis":
        client = Redis.from_url(url)
    else:
        client, _ = _cluster_client(url, RedisSettings(), tls=False)
    try:
        yield url, client
    finally:
        await client.aclose()


async def test_data_of_the_first_layout_reads_back_and_changes(
    server: tuple[str, Redis | RedisCluster],
) -> None:
    url, client = server
    prefix = f"up{uuid.uuid4().hex[:10]}:"
    clock = FakeClock()
    t0 = to_us(clock.now)
    old = OldStore(client, prefix)
    # Two executions, one with a sub-graph namespace, and one with a tenant-shaped id.
    await old.save(Checkpoint("old-1", {"n": 0}, checkpoint_id="a", metadata={"run": "r1"}), t0)
    await old.save(
        Checkpoint(
            "old-1",
            {"n": 1},
            checkpoint_id="b",
            parent_id="a",
            node="agent",
            metadata={"run": "r1"},
        ),
        t0 + 1_000_000,
    )
    await old.save(
        Checkpoint("old-1", {"s": 0}, checkpoint_id="s", namespace="sub"), t0 + 2_000_000
    )
    await old.save(
        Checkpoint("t1/run", {"t": 0}, checkpoint_id="x", metadata={"run": "r1"}), t0 + 3_000_000
    )
    await old.put_writes(
        "old-1",
        "b",
        [PendingWrite("task", 0, "ch", b"first"), PendingWrite("task", -1, "err", b"e")],
    )
    assert await client.get(prefix + "layout") is None

    clock.advance(10)
    settings = RedisSettings(key_prefix=prefix)
    store = await open_backend(url, settings=settings, clock=clock)
    assert isinstance(store, RedisStore)
    try:
        assert await client.get(prefix + "layout") == b"2"

        # Everything reads back, writes included.
        b = await store.load("old-1", "b")
        assert (b.state, b.parent_id, b.node, b.version, b.metadata) == (
            {"n": 1},
            "a",
            "agent",
            2,
            {"run": "r1"},
        )
        assert b.created_at == clock.now - timedelta(seconds=9)
        assert [(w.task_id, w.idx, w.value) for w in b.pending_writes] == [
            ("task", -1, b"e"),
            ("task", 0, b"first"),
        ]
        assert b.channels == {}
        assert (await store.latest("old-1")).checkpoint_id == "b"
        assert [c.checkpoint_id for c in (await store.list("old-1")).checkpoints] == ["b", "a"]
        # The indexes built by the upgrade: across namespaces, executions, search.
        across = await store.list("old-1", all_namespaces=True, with_writes=True)
        assert [c.checkpoint_id for c in across.checkpoints] == ["s", "b", "a"]
        assert len(across.checkpoints[1].pending_writes) == 2
        assert (await store.namespaces("old-1")).namespaces == ["", "sub"]
        listed = (await store.executions()).executions
        assert [(x.execution_id, to_us(x.updated_at)) for x in listed] == [  # type: ignore[arg-type]
            ("t1/run", t0 + 3_000_000),
            ("old-1", t0 + 2_000_000),
        ]
        found = await store.search({"run": "r1"})
        assert [(c.execution_id, c.checkpoint_id) for c in found.checkpoints] == [
            ("t1/run", "x"),
            ("old-1", "b"),
            ("old-1", "a"),
        ]
        token = call_context.execution_prefix.set("t1/")
        try:
            assert [x.execution_id for x in (await store.executions()).executions] == ["t1/run"]
        finally:
            call_context.execution_prefix.reset(token)
        ancestors = await store.ancestors("old-1", "b", include_state=True)
        assert [(c.checkpoint_id, c.state) for c in ancestors.checkpoints] == [("a", {"n": 0})]

        # Old lineages grow with this version's features.
        clock.advance(1)
        new = await store.save(
            Checkpoint(
                "old-1",
                {"n": 2},
                checkpoint_id="c",
                parent_id="b",
                channels={"m": Channel("1", [1])},
            )
        )
        assert new.version == 3
        assert (await store.load("old-1", "c")).channels["m"].value == [1]
        # An old write keeps its key: the first write of (task, 0) still wins.
        await store.put_writes("old-1", "b", [PendingWrite("task", 0, "ch", b"second")])
        await store.put_writes("old-1", "b", [PendingWrite("task", 1, "ch", b"more")])
        writes = (await store.load("old-1", "b")).pending_writes
        assert [(w.idx, w.value) for w in writes] == [(-1, b"e"), (0, b"first"), (1, b"more")]
        assert (await store.executions()).executions[0].execution_id == "old-1"

        # Copy, delete, prune and clear handle old checkpoints and their writes.
        assert await store.copy_execution("old-1", "copy") == 4
        assert (await store.load("copy", "b")).pending_writes == writes
        assert await store.delete("old-1", "b")
        with pytest.raises(NotFound):
            await store.load("old-1", "b")
        assert await store.prune(["old-1"]) == 1  # a goes, c (and s, alone) stay
        assert [
            c.checkpoint_id for c in (await store.list("old-1", all_namespaces=True)).checkpoints
        ] == [
            "c",
            "s",
        ]
        assert await store.clear("old-1") == 2
        assert [x.execution_id for x in (await store.executions()).executions] == ["copy", "t1/run"]

        # Setup runs once per prefix: again, it changes nothing...
        await client.delete(store.index_key)
        await store.setup()
        assert await client.zcard(store.index_key) == 0
        # ...until the layout version is taken away (after a mixed rollout, say).
        await client.delete(prefix + "layout")
        await store.setup()
        assert [x.execution_id for x in (await store.executions()).executions] == ["copy", "t1/run"]
    finally:
        await store.close()
