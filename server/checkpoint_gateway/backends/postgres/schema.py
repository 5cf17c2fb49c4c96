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
]


def table_names(schema: str, prefix: str) -> dict[str, sql.Composable]:
    # Constraint and index names stay within PostgreSQL's 63 bytes for a 41-char prefix.
    return {
        "schema": sql.Identifier(schema),
        "checkpoints": sql.Identifier(schema, prefix + "checkpoints"),
        "writes": sql.Identifier(schema, prefix + "writes"),
        "migrations": sql.Identifier(schema, prefix + "migrations"),
        "save_many": sql.Identifier(schema, prefix + "save_many"),
        "cp_pkey": sql.Identifier(prefix + "checkpoints_pkey"),
        "cp_version": sql.Identifier(prefix + "checkpoints_version"),
        "cp_metadata": sql.Identifier(prefix + "checkpoints_metadata"),
        "w_pkey": sql.Identifier(prefix + "writes_pkey"),
        "w_checkpoint": sql.Identifier(prefix + "writes_checkpoint_fkey"),
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
