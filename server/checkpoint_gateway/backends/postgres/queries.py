"""The SQL of a PostgreSQL store's reads, and how their rows become checkpoints.

Templates name tables as ``{checkpoints}``, ``{blobs}``, ``{writes}``... (filled in by
``PostgresStore._sql``) and take values as named parameters. Every fragment is constant
text chosen by the caller, never input.

A checkpoint comes back in one row: its columns, its channel values (aggregated in
reference order by a lateral join on the blobs table) and, where asked, its pending
writes (aggregated in ``(task_id, idx)`` order). So load, latest and a page of a listing
are one statement each.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any, LiteralString

from checkpoint_client import Channel, Checkpoint, PendingWrite

from .._base import AncestorWalk

__all__ = [
    "ANCESTOR_VALUES",
    "AncestorPlan",
    "CHANNELS",
    "COLUMNS",
    "FULL",
    "WRITES",
    "WRITE_COLUMNS",
    "ANCESTORS",
    "PAGE",
    "ancestors_fragments",
    "channels_from",
    "checkpoint_from",
    "like_prefix",
    "live",
    "page_fragments",
    "plan_walk",
]

#: A checkpoint row ``c`` with the channel values of ``CHANNELS`` (15 columns).
COLUMNS: LiteralString = (
    "c.execution_id, c.namespace, c.checkpoint_id, c.version, c.parent_id, c.node, "
    "c.next_nodes, c.content_type, c.state, c.metadata_text, c.created_at, "
    "c.channel_names, c.channel_versions, ch.vals, ch.types"
)
#: The pending writes of ``WRITES`` (6 columns).
WRITE_COLUMNS: LiteralString = "wr.tasks, wr.idxs, wr.chans, wr.vals, wr.types, wr.paths"
#: The channel values of ``c``, in the order of its references (a missing one is NULL).
CHANNELS: LiteralString = (
    " LEFT JOIN LATERAL (SELECT array_agg(b.value ORDER BY u.ord) AS vals, "
    "array_agg(b.content_type ORDER BY u.ord) AS types "
    "FROM unnest(c.channel_names, c.channel_versions) WITH ORDINALITY AS u (name, ver, ord) "
    "LEFT JOIN LATERAL (SELECT b.value, b.content_type FROM {blobs} AS b "
    "WHERE b.execution_id = c.execution_id AND b.namespace = c.namespace "
    "AND b.channel = u.name AND b.version = u.ver LIMIT 1) AS b ON true) AS ch ON true"
)
#: The pending writes stored under ``c``'s id, by ``(task_id, idx)``.
WRITES: LiteralString = (
    " LEFT JOIN LATERAL (SELECT array_agg(w.task_id ORDER BY w.task_id, w.idx) AS tasks, "
    "array_agg(w.idx ORDER BY w.task_id, w.idx) AS idxs, "
    "array_agg(w.channel ORDER BY w.task_id, w.idx) AS chans, "
    "array_agg(w.value ORDER BY w.task_id, w.idx) AS vals, "
    "array_agg(w.content_type ORDER BY w.task_id, w.idx) AS types, "
    "array_agg(w.task_path ORDER BY w.task_id, w.idx) AS paths "
    "FROM {writes} AS w WHERE w.execution_id = c.execution_id AND w.namespace = c.namespace "
    "AND w.checkpoint_id = c.checkpoint_id) AS wr ON true"
)
#: A checkpoint with its channel values and writes: ``SELECT {FULL} FROM ... AS c{joins}``.
FULL: LiteralString = COLUMNS + ", " + WRITE_COLUMNS


def live(cutoff: object, alias: LiteralString = "c") -> LiteralString:
    """The expiry condition on ``alias``: two query texts rather than ``(%s IS NULL OR
    ...)``, so each gets a plan of its own."""
    if cutoff is None:
        return ""
    return " AND " + alias + ".created_at >= %(cutoff)s"


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching the ids that start with ``prefix`` (with ``COLLATE "C"``
    columns the planner turns it into an index range)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


# -- pages of listings --------------------------------------------------------------------

_LINEAGE_ORDER: LiteralString = "c.version DESC"
_POSITION_ORDER: LiteralString = (
    "c.created_at DESC, c.execution_id DESC, c.namespace DESC, c.version DESC"
)
_POSITION_AFTER: LiteralString = (
    " AND (c.created_at, c.execution_id, c.namespace, c.version)"
    " < (%(at)s, %(aeid)s, %(ans)s, %(aver)s)"
)


#: One page of a listing, bounded by count and by bytes (see ``page_fragments``).
PAGE: LiteralString = """
WITH page AS (
    SELECT c.execution_id, c.namespace, c.checkpoint_id, c.version, c.created_at,
        c.channel_names, c.channel_versions, octet_length(c.state) AS state_size
    FROM {checkpoints} AS c
    WHERE {where}
    ORDER BY {order}
    LIMIT %(limit)s
), weighed AS (
    SELECT p.execution_id, p.namespace, p.version,
        row_number() OVER (ORDER BY {page_order}) AS n,
        p.state_size + 512 + coalesce((
            SELECT sum(octet_length(b.value) + 64)
            FROM unnest(p.channel_names, p.channel_versions) AS u (name, ver),
            LATERAL (SELECT b.value FROM {blobs} AS b
                WHERE b.execution_id = p.execution_id AND b.namespace = p.namespace
                AND b.channel = u.name AND b.version = u.ver LIMIT 1) AS b
        ), 0){writes_weight} AS weight
    FROM page AS p
), marked AS (
    SELECT r.*, (r.total <= %(budget)s OR (r.n = 1 AND %(first)s)) AS admitted
    FROM (SELECT w.*, sum(w.weight) OVER (ORDER BY w.n) AS total FROM weighed AS w) AS r
)
SELECT m.n, m.admitted, m.weight, {columns}
FROM marked AS m
LEFT JOIN {checkpoints} AS c ON m.admitted AND c.execution_id = m.execution_id
    AND c.namespace = m.namespace AND c.version = m.version{joins}
