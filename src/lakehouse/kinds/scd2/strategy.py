"""Gold SCD2: the touched keys' history is rebuilt, then MERGEd.

The SQL is in history_sql.py; this is the sequence of engine primitives around it. One algorithm
with or without effective time (spec.sequence_by): without it every event is undated, so versions
follow arrival order and start at their processing time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakehouse.engines.base import EngineAdapter
from lakehouse.kinds.base import BatchResult, Reads, open_batch, write_batch
from lakehouse.kinds.scd1 import sql as scd1
from lakehouse.kinds.scd2 import history_sql as scd2_history
from lakehouse.kinds.scd2.sql import TARGET_ID, surrogate_key
from lakehouse.spec.model import (
    DATE_ADDED,
    END_DATE,
    HASH_VALUE,
    IS_CURRENT,
    IS_INFERRED,
    START_DATE,
    Kind,
    TableRef,
    TableSpec,
)


def aligned(engine: EngineAdapter, relation: Any, present: Sequence[str], wanted: Sequence[tuple[str, str]]) -> Any:
    """`relation` with exactly the `wanted` columns, NULL where the stored table lacks one (added later)."""
    q = engine.dialect.quote
    select = [q(n) if n in present else f"CAST(NULL AS {engine.dialect.sql_type(t)}) AS {q(n)}" for n, t in wanted]
    return engine.sql(f"SELECT {', '.join(select)} FROM r", {"r": relation})


def max_surrogate(engine: EngineAdapter, ref: TableRef, surrogate_key: str) -> int:
    """The highest surrogate key ever assigned: new ones continue above it, so none is reused."""
    top = engine.max_value(ref, surrogate_key)
    return 0 if top is None else int(top)


def process_history_batch(
    engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]], batch_id: int
) -> BatchResult:
    result, txn = open_batch(engine, spec, batch_id, engine.row_count(changes))
    if result.skipped_as_replay:
        return result
    q = engine.dialect.quote
    source_view = "changes"
    if spec.sequence_by and spec.sequence_by not in dict(upstream_columns):
        # No effective time in the feed yet: NULL, as kinds.base.with_sequence_column adds it, but inside
        # the events query instead of a query (and a copy of the batch) of its own.
        source_view = (f"(SELECT *, CAST(NULL AS {engine.dialect.sql_type('timestamp')}) AS {q(spec.sequence_by)} "
                       "FROM changes) AS dated_changes")
        upstream_columns = [*upstream_columns, (spec.sequence_by, "timestamp")]
    business = [(n, t) for n, t in scd1.business_columns(spec, upstream_columns) if n != HASH_VALUE]
    present = set(engine.column_names(changes))
    arrival = [c for c in scd2_history.ARRIVAL_COLUMNS if c in present]
    # Counted, matched against the stored history and rebuilt from: computed once (see computed).
    events = engine.computed(engine.sql(
        scd2_history.events_sql(engine.dialect, spec, business, arrival, DATE_ADDED, source_view=source_view),
        {"changes": changes},
    ))
    result.details["events"] = engine.row_count(events)
    dim_columns = scd2_history.history_columns(spec, business)
    target_exists = engine.table_version(spec.ref) is not None
    kept: list[str] = []
    if target_exists:
        sk = surrogate_key(spec)
        # Only what the timeline needs: a stored version's attributes never change (the MERGE keeps
        # them), and the wide text columns were most of the read.
        stored_columns = [n for n, _ in engine.table_columns(spec.ref)]
        needed = {sk, *spec.keys, HASH_VALUE, START_DATE, END_DATE, IS_CURRENT, IS_INFERRED,
                  *([spec.sequence_by] if spec.sequence_by else []),
                  # Updated in place from the latest event, so the rebuild compares them.
                  *scd2_history.in_place_columns(spec, business)}
        read = [n for n in stored_columns if n in needed]
        kept = [n for n in stored_columns if n not in needed]
        stored = engine.read_matching(spec.ref, events, spec.keys, columns=read)
        existing = aligned(engine, stored, read, dim_columns)
        top = max_surrogate(engine, spec.ref, sk)
    else:
        existing = aligned(engine, engine.sql("SELECT * FROM e WHERE FALSE", {"e": events}), [], dim_columns)
        top = 0
    staged = engine.computed(engine.sql(
        scd2_history.rebuild_sql(engine.dialect, spec, business, top), {"events": events, "existing": existing}
    ))
    names = [n for n, _ in dim_columns]
    new_versions = engine.sql(f"SELECT {engine.dialect.column_list(names)} FROM s WHERE {q(TARGET_ID)} IS NULL",
                              {"s": staged})
    result.rows_written = engine.row_count(staged)
    result.details["versions_added"] = engine.row_count(new_versions)
    result.details["versions_corrected"] = result.rows_written - result.details["versions_added"]
    if result.rows_written == 0:
        return result
    plan = scd2_history.merge_plan(engine.dialect, spec, names, kept) if target_exists else None
    return write_batch(engine, spec, txn, result, merge_source=staged, plan=plan, first_rows=new_versions)


class Scd2FromChanges:
    kind = Kind.SCD2_FROM_CHANGES
    reads = Reads.CHANGE_FEED
    change_types: tuple[str, ...] | None = None  # its SQL keeps the new states (insert, update post-image)
    # Versions come from updates' post-images, which only a change feed carries.
    requires_upstream_feed = True

    def process_batch(
        self, engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]],
        batch_id: int,
    ) -> BatchResult:
        return process_history_batch(engine, spec, changes, upstream_columns, batch_id)
