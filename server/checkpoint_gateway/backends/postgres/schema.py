"""The tables and functions of a PostgreSQL store, and the migrations that make them.

Numbered migrations: ``MIGRATIONS[i]`` is version ``i + 1``; ``migrate`` applies the
missing ones under an advisory lock, so replicas starting together serialize.
"""

from __future__ import annotations

import hashlib
from typing import Any, LiteralString

from psycopg import AsyncConnection, sql

from .settings import check_identifier

__all__ = ["MIGRATIONS", "lock_key", "migrate", "table_names"]

# The save path from schema version 4 on: ``{save_many}`` (version 2) plus channels, the
# executions index and the orphan rule. Read ``_save_many`` in store.py first.
#
# Channels. Items name their channels in the flat ``p_ch_*`` arrays (``p_ch_items``: the
# item of each entry, ascending; ``p_ch_values``: NULL for a reference). One query numbers
# each (lineage, name, version) a "pair", finds which pairs the lineage held before the
# batch, and compares every value sent with the stored one in SQL (nothing stored comes
# back): each value gets a class, 0 when it equals the stored value, and equal values
# share one. Then items are decided in order, as single saves would be: a reference needs
# a held pair, a value under a held pair must have its class. A pair is held while a
# checkpoint carrying it remains: a stored item of the batch not pruned since, or (with
# retention) a row from before the batch that retention has not reached yet. New values
# are inserted once at the end, only for pairs a remaining checkpoint carries.
#
# Retention, as pruning after each save would leave it: the rows from before the batch
# that went, and the batch's own items pruned within it, take their writes with them;
# orphan writes stored before the newest of them go too; channel values no remaining
# checkpoint carries are collected. TTL: expired rows go first, with the writes stored
# while they lived (``p_ttl``: one stored later under the same id is for a checkpoint
# still to come); orphan writes older than the TTL go for the batch's own ids (before
# those are saved, so that they never show), and for the whole lineage once none of its
# checkpoints is left.
SAVE_BATCH: LiteralString = """
CREATE FUNCTION {save_batch}(
    p_locks bigint[],
    p_cutoff timestamptz,
    p_ttl interval,
    p_keep bigint,
    p_leids text[],
    p_lnss text[],
    p_lineage integer[],
    p_prev integer[],
    p_cids text[],
    p_expected bigint[],
    p_parent_ids text[],
    p_nodes text[],
    p_next_nodes text[],
    p_next_counts integer[],
    p_content_types text[],
    p_states bytea[],
    p_metadata_texts text[],
    p_metadatas jsonb[],
    p_created_ats timestamptz[],
    p_ch_items integer[],
    p_ch_names text[],
    p_ch_versions text[],
    p_ch_types text[],
    p_ch_values bytea[]
) RETURNS TABLE (
    r_item integer,
    r_outcome text,
    r_latest bigint,
    r_source integer,
    r_checkpoint_id text,
    r_version bigint,
    r_parent_id text,
    r_node text,
    r_next_nodes text[],
    r_content_type text,
    r_state bytea,
    r_metadata_text text,
    r_created_at timestamptz,
    r_channel text,
    r_channel_names text[],
    r_channel_versions text[]
)
LANGUAGE plpgsql
AS $save_batch$
DECLARE
    -- Per lineage (p_leids order):
    v_latest bigint[];      -- its latest version so far
    v_count integer[];      -- items of the batch stored in it so far
    v_gone_at timestamptz[];  -- retention: the newest checkpoint removed (NULL: none)
    v_gone_ch boolean[];    -- retention: a checkpoint removed carried channels
    -- Per item:
    v_found {checkpoints}[];  -- the row of its id from before the batch
    v_newer bigint[];       -- rows newer than that one (at most p_keep)
    v_outcome text[];       -- s(tored), b(atch row), d(b row), c(as lost),
                            -- m(issing channel value), x (other channel value)
    v_source integer[];     -- the item holding the row of its id after it
    v_pos integer[];        -- stored: v_count of its lineage right after it
    v_version bigint[];     -- stored: its version
    v_off integer[];        -- where its next nodes start in p_next_nodes
    v_choff integer[];      -- where its channels start in p_ch_*
    v_chcnt integer[];      -- how many channels it has
    -- Per channel entry (p_ch_* order):
    v_pair integer[];       -- its pair
    v_class integer[];      -- with a value: the value's class
    v_before boolean[];     -- its pair was stored before the batch
    v_new boolean[];        -- its item stores the value (decided with the item)
    -- Per pair:
    v_plin integer[];       -- its lineage
    v_pdb boolean[];        -- stored before the batch
    v_prank bigint[];       -- rows from before the batch newer than the newest of them
                            -- that carries it (p_keep: none does); read when needed
    v_pclass integer[];     -- the class of the value held, while one is
    v_plast integer[];      -- v_pos of the last stored item carrying it
    v_pstore integer[];     -- the entry whose value the batch stored for it last
    v_stored integer[] := '{{}}';
    v_known text[] := '{{}}';  -- ids of the batch already stored (any lineage)
    v_gone_ids text[] := '{{}}';    -- retention: ids removed, with their lineages
    v_gone_lin integer[] := '{{}}';
    v_ids text[];
    v_at timestamptz;
    v_carried boolean;
    v_row {checkpoints};
    v_key bigint;
    v_next integer := 0;
    v_chnext integer := 0;
    v_l integer;
    v_src integer;
    v_kind text;            -- the row of the item's id: n(one), d(b), b(atch)
    v_p integer;
    v_held boolean;
    v_bad text;
    v_bad_name text;
    v_n bigint;
    v_ver bigint;
BEGIN
    -- Every lock of the batch first, in ascending order (the caller sorts them), so
    -- batches never wait for each other in a cycle; a single save of an older replica
    -- takes one of them.
    FOREACH v_key IN ARRAY p_locks LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;
    FOR l IN 1 .. cardinality(p_leids) LOOP
        IF p_cutoff IS NOT NULL THEN
            -- An expired checkpoint takes the writes stored while it lived; those
            -- stored under its id since are for a checkpoint still to come.
            WITH gone AS (
                DELETE FROM {checkpoints} AS c
                WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                AND c.created_at < p_cutoff
                RETURNING c.checkpoint_id, c.created_at,
                    cardinality(c.channel_names) > 0 AS carried
            ), gone_writes AS (
                DELETE FROM {writes} AS w USING gone AS g
                WHERE w.execution_id = p_leids[l] AND w.namespace = p_lnss[l]
                AND w.checkpoint_id = g.checkpoint_id AND w.created_at < g.created_at + p_ttl
            )
            SELECT count(*), coalesce(bool_or(g.carried), false) INTO v_n, v_carried
            FROM gone AS g;
            IF v_carried THEN
                PERFORM {collect}(p_leids[l], p_lnss[l]);
            END IF;
            IF v_n > 0 AND NOT EXISTS (
                SELECT FROM {checkpoints} AS c
                WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l])
            THEN
                DELETE FROM {writes} AS w
                WHERE w.execution_id = p_leids[l] AND w.namespace = p_lnss[l]
                AND w.created_at < p_cutoff;
            ELSE
                DELETE FROM {writes} AS w
                WHERE w.execution_id = p_leids[l] AND w.namespace = p_lnss[l]
                AND w.checkpoint_id = ANY (p_cids) AND w.created_at < p_cutoff
                AND NOT EXISTS (
                    SELECT FROM {checkpoints} AS c
                    WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                    AND c.checkpoint_id = w.checkpoint_id);
            END IF;
        END IF;
        -- ORDER BY ... LIMIT 1, not max(): a backward scan of the version index reads
        -- one entry whatever the planner's statistics say.
        v_latest[l] := coalesce((
            SELECT c.version FROM {checkpoints} AS c
            WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
            ORDER BY c.version DESC LIMIT 1), 0);
        v_count[l] := 0;
        -- Which of the batch's ids already exist: one query per lineage.
        v_known := v_known || ARRAY(
            SELECT c.checkpoint_id FROM {checkpoints} AS c
            WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
            AND c.checkpoint_id = ANY (p_cids));
    END LOOP;
    IF cardinality(p_ch_names) > 0 THEN
        SELECT array_agg(s.pair ORDER BY s.ord), array_agg(s.cls ORDER BY s.ord),
            array_agg(s.stored ORDER BY s.ord)
        INTO v_pair, v_class, v_before
        FROM (
            SELECT x.ord,
                dense_rank() OVER (ORDER BY x.lin, x.name, x.ver) AS pair,
                CASE WHEN x.val IS NULL THEN NULL
                    WHEN b.value = x.val AND b.content_type = x.ctype THEN 0
                    ELSE dense_rank() OVER (
                        PARTITION BY x.lin, x.name, x.ver ORDER BY x.val, x.ctype)
                END AS cls,
                b.channel IS NOT NULL AS stored
            FROM (
                SELECT u.ord, p_lineage[u.item] AS lin, u.name, u.ver, u.val, u.ctype
                FROM unnest(p_ch_items, p_ch_names, p_ch_versions, p_ch_values, p_ch_types)
                    WITH ORDINALITY AS u (item, name, ver, val, ctype, ord)
            ) AS x
            -- A probe of the primary key per channel, whatever the statistics say.
            LEFT JOIN LATERAL (
                SELECT b.value, b.content_type, b.channel FROM {blobs} AS b
                WHERE b.execution_id = p_leids[x.lin] AND b.namespace = p_lnss[x.lin]
                AND b.channel = x.name AND b.version = x.ver LIMIT 1
            ) AS b ON true
        ) AS s;
        FOR k IN 1 .. cardinality(p_ch_names) LOOP
            v_p := v_pair[k];
            v_plin[v_p] := p_lineage[p_ch_items[k]];
            v_pdb[v_p] := v_before[k];
            IF v_before[k] THEN
                v_pclass[v_p] := 0;
            END IF;
            v_chcnt[p_ch_items[k]] := coalesce(v_chcnt[p_ch_items[k]], 0) + 1;
        END LOOP;
    END IF;
    FOR i IN 1 .. cardinality(p_cids) LOOP
        v_l := p_lineage[i];
        v_off[i] := v_next;
        v_next := v_next + p_next_counts[i];
        v_chcnt[i] := coalesce(v_chcnt[i], 0);
        v_choff[i] := v_chnext;
        v_chnext := v_chnext + v_chcnt[i];
        r_item := i;
        r_latest := v_latest[v_l];
        r_source := NULL;
        r_channel := NULL;
        -- The row of this id: as the previous item with the id left it, or as it was
        -- before the batch.
        IF p_prev[i] IS NOT NULL THEN
            v_src := v_source[p_prev[i]];
            v_kind := CASE WHEN v_src IS NULL THEN 'n'
                WHEN v_outcome[v_src] = 's' THEN 'b' ELSE 'd' END;
        ELSIF NOT (p_cids[i] = ANY (v_known)) THEN
            v_src := NULL;
            v_kind := 'n';
        ELSE
            SELECT * INTO v_row FROM {checkpoints} AS c
            WHERE c.execution_id = p_leids[v_l] AND c.namespace = p_lnss[v_l]
            AND c.checkpoint_id = p_cids[i];
            IF FOUND THEN
                v_src := i;
                v_kind := 'd';
                v_found[i] := v_row;
                IF p_keep IS NOT NULL THEN
                    v_newer[i] := (SELECT count(*) FROM (
                        SELECT FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[v_l]
                        AND c.namespace = p_lnss[v_l]
                        AND c.version > v_row.version LIMIT p_keep) AS newer);
                END IF;
            ELSE
                v_src := NULL;
                v_kind := 'n';
            END IF;
        END IF;
        -- Still there? A row goes once p_keep newer rows exist: at the save that makes
        -- it surplus.
        IF v_kind <> 'n' AND (p_keep IS NULL OR CASE v_kind
            WHEN 'd' THEN v_count[v_l] = 0
                OR v_newer[v_src] + v_count[v_l] < p_keep
            ELSE v_count[v_l] - v_pos[v_src] < p_keep END)
        THEN
            v_outcome[i] := v_kind;
            v_source[i] := v_src;
            IF v_kind = 'b' THEN
                r_source := v_src;
            END IF;
        ELSE
            -- A new checkpoint: its channels first, then compare-and-set.
            v_bad := NULL;
            FOR k IN v_choff[i] + 1 .. v_choff[i] + v_chcnt[i] LOOP
                v_p := v_pair[k];
                v_held := v_plast[v_p] IS NOT NULL
                    AND (p_keep IS NULL OR v_count[v_l] - v_plast[v_p] < p_keep);
                IF NOT v_held AND v_pdb[v_p] THEN
                    IF p_keep IS NULL OR v_count[v_l] = 0 THEN
                        v_held := true;
                    ELSE
                        IF v_prank[v_p] IS NULL THEN
                            SELECT c.version INTO v_ver FROM {checkpoints} AS c
                            WHERE c.execution_id = p_leids[v_l] AND c.namespace = p_lnss[v_l]
                            AND EXISTS (
                                SELECT FROM unnest(c.channel_names, c.channel_versions)
                                    AS u (name, ver)
                                WHERE u.name = p_ch_names[k] AND u.ver = p_ch_versions[k])
                            ORDER BY c.version DESC LIMIT 1;
                            IF FOUND THEN
                                v_prank[v_p] := (SELECT count(*) FROM (
                                    SELECT FROM {checkpoints} AS c
                                    WHERE c.execution_id = p_leids[v_l]
                                    AND c.namespace = p_lnss[v_l]
                                    AND c.version > v_ver LIMIT p_keep) AS newer);
                            ELSE
                                v_prank[v_p] := p_keep;
                            END IF;
                        END IF;
                        v_held := v_prank[v_p] + v_count[v_l] < p_keep;
                    END IF;
                END IF;
                v_new[k] := false;
                IF p_ch_values[k] IS NULL THEN
                    IF NOT v_held THEN
                        v_bad := 'm';
                    END IF;
                ELSIF NOT v_held THEN
                    v_new[k] := true;
                ELSIF v_pclass[v_p] <> v_class[k] THEN
                    v_bad := 'x';
                END IF;
                IF v_bad IS NOT NULL THEN
                    v_bad_name := p_ch_names[k];
                    EXIT;
                END IF;
            END LOOP;
            IF v_bad IS NOT NULL THEN
                v_outcome[i] := v_bad;
                r_channel := v_bad_name;
            ELSIF p_expected[i] IS NULL OR p_expected[i] = v_latest[v_l] THEN
                v_latest[v_l] := v_latest[v_l] + 1;
                v_count[v_l] := v_count[v_l] + 1;
                v_outcome[i] := 's';
                v_source[i] := i;
                v_pos[i] := v_count[v_l];
                v_version[i] := v_latest[v_l];
                v_stored := v_stored || i;
                FOR k IN v_choff[i] + 1 .. v_choff[i] + v_chcnt[i] LOOP
                    v_p := v_pair[k];
                    IF v_new[k] THEN
                        v_pclass[v_p] := v_class[k];
                        v_pstore[v_p] := k;
                    END IF;
                    v_plast[v_p] := v_pos[i];
                END LOOP;
            ELSE
                v_outcome[i] := 'c';
            END IF;
        END IF;
        r_outcome := v_outcome[i];
        IF r_outcome = 'd' THEN
            v_row := v_found[v_src];
            r_checkpoint_id := v_row.checkpoint_id;
            r_version := v_row.version;
            r_parent_id := v_row.parent_id;
            r_node := v_row.node;
            r_next_nodes := v_row.next_nodes;
            r_content_type := v_row.content_type;
            r_state := v_row.state;
            r_metadata_text := v_row.metadata_text;
            r_created_at := v_row.created_at;
            r_channel_names := v_row.channel_names;
            r_channel_versions := v_row.channel_versions;
            RETURN NEXT;
            r_checkpoint_id := NULL;
            r_version := NULL;
            r_parent_id := NULL;
            r_node := NULL;
            r_next_nodes := NULL;
            r_content_type := NULL;
            r_state := NULL;
            r_metadata_text := NULL;
            r_created_at := NULL;
            r_channel_names := NULL;
            r_channel_versions := NULL;
        ELSE
            RETURN NEXT;
        END IF;
    END LOOP;
    -- The answers are out; now what pruning after each save would leave. First the
    -- orphan rule as each of those prunings applied it: a stored item that came after
    -- prunings of its lineage was not saved yet when they ran, so its writes stored
    -- before the newest checkpoint they removed went then.
    IF p_keep IS NOT NULL THEN
        FOREACH v_src IN ARRAY v_stored LOOP
            v_l := p_lineage[v_src];
            CONTINUE WHEN v_pos[v_src] = 1 OR v_count[v_l] - v_pos[v_src] >= p_keep;
            SELECT max(p_created_ats[s.i]) INTO v_at FROM unnest(v_stored) AS s (i)
            WHERE p_lineage[s.i] = v_l AND v_pos[s.i] <= v_pos[v_src] - 1 - p_keep;
            v_at := greatest(v_at, (
                SELECT c.created_at FROM {checkpoints} AS c
                WHERE c.execution_id = p_leids[v_l] AND c.namespace = p_lnss[v_l]
                ORDER BY c.version DESC
                LIMIT 1 OFFSET greatest(p_keep - v_pos[v_src] + 1, 0)));
            CONTINUE WHEN v_at IS NULL;
            DELETE FROM {writes} AS w
            WHERE w.execution_id = p_leids[v_l] AND w.namespace = p_lnss[v_l]
            AND w.checkpoint_id = p_cids[v_src] AND w.created_at < v_at;
        END LOOP;
    END IF;
    -- Then the newest p_keep rows of each lineage the batch saved to, its own items
    -- counted. The rows
    -- from before the batch go first (an id saved again after its row was pruned must
    -- not collide with it); items pruned within the batch are never inserted.
    IF p_keep IS NOT NULL THEN
        FOR l IN 1 .. cardinality(p_leids) LOOP
            CONTINUE WHEN v_count[l] = 0;
            WITH gone AS (
                DELETE FROM {checkpoints} AS c
                WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                AND c.version <= (
                    SELECT d.version FROM {checkpoints} AS d
                    WHERE d.execution_id = p_leids[l] AND d.namespace = p_lnss[l]
                    ORDER BY d.version DESC
                    LIMIT 1 OFFSET greatest(p_keep - v_count[l], 0))
                RETURNING c.checkpoint_id, c.created_at,
                    cardinality(c.channel_names) > 0 AS carried
            )
            SELECT array_agg(g.checkpoint_id), max(g.created_at), bool_or(g.carried)
            INTO v_ids, v_at, v_carried
            FROM gone AS g;
            SELECT coalesce(v_ids, '{{}}') || coalesce(array_agg(p_cids[s.i]), '{{}}'),
                greatest(v_at, max(p_created_ats[s.i])),
                coalesce(v_carried, false) OR coalesce(bool_or(v_chcnt[s.i] > 0), false)
            INTO v_ids, v_at, v_carried
            FROM unnest(v_stored) AS s (i)
            WHERE p_lineage[s.i] = l AND v_count[l] - v_pos[s.i] >= p_keep;
            IF v_at IS NOT NULL THEN
                v_gone_at[l] := v_at;
                v_gone_ch[l] := v_carried;
                v_gone_ids := v_gone_ids || v_ids;
                v_gone_lin := v_gone_lin || array_fill(l, ARRAY[cardinality(v_ids)]);
            END IF;
        END LOOP;
    END IF;
    INSERT INTO {checkpoints} (execution_id, namespace, checkpoint_id, version,
        parent_id, node, next_nodes, content_type, state, metadata,
        metadata_text, created_at, channel_names, channel_versions)
    SELECT p_leids[p_lineage[s.i]], p_lnss[p_lineage[s.i]], p_cids[s.i],
        v_version[s.i], p_parent_ids[s.i], p_nodes[s.i],
        p_next_nodes[v_off[s.i] + 1 : v_off[s.i] + p_next_counts[s.i]],
        p_content_types[s.i], p_states[s.i], p_metadatas[s.i],
        p_metadata_texts[s.i], p_created_ats[s.i],
        p_ch_names[v_choff[s.i] + 1 : v_choff[s.i] + v_chcnt[s.i]],
        p_ch_versions[v_choff[s.i] + 1 : v_choff[s.i] + v_chcnt[s.i]]
    FROM unnest(v_stored) AS s (i)
    WHERE p_keep IS NULL OR v_count[p_lineage[s.i]] - v_pos[s.i] < p_keep;
    -- What retention removed takes its writes along, and the orphan writes stored
    -- before the newest checkpoint it removed (checked after the insert: the batch's
    -- own checkpoints are not orphans); then the channel values nothing carries.
    IF p_keep IS NOT NULL THEN
        FOR l IN 1 .. cardinality(p_leids) LOOP
            CONTINUE WHEN v_gone_at[l] IS NULL;
            DELETE FROM {writes} AS w
            WHERE w.execution_id = p_leids[l] AND w.namespace = p_lnss[l]
            AND (w.checkpoint_id = ANY (ARRAY(
                    SELECT g.id FROM unnest(v_gone_ids, v_gone_lin) AS g (id, lin)
                    WHERE g.lin = l))
                OR w.created_at < v_gone_at[l] AND NOT EXISTS (
                    SELECT FROM {checkpoints} AS c
                    WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                    AND c.checkpoint_id = w.checkpoint_id));
            IF v_gone_ch[l] THEN
                PERFORM {collect}(p_leids[l], p_lnss[l]);
            END IF;
        END LOOP;
    END IF;
    -- The values the batch stored that a remaining checkpoint carries. A row already
    -- there is one retention let go within the batch (the pair was not held when
    -- the value was stored), so the batch's value replaces it.
    IF cardinality(p_ch_names) > 0 THEN
        INSERT INTO {blobs} AS b (execution_id, namespace, channel, version,
            content_type, value)
        SELECT p_leids[v_plin[p.p]], p_lnss[v_plin[p.p]], p_ch_names[v_pstore[p.p]],
            p_ch_versions[v_pstore[p.p]], p_ch_types[v_pstore[p.p]],
            p_ch_values[v_pstore[p.p]]
        FROM generate_series(1, cardinality(v_plin)) AS p (p)
        WHERE v_pstore[p.p] IS NOT NULL
        AND (p_keep IS NULL OR v_count[v_plin[p.p]] - v_plast[p.p] < p_keep)
        ON CONFLICT (execution_id, namespace, channel, version) DO UPDATE
        SET content_type = excluded.content_type, value = excluded.value;
    END IF;
    -- The executions index, in execution id order (as every writer of these rows
    -- locks them), after the lineage locks.
    INSERT INTO {executions} AS e (execution_id, updated_at)
    SELECT p_leids[p_lineage[s.i]] COLLATE "C", max(p_created_ats[s.i])
    FROM unnest(v_stored) AS s (i)
    GROUP BY 1 ORDER BY 1
    ON CONFLICT (execution_id) DO UPDATE SET updated_at = excluded.updated_at
    WHERE e.updated_at < excluded.updated_at;
END
$save_batch$
"""