WHERE m.n <= (SELECT count(*) FROM marked AS k WHERE k.admitted) + 1
ORDER BY m.n
"""

_WRITES_WEIGHT: LiteralString = (
    " + coalesce((SELECT sum(octet_length(w.value) + 64) FROM {writes} AS w"
    " WHERE w.execution_id = p.execution_id AND w.namespace = p.namespace"
    " AND w.checkpoint_id = p.checkpoint_id), 0)"
)


def page_fragments(
    kind: str,
    *,
    after: bool,
    filtered: bool,
    cutoff: bool,
    prefix: bool = False,
    with_writes: bool,
) -> dict[str, LiteralString]:
    """The parts of ``PAGE`` for one kind of listing.

    ``kind`` is ``lineage`` (``%(eid)s``, ``%(ns)s``, below version ``%(below)s``),
    ``execution`` (``%(eid)s``, every namespace) or ``search`` (every execution, ids
    ``LIKE %(like)s`` with ``prefix``); the last two are by position, strictly below
    ``(%(at)s, %(aeid)s, %(ans)s, %(aver)s)``.

    The keyset scan takes ``%(limit)s`` rows without their states and weighs each as
    ``_base.weight`` does (``octet_length`` reads a stored value's length, not the
    value); a running sum admits the rows that fit ``%(budget)s`` (the first always
    when ``%(first)s``). Only admitted rows are joined back for their state, channel
    values and writes. The rows come back in order, each with ``(n, admitted,
    weight)`` before ``FULL`` (or ``COLUMNS`` without writes); after the admitted ones
    comes at most one more, not admitted and without data: the page was cut short there.
    """
    if kind == "lineage":
        where: LiteralString = "c.execution_id = %(eid)s AND c.namespace = %(ns)s"
        if after:
            where += " AND c.version < %(below)s"
        order, page_order = _LINEAGE_ORDER, "p.version DESC"
    else:
        if kind == "execution":
            where = "c.execution_id = %(eid)s"
        elif prefix:
            where = "c.execution_id LIKE %(like)s"
        else:
            where = "true"
        if after:
            where += _POSITION_AFTER
        order = _POSITION_ORDER
        page_order = "p.created_at DESC, p.execution_id DESC, p.namespace DESC, p.version DESC"
    if filtered:
        where += " AND c.metadata @> %(filter)s"
    if cutoff:
        where += " AND c.created_at >= %(cutoff)s"
    return {
        "where": where,
        "order": order,
        "page_order": page_order,
        "writes_weight": _WRITES_WEIGHT if with_writes else "",
        "columns": FULL if with_writes else COLUMNS,
        "joins": CHANNELS + WRITES if with_writes else CHANNELS,
    }


# -- the parent chain ---------------------------------------------------------------------


#: The parent chain from ``%(start)s`` (depth 0) down to depth ``%(depth)s``, by depth:
#: each checkpoint without its state, with the sizes of its state, of each channel value
#: (-1: none stored) and of its writes ({on_channel}: only those on ``%(wanted)s``), but
#: none of those values. {alive}: the expiry condition.
ANCESTORS: LiteralString = """
WITH RECURSIVE chain AS (
    SELECT 0 AS depth, c.checkpoint_id, c.version, c.parent_id, c.node, c.next_nodes,
        c.content_type, octet_length(c.state) AS state_size, c.metadata_text, c.created_at,
        c.channel_names, c.channel_versions
    FROM {checkpoints} AS c
    WHERE c.execution_id = %(eid)s AND c.namespace = %(ns)s
    AND c.checkpoint_id = %(start)s{alive}
    UNION ALL
    -- The parent is saved before its child, so it has a lower version: walk the version
    -- index down from the child, newest first, to the row with the parent's id (the next
    -- one, unless a fork lies between). With statistics that still say a lineage holds
    -- one row (a table that grew faster than autovacuum analyzed it), a join on the id
    -- alone was planned as a scan of the whole lineage per step: a 500-step walk took
    -- 222 ms instead of a few.
    SELECT chain.depth + 1, c.checkpoint_id, c.version, c.parent_id, c.node, c.next_nodes,
        c.content_type, octet_length(c.state), c.metadata_text, c.created_at,
        c.channel_names, c.channel_versions
    FROM chain CROSS JOIN LATERAL (
        SELECT * FROM {checkpoints} AS c
        WHERE c.execution_id = %(eid)s AND c.namespace = %(ns)s
        AND c.version < chain.version AND c.checkpoint_id = chain.parent_id{alive}
        ORDER BY c.version DESC LIMIT 1
    ) AS c
    WHERE chain.depth < %(depth)s
)
SELECT chain.*,
    ARRAY(SELECT coalesce(octet_length(b.value), -1)
        FROM unnest(chain.channel_names, chain.channel_versions) WITH ORDINALITY
            AS u (name, ver, ord)
        LEFT JOIN LATERAL (SELECT b.value FROM {blobs} AS b
            WHERE b.execution_id = %(eid)s AND b.namespace = %(ns)s
            AND b.channel = u.name AND b.version = u.ver LIMIT 1) AS b ON true
        ORDER BY u.ord),
    wr.tasks, wr.idxs, wr.chans, wr.sizes
