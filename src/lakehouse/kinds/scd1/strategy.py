"""Silver: one row per key; a batch is deduplicated, hash-compared, and only real changes are merged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakehouse.engines.base import EngineAdapter, Transaction
from lakehouse.kinds.base import BatchResult, Reads, now_iso, open_batch, with_sequence_column, write_batch
from lakehouse.kinds.scd1 import deletes
from lakehouse.kinds.scd1 import sql as scd1
from lakehouse.spec.model import HASH_VALUE, Kind, TableSpec


class Scd1Upsert:
    kind = Kind.SCD1_UPSERT
    reads = Reads.CHANGE_FEED
    # Rows as they were inserted upstream: an append-only bronze feed carries the landed events.
    change_types: tuple[str, ...] | None = ("insert",)
    # An upstream without a change feed is read as a stream of inserts.
    requires_upstream_feed = False

    def process_batch(
        self, engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]],
        batch_id: int,
    ) -> BatchResult:
        result, txn = open_batch(engine, spec, batch_id, engine.row_count(changes))
        if result.skipped_as_replay:
            return result
        changes, upstream_columns = with_sequence_column(engine, spec, changes, upstream_columns)
        if spec.apply_as_deletes is not None:
            return process_with_deletes(engine, spec, changes, upstream_columns, result, txn)
        columns = scd1.business_columns(spec, upstream_columns)
        duplicates = engine.has_duplicate_keys(changes, spec.keys)
        # Counted, matched and compared, then merged: computed once each (see EngineAdapter.computed).
        deduped = engine.computed(engine.sql(
            scd1.dedup_sql(engine.dialect, spec, columns, now_iso(), has_duplicate_keys=duplicates),
            {"changes": changes},
        ))
        result.details["rows_after_dedup"] = engine.row_count(deduped)
        target_exists = engine.table_version(spec.ref) is not None
        if target_exists:
            compare = list(spec.keys) + [HASH_VALUE] + ([spec.sequence_by] if spec.sequence_by else [])
            # Only the stored rows of the batch's keys: a batch's cost follows its size, not the table's.
            stored = engine.read_matching(spec.ref, deduped, spec.keys, columns=compare)
            changed = engine.computed(engine.sql(
                scd1.changed_rows_sql(engine.dialect, spec, "batch", "target"), {"batch": deduped, "target": stored}
            ))
        else:
            stored, changed = None, deduped
        result.rows_written = engine.row_count(changed)
        if result.rows_written == 0:
            return result
        plan = scd1.merge_plan(engine.dialect, spec, engine.column_names(changed)) if target_exists else None
        return write_batch(engine, spec, txn, result, merge_source=changed, plan=plan, first_rows=changed,
                           new_keys_only=stored is not None and engine.row_count(stored) == 0)


def process_with_deletes(
    engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]],
    result: BatchResult, txn: Transaction,
) -> BatchResult:
    """A batch of a table with apply_as_deletes: the latest change of a key may be a delete (kinds/scd1/deletes.py)."""
    flagged = engine.sql(deletes.flagged_sql(spec), {"changes": changes})
    columns = scd1.business_columns(spec, upstream_columns)
    deduped = engine.sql(
        scd1.dedup_sql(engine.dialect, spec, columns, now_iso(), carried=[deletes.IS_DELETE]), {"changes": flagged}
    )
    result.details["rows_after_dedup"] = engine.row_count(deduped)
    target_exists = engine.table_version(spec.ref) is not None
    views = {"batch": deduped}
    if target_exists:
        views["target"] = engine.read_matching(spec.ref, deduped, spec.keys, columns=deletes.stored_columns(spec))
    tombstones = deletes.read_tombstones(engine, spec, deduped)
    if tombstones is not None:
        views["tombstones"] = tombstones
    changed = engine.sql(deletes.changed_rows_sql(engine.dialect, spec, "batch", "target" if target_exists else None,
                                                  "tombstones" if tombstones is not None else None), views)
    result.details["tombstones_written"] = deletes.write_tombstones(engine, spec, deduped, txn.batch_id)
    result.rows_written = engine.row_count(changed)
    if result.rows_written == 0:
        return result
    names = [c for c in engine.column_names(changed) if c != deletes.IS_DELETE]
    upserts = engine.sql(deletes.upserts_sql(engine.dialect, names), {"changed": changed})
    if not target_exists:
        return write_batch(engine, spec, txn, result, first_rows=upserts)
    return write_batch(engine, spec, txn, result, merge_source=changed,
                       plan=deletes.merge_plan(engine.dialect, spec, names))