# Each migration is a description and the statements that make it. Placeholders name
# identifiers (composed with sql.Identifier), never values. Never edit an applied entry;
# append a new one.
MIGRATIONS: list[tuple[str, list[LiteralString]]] = [
    (
        "checkpoints and pending writes",
        [
            """
            CREATE TABLE {checkpoints} (
                execution_id text COLLATE "C" NOT NULL,
                namespace text COLLATE "C" NOT NULL,
                checkpoint_id text COLLATE "C" NOT NULL,
                version bigint NOT NULL,
                parent_id text NOT NULL,
                node text NOT NULL,
                next_nodes text[] NOT NULL,
                content_type text NOT NULL,
                state bytea NOT NULL,
                metadata jsonb NOT NULL,
                metadata_text text NOT NULL,
                created_at timestamptz NOT NULL,
                CONSTRAINT {cp_pkey} PRIMARY KEY (execution_id, namespace, checkpoint_id),
                CONSTRAINT {cp_version} UNIQUE (execution_id, namespace, version)
            )
            """,
            "CREATE INDEX {cp_metadata} ON {checkpoints} USING gin (metadata jsonb_path_ops)",
            """
            CREATE TABLE {writes} (
                execution_id text COLLATE "C" NOT NULL,
                namespace text COLLATE "C" NOT NULL,
                checkpoint_id text COLLATE "C" NOT NULL,
                task_id text COLLATE "C" NOT NULL,
                idx integer NOT NULL,
                channel text NOT NULL,
                value bytea NOT NULL,
                content_type text NOT NULL,
                task_path text NOT NULL,
                CONSTRAINT {w_pkey}
                    PRIMARY KEY (execution_id, namespace, checkpoint_id, task_id, idx),
                CONSTRAINT {w_checkpoint}
                    FOREIGN KEY (execution_id, namespace, checkpoint_id)
                    REFERENCES {checkpoints} ON DELETE CASCADE
            )
            """,
        ],
    ),
    (
        "save_many: a batch of saves in one statement",
        [
            # One call stores a batch in one round trip and one transaction, deciding
            # every item as a single save would, in order (see _save_many). Lookups are
            # primary-key and version-index probes (plain statements, so cached plans
            # stay index scans); the decisions are made in memory; then the stored items
            # are inserted in one statement and each lineage is pruned once, to what
            # pruning after each save would leave. OUT columns are prefixed (r_) so that
            # they never shadow the table's columns.
            """
            CREATE FUNCTION {save_many}(
                p_locks bigint[],
                p_cutoff timestamptz,
                p_keep bigint,
                p_leids text[],
                p_lnss text[],
                p_lineage integer[],
                p_prev integer[],
                p_cids text[],
                p_expected bigint[],
                p_parent_ids text[],
                p_nodes text[],
                p_next_nodes text[],
                p_next_counts integer[],
                p_content_types text[],
                p_states bytea[],
                p_metadata_texts text[],
                p_metadatas jsonb[],
                p_created_ats timestamptz[]
            ) RETURNS TABLE (
                r_item integer,
                r_outcome text,
                r_latest bigint,
                r_source integer,
                r_checkpoint_id text,
                r_version bigint,
                r_parent_id text,
                r_node text,
                r_next_nodes text[],
                r_content_type text,
                r_state bytea,
                r_metadata_text text,
                r_created_at timestamptz
            )
            LANGUAGE plpgsql
            AS $save_many$
            DECLARE
                -- Per lineage (p_leids order):
                v_latest bigint[];      -- its latest version so far (NULL: not read yet)
                v_count integer[];      -- items of the batch stored in it so far
                -- Per item:
                v_found {checkpoints}[];  -- the row of its id from before the batch
                v_newer bigint[];       -- rows newer than that one (at most p_keep)
                v_outcome text[];       -- s(tored), b(atch row), d(b row), c(as lost)
                v_source integer[];     -- the item holding the row of its id after it
                v_pos integer[];        -- stored: v_count of its lineage right after it
                v_version bigint[];     -- stored: its version
                v_off integer[];        -- where its next nodes start in p_next_nodes
                v_stored integer[] := '{{}}';
                v_known text[] := '{{}}';  -- ids of the batch already stored (any lineage)
                v_row {checkpoints};
                v_key bigint;
                v_next integer := 0;
                v_l integer;
                v_src integer;
                v_kind text;            -- the row of the item's id: n(one), d(b), b(atch)
            BEGIN
                -- Every lock of the batch first, in ascending order (the caller sorts
                -- them), so batches never wait for each other in a cycle; a single save
                -- of an older replica takes one of them.
                FOREACH v_key IN ARRAY p_locks LOOP
                    PERFORM pg_advisory_xact_lock(v_key);
                END LOOP;
                FOR l IN 1 .. cardinality(p_leids) LOOP
                    IF p_cutoff IS NOT NULL THEN
                        DELETE FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                        AND c.created_at < p_cutoff;
                    END IF;
                    -- ORDER BY ... LIMIT 1, not max(): a backward scan of the version
                    -- index reads one entry whatever the planner's statistics say (with
                    -- stale ones it aggregated over the whole lineage).
                    v_latest[l] := coalesce((
                        SELECT c.version FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                        ORDER BY c.version DESC LIMIT 1), 0);
                    v_count[l] := 0;
                    -- Which of the batch's ids already exist: one query per lineage, so
                    -- that items with new ids (nearly all) need no lookup of their own.
                    -- (With stale statistics the planner may walk the lineage to answer
                    -- a lookup by id; once per lineage, not once per item.)
                    v_known := v_known || ARRAY(
                        SELECT c.checkpoint_id FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                        AND c.checkpoint_id = ANY (p_cids));
                END LOOP;
                FOR i IN 1 .. cardinality(p_cids) LOOP
                    v_l := p_lineage[i];
                    v_off[i] := v_next;
                    v_next := v_next + p_next_counts[i];
                    r_item := i;
                    r_latest := v_latest[v_l];
                    r_source := NULL;
                    -- The row of this id: as the previous item with the id left it, or
                    -- as it was before the batch.
                    IF p_prev[i] IS NOT NULL THEN
                        v_src := v_source[p_prev[i]];
                        v_kind := CASE WHEN v_src IS NULL THEN 'n'
                            WHEN v_outcome[v_src] = 's' THEN 'b' ELSE 'd' END;
                    ELSIF NOT (p_cids[i] = ANY (v_known)) THEN
                        v_src := NULL;
                        v_kind := 'n';
                    ELSE
                        SELECT * INTO v_row FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[v_l] AND c.namespace = p_lnss[v_l]
                        AND c.checkpoint_id = p_cids[i];
                        IF FOUND THEN
                            v_src := i;
                            v_kind := 'd';
                            v_found[i] := v_row;
                            IF p_keep IS NOT NULL THEN
                                v_newer[i] := (SELECT count(*) FROM (
                                    SELECT FROM {checkpoints} AS c
                                    WHERE c.execution_id = p_leids[v_l]
                                    AND c.namespace = p_lnss[v_l]
                                    AND c.version > v_row.version LIMIT p_keep) AS newer);
                            END IF;
                        ELSE
                            v_src := NULL;
                            v_kind := 'n';
                        END IF;
                    END IF;
                    -- Still there? A row goes once p_keep newer rows exist: at the save
                    -- that makes it surplus.
                    IF v_kind <> 'n' AND (p_keep IS NULL OR CASE v_kind
                        WHEN 'd' THEN v_count[v_l] = 0
                            OR v_newer[v_src] + v_count[v_l] < p_keep
                        ELSE v_count[v_l] - v_pos[v_src] < p_keep END)
                    THEN
                        v_outcome[i] := v_kind;
                        v_source[i] := v_src;
                        IF v_kind = 'b' THEN
                            r_source := v_src;
                        END IF;
                    ELSIF p_expected[i] IS NULL OR p_expected[i] = v_latest[v_l] THEN
                        v_latest[v_l] := v_latest[v_l] + 1;
                        v_count[v_l] := v_count[v_l] + 1;
                        v_outcome[i] := 's';
                        v_source[i] := i;
                        v_pos[i] := v_count[v_l];
                        v_version[i] := v_latest[v_l];
                        v_stored := v_stored || i;
                    ELSE
                        v_outcome[i] := 'c';
                    END IF;
                    r_outcome := v_outcome[i];
                    IF r_outcome = 'd' THEN
                        v_row := v_found[v_src];
                        r_checkpoint_id := v_row.checkpoint_id;
                        r_version := v_row.version;
                        r_parent_id := v_row.parent_id;
                        r_node := v_row.node;
                        r_next_nodes := v_row.next_nodes;
                        r_content_type := v_row.content_type;
                        r_state := v_row.state;
                        r_metadata_text := v_row.metadata_text;
                        r_created_at := v_row.created_at;
                        RETURN NEXT;
                        r_checkpoint_id := NULL;
                        r_version := NULL;
                        r_parent_id := NULL;
                        r_node := NULL;
                        r_next_nodes := NULL;
                        r_content_type := NULL;
                        r_state := NULL;
                        r_metadata_text := NULL;
                        r_created_at := NULL;
                    ELSE
                        RETURN NEXT;
                    END IF;
                END LOOP;
                -- The answers are out (rows found before the batch included); now
                -- what pruning after each save would leave: the newest p_keep rows of
                -- each lineage the batch saved to, its own items counted. The rows from
                -- before the batch go first (an id saved again after its row was pruned
                -- must not collide with it); items pruned within the batch are never
                -- inserted.
                IF p_keep IS NOT NULL THEN
                    FOR l IN 1 .. cardinality(p_leids) LOOP
                        CONTINUE WHEN v_count[l] = 0;
                        DELETE FROM {checkpoints} AS c
                        WHERE c.execution_id = p_leids[l] AND c.namespace = p_lnss[l]
                        AND c.version <= (
                            SELECT d.version FROM {checkpoints} AS d
                            WHERE d.execution_id = p_leids[l] AND d.namespace = p_lnss[l]
                            ORDER BY d.version DESC
                            LIMIT 1 OFFSET greatest(p_keep - v_count[l], 0));
                    END LOOP;
                END IF;
                INSERT INTO {checkpoints} (execution_id, namespace, checkpoint_id, version,
                    parent_id, node, next_nodes, content_type, state, metadata,
                    metadata_text, created_at)
                SELECT p_leids[p_lineage[s.i]], p_lnss[p_lineage[s.i]], p_cids[s.i],
                    v_version[s.i], p_parent_ids[s.i], p_nodes[s.i],
                    p_next_nodes[v_off[s.i] + 1 : v_off[s.i] + p_next_counts[s.i]],
                    p_content_types[s.i], p_states[s.i], p_metadatas[s.i],
                    p_metadata_texts[s.i], p_created_ats[s.i]
                FROM unnest(v_stored) AS s (i)
                WHERE p_keep IS NULL OR v_count[p_lineage[s.i]] - v_pos[s.i] < p_keep;
            END
            $save_many$
            """,
        ],
    ),
    (
        "channel values, writes before their checkpoint, an index of executions",
        [
            # Constant defaults: PostgreSQL adds these columns without rewriting the table.
            """
            ALTER TABLE {checkpoints}
                ADD COLUMN channel_names text[] NOT NULL DEFAULT '{{}}',
                ADD COLUMN channel_versions text[] NOT NULL DEFAULT '{{}}'
            """,
            # Listings across the namespaces of an execution (and the TTL sweep, and
            # "does this execution hold live checkpoints") walk this, newest first.
            "CREATE INDEX {cp_created} ON {checkpoints} (execution_id, created_at)",
            # Writes may now come before their checkpoint. Rows from before this version
            # get the time of the upgrade; older replicas, which do not name the column,
            # get the time of their insert.
            """
            ALTER TABLE {writes}
                DROP CONSTRAINT {w_checkpoint},
                ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()
            """,
            """
            CREATE TABLE {blobs} (
                execution_id text COLLATE "C" NOT NULL,
                namespace text COLLATE "C" NOT NULL,
                channel text COLLATE "C" NOT NULL,
                version text COLLATE "C" NOT NULL,
                content_type text NOT NULL,
                value bytea NOT NULL,
                CONSTRAINT {b_pkey} PRIMARY KEY (execution_id, namespace, channel, version)
            )
            """,
            """
            CREATE TABLE {executions} (
                execution_id text COLLATE "C" NOT NULL,
                updated_at timestamptz NOT NULL,
                CONSTRAINT {e_pkey} PRIMARY KEY (execution_id)
            )
            """,
            "CREATE INDEX {e_updated} ON {executions} (updated_at DESC, execution_id DESC)",
            """
            INSERT INTO {executions} (execution_id, updated_at)
            SELECT execution_id, max(created_at) FROM {checkpoints} GROUP BY execution_id
            """,
        ],
    ),
    (
        "save_batch: channels, executions and the orphan rule in the batch's statement",
        [
            # The channel values of a lineage no checkpoint of it carries any more.
            # Reads the references of every checkpoint of the lineage: callers run it
            # only where checkpoints carrying channels went.
            """
            CREATE FUNCTION {collect}(p_eid text, p_ns text) RETURNS bigint
            LANGUAGE sql
            AS $collect$
                WITH used AS (
                    SELECT DISTINCT u.name, u.ver
                    FROM {checkpoints} AS c,
                        unnest(c.channel_names, c.channel_versions) AS u (name, ver)
                    WHERE c.execution_id = p_eid AND c.namespace = p_ns
                ), gone AS (
                    DELETE FROM {blobs} AS b
                    WHERE b.execution_id = p_eid AND b.namespace = p_ns
                    AND NOT EXISTS (
                        SELECT FROM used WHERE used.name = b.channel AND used.ver = b.version)
                    RETURNING 1
                )
                SELECT count(*) FROM gone
            $collect$
            """,
            SAVE_BATCH,
            # Replicas of the previous version call {save_many}; it now runs the same
            # code without channels, so their saves keep the executions index, the
            # orphan rule and channel collection too.
            """
            CREATE OR REPLACE FUNCTION {save_many}(
                p_locks bigint[],
                p_cutoff timestamptz,
                p_keep bigint,
                p_leids text[],
                p_lnss text[],
                p_lineage integer[],
                p_prev integer[],
                p_cids text[],
                p_expected bigint[],
                p_parent_ids text[],
                p_nodes text[],
                p_next_nodes text[],
                p_next_counts integer[],
                p_content_types text[],
                p_states bytea[],
                p_metadata_texts text[],
                p_metadatas jsonb[],
                p_created_ats timestamptz[]
            ) RETURNS TABLE (
                r_item integer,
                r_outcome text,
                r_latest bigint,
                r_source integer,
                r_checkpoint_id text,
                r_version bigint,
                r_parent_id text,
                r_node text,
                r_next_nodes text[],
                r_content_type text,
                r_state bytea,
                r_metadata_text text,
                r_created_at timestamptz
            )
            LANGUAGE sql
            AS $save_many$
                SELECT s.r_item, s.r_outcome, s.r_latest, s.r_source, s.r_checkpoint_id,
                    s.r_version, s.r_parent_id, s.r_node, s.r_next_nodes, s.r_content_type,
                    s.r_state, s.r_metadata_text, s.r_created_at
                FROM {save_batch}(p_locks, p_cutoff, p_created_ats[1] - p_cutoff, p_keep,
                    p_leids, p_lnss, p_lineage,
                    p_prev, p_cids, p_expected, p_parent_ids, p_nodes, p_next_nodes,
                    p_next_counts, p_content_types, p_states, p_metadata_texts, p_metadatas,
                    p_created_ats, '{{}}', '{{}}', '{{}}', '{{}}', '{{}}') AS s
            $save_many$
            """,
        ],
    ),
]