FROM chain LEFT JOIN LATERAL (
    SELECT array_agg(w.task_id ORDER BY w.task_id, w.idx) AS tasks,
        array_agg(w.idx ORDER BY w.task_id, w.idx) AS idxs,
        array_agg(w.channel ORDER BY w.task_id, w.idx) AS chans,
        array_agg(octet_length(w.value) ORDER BY w.task_id, w.idx) AS sizes
    FROM {writes} AS w
    WHERE w.execution_id = %(eid)s AND w.namespace = %(ns)s
    AND w.checkpoint_id = chain.checkpoint_id{on_channel}
) AS wr ON true
ORDER BY chain.depth
"""


def ancestors_fragments(*, cutoff: bool, channels: bool) -> dict[str, LiteralString]:
    """The parts of ``ANCESTORS``: expiry, and the channels the walk is after."""
    return {
        "alive": " AND c.created_at >= %(cutoff)s" if cutoff else "",
        "on_channel": " AND w.channel = ANY (%(wanted)s)" if channels else "",
    }


#: What a page of ancestors needs beyond ``ancestors_query``, in one statement: states
#: (kind 0), channel values (1) and writes (2).
ANCESTOR_VALUES: LiteralString = (
    "SELECT 0, c.checkpoint_id, NULL::text, NULL::text, NULL::int4, NULL::text, NULL::text,"
    " c.state FROM {checkpoints} AS c WHERE c.execution_id = %(eid)s"
    " AND c.namespace = %(ns)s AND c.checkpoint_id = ANY (%(states)s)"
    " UNION ALL SELECT 1, NULL, b.channel, b.version, NULL, b.content_type, NULL, b.value"
    " FROM unnest(%(names)s::text[], %(versions)s::text[]) AS k (name, ver),"
    " LATERAL (SELECT * FROM {blobs} AS b WHERE b.execution_id = %(eid)s"
    " AND b.namespace = %(ns)s AND b.channel = k.name AND b.version = k.ver LIMIT 1) AS b"
    " UNION ALL SELECT 2, w.checkpoint_id, w.task_id, w.channel, w.idx, w.content_type,"
    " w.task_path, w.value"
    " FROM unnest(%(wcids)s::text[], %(wtasks)s::text[], %(widxs)s::int4[])"
    " AS k (cid, task, idx), LATERAL (SELECT * FROM {writes} AS w"
    " WHERE w.execution_id = %(eid)s AND w.namespace = %(ns)s AND w.checkpoint_id = k.cid"
    " AND w.task_id = k.task AND w.idx = k.idx LIMIT 1) AS w"
)


# -- rows ---------------------------------------------------------------------------------


def channels_from(
    names: Sequence[str], versions: Sequence[str], values: Sequence[Any] | None, types: Any
) -> dict[str, Channel]:
    """Channels from a row's references and the values aggregated for them."""
    out: dict[str, Channel] = {}
    for i, (name, version) in enumerate(zip(names, versions, strict=True)):
        value = values[i] if values is not None else None
        if value is None:  # never stored, or collected: a reference, as it was saved
            out[name] = Channel(version)
        else:
            out[name] = Channel(version, bytes(value), content_type=types[i])
    return out


