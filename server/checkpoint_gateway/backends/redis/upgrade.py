"""Layout upgrades: data stored by an older version of the store, brought to the current
key layout when a store opens (``RedisStore.setup``).

The layout's number is in ``<prefix>layout``; no such key is layout 1, the layout before
channels. Layout 2 adds keys the older one never wrote; of them, only two indexes must be
built from what is stored, everything else reads old data as it is (a checkpoint without
a ``chans`` entry has no channels, a write header without a time was stored at time 0,
and old writes always belonged to a saved checkpoint, so none is an orphan):

- each execution's time index (``<root>times``), from its lineages' checkpoints;
- the executions index (``<prefix>executions`` and its partitions), from each
  execution's newest checkpoint.

The upgrade finds executions with SCAN (on every master of a cluster) and runs one script
per execution, then records the layout. It is idempotent: replicas that start together
may all run it. A replica of the old version still saving while it runs writes
checkpoints without index entries: stop old replicas before starting new ones (or, after
a mixed rollout, ``DEL <prefix>layout`` and run ``checkpoint-gateway migrate`` again).
"""

from __future__ import annotations

import asyncio
import re
from functools import partial
from typing import TYPE_CHECKING

from .records import unb64

if TYPE_CHECKING:
    from .store import RedisStore

__all__ = ["LAYOUT_VERSION", "upgrade_layout"]

LAYOUT_VERSION = 2
_B64 = re.compile(rb"[A-Za-z0-9_-]+")
#: Executions upgraded at once.
_CONCURRENCY = 32


async def upgrade_layout(store: RedisStore) -> None:
    """Bring the keys under ``store``'s prefix to ``LAYOUT_VERSION`` (a no-op once done)."""
    await store._run(partial(_upgrade, store), bounded=False)


async def _upgrade(store: RedisStore) -> None:
    client = store.client
    prefix = store.settings.key_prefix.encode()
    marker = store.settings.key_prefix + "layout"
    current = await client.get(marker)
    if current is not None and int(current) >= LAYOUT_VERSION:
        return
    script = store._scripts["upgrade"]
    index_add = store._scripts["index_add"]
    head, tail = prefix + b"{", b"}:namespaces"

    async def one(key: bytes) -> None:
        tag = key[len(head) : -len(tail)]
        if not (key.startswith(head) and key.endswith(tail) and _B64.fullmatch(tag)):
            return  # not an execution's key (another store's prefix, a copy's stage)
        newest = await script(keys=[key], args=[key[: -len(b"namespaces")]])
        if newest:
            execution_id = unb64(tag)
            await index_add(keys=store._index_keys(execution_id), args=[newest, execution_id])

    batch: list[bytes] = []
    async for key in client.scan_iter(match=prefix + b"{*}:namespaces", count=1000):
        batch.append(key)
        if len(batch) >= _CONCURRENCY:
            await asyncio.gather(*(one(k) for k in batch))
            batch = []
    await asyncio.gather(*(one(k) for k in batch))
    await client.set(marker, LAYOUT_VERSION)