def table_names(schema: str, prefix: str) -> dict[str, sql.Composable]:
    # Constraint and index names stay within PostgreSQL's 63 bytes for a 41-char prefix.
    return {
        "schema": sql.Identifier(schema),
        "checkpoints": sql.Identifier(schema, prefix + "checkpoints"),
        "writes": sql.Identifier(schema, prefix + "writes"),
        "migrations": sql.Identifier(schema, prefix + "migrations"),
        "blobs": sql.Identifier(schema, prefix + "blobs"),
        "executions": sql.Identifier(schema, prefix + "executions"),
        "save_many": sql.Identifier(schema, prefix + "save_many"),
        "save_batch": sql.Identifier(schema, prefix + "save_batch"),
        "collect": sql.Identifier(schema, prefix + "collect_blobs"),
        "cp_pkey": sql.Identifier(prefix + "checkpoints_pkey"),
        "cp_version": sql.Identifier(prefix + "checkpoints_version"),
        "cp_metadata": sql.Identifier(prefix + "checkpoints_metadata"),
        "w_pkey": sql.Identifier(prefix + "writes_pkey"),
        "w_checkpoint": sql.Identifier(prefix + "writes_checkpoint_fkey"),
        "cp_created": sql.Identifier(prefix + "checkpoints_created"),
        "b_pkey": sql.Identifier(prefix + "blobs_pkey"),
        "e_pkey": sql.Identifier(prefix + "executions_pkey"),
        "e_updated": sql.Identifier(prefix + "executions_updated"),
    }