def checkpoint_from(row: Sequence[Any], *, writes: bool) -> Checkpoint:
    """A checkpoint from ``COLUMNS`` (and ``WRITE_COLUMNS`` when ``writes``)."""
    (eid, ns, cid, version, parent_id, node, next_nodes, ctype, state, meta, at) = row[:11]
    pending: list[PendingWrite] = []
    if writes and row[15] is not None:
        tasks, idxs, chans, vals, types, paths = row[15:21]
        pending = [
            PendingWrite(task, idx, chan, bytes(val), content_type=ct, task_path=path)
            for task, idx, chan, val, ct, path in zip(
                tasks, idxs, chans, vals, types, paths, strict=True
            )
        ]
    return Checkpoint(
        eid,
        bytes(state),
        namespace=ns,
        checkpoint_id=cid,
        parent_id=parent_id,
        node=node,
        next_nodes=tuple(next_nodes),
        content_type=ctype,
        metadata=json.loads(meta),
        # The session's TimeZone decides the tzinfo psycopg returns; normalize.
        created_at=at.astimezone(UTC),
        version=version,
        pending_writes=pending,
        channels=channels_from(row[11], row[12], row[13], row[14]),
    )


# -- planning a page of ancestors ---------------------------------------------------------


class AncestorPlan:
    """What a page of ancestors takes: per checkpoint, the channel names it keeps and
    the keys of the writes it keeps; and the values to fetch for them."""

    def __init__(self) -> None:
        self.taken: builtins.list[tuple[set[str], builtins.list[tuple[str, int]]]] = []
        self.states: builtins.list[str] = []
        self.channels: dict[tuple[str, str], None] = {}  # distinct, in order
        self.writes: builtins.list[tuple[str, str, int]] = []
        self.refused: str | None = None  # the checkpoint the page had no room for


def plan_walk(chain: builtins.list[Any], walk: AncestorWalk) -> AncestorPlan:
    """Walk the chain as ``walk`` will, on sizes alone (``AncestorWalk.take`` and
    ``weight``), to learn which values the page needs. The real walk runs on the
    fetched checkpoints afterwards and has the last word."""
    plan = AncestorPlan()
    remaining = None if walk.channels is None else builtins.list(walk.channels)
    used = 0
    for entry in chain:
        cid, state_size, names, versions, sizes = (
            entry[1],
            entry[7],
            entry[10],
            entry[11],
            entry[12],
        )
        keep = None if remaining is None else set(remaining)
        kept = {n for n in names if keep is None or n in keep}
        size = (state_size if walk.include_state else 0) + 512
        size += sum(max(s, 0) + 64 for n, s in zip(names, sizes, strict=True) if n in kept)
        keys: builtins.list[tuple[str, int]] = []
        if entry[13] is not None:
            for task, idx, channel, wsize in zip(
                entry[13], entry[14], entry[15], entry[16], strict=True
            ):
                if keep is None or channel in keep:
                    keys.append((task, idx))
                    size += wsize + 64
        if plan.taken and (len(plan.taken) >= walk.limit or used + size > walk.max_bytes):
            plan.refused = cid
            break
        used += size
        plan.taken.append((kept, keys))
        if walk.include_state:
            plan.states.append(cid)
        for pair in zip(names, versions, strict=True):
            if pair[0] in kept:
                plan.channels[pair] = None
        plan.writes += [(cid, task, idx) for task, idx in keys]
        if remaining is not None:
            remaining = [n for n in remaining if n not in names]
            if not remaining:
                break
        if not entry[3] or len(plan.taken) >= walk.limit:
            break
    return plan