def lock_key(*parts: str) -> int:
    """A signed 64-bit advisory lock key for ``parts`` (which hold no NUL characters)."""
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def migrate(conn: AsyncConnection[Any], schema: str, table_prefix: str) -> list[int]:
    """Apply the pending ``MIGRATIONS`` on ``conn``; return the versions applied.

    Runs in a transaction of its own, or in a savepoint when ``conn`` is already in one
    (the advisory lock is then held until the caller's transaction ends).
    """
    check_identifier(schema, "schema")
    check_identifier(table_prefix, "table_prefix")
    names = table_names(schema, table_prefix)
    applied: list[int] = []
    async with conn.transaction():
        # Taken before anything is read, so a second replica waits here and then finds
        # every migration recorded; this also serializes CREATE SCHEMA, which is not safe
        # to run concurrently even with IF NOT EXISTS.
        lock = lock_key("checkpoint-gateway migrations", schema, table_prefix)
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
        found = await conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if await found.fetchone() is None:
            # Only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on
            # the database even when the schema exists.
            await conn.execute(sql.SQL("CREATE SCHEMA {schema}").format(**names))
        await conn.execute(
            sql.SQL(
                """
                CREATE TABLE IF NOT EXISTS {migrations} (
                    version integer PRIMARY KEY,
                    description text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            ).format(**names)
        )
        cur = await conn.execute(sql.SQL("SELECT version FROM {migrations}").format(**names))
        done = {row[0] for row in await cur.fetchall()}
        for version, (description, statements) in enumerate(MIGRATIONS, start=1):
            if version in done:
                continue
            for statement in statements:
                await conn.execute(sql.SQL(statement).format(**names))
            await conn.execute(
                sql.SQL("INSERT INTO {migrations} (version, description) VALUES (%s, %s)").format(
                    **names
                ),
                [version, description],
            )
            applied.append(version)
    return applied


# -- the store --------------------------------------------------------------------------------
