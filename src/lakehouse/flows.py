"""How: one strategy per table kind, written once against the EngineAdapter primitives.

The embedded driver calls `process_batch` for each planned batch; the Spark engine calls the same
methods from `foreachBatch`. Batch logic is SQL from `lakehouse.strategies`, in the engine's dialect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Sequence

from lakehouse.engines.base import EngineAdapter, Transaction
from lakehouse.errors import LakehouseError
from lakehouse.faults import crash_during, crashpoint
from lakehouse.spec.model import HASH_VALUE, IS_CURRENT, Kind, TableSpec
from lakehouse.strategies import ingest, scd1, scd2

CDF_PROPERTIES = {"delta.enableChangeDataFeed": "true"}


def app_id(spec: TableSpec) -> str:
    return f"lakehouse:{spec.ref}"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


@dataclass
class BatchResult:
    table: str
    batch_id: int
    rows_in: int = 0
    rows_written: int = 0
    committed: bool = False
    skipped_as_replay: bool = False
    details: dict[str, Any] = field(default_factory=dict)


def table_properties(spec: TableSpec) -> dict[str, str]:
    properties = dict(CDF_PROPERTIES) if spec.change_data_feed else {}
    return properties


def with_sequence_column(
    engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]]
) -> tuple[Any, list[tuple[str, str]]]:
    """Adds the spec's sequence_by column as NULL when the upstream has none yet.

    The initial TPC-H load has no effective time; only later change batches bring the column. NULL
    means "no effective time": such a row predates every dated change.
    """
    columns = list(upstream_columns)
    if not spec.sequence_by or spec.sequence_by in dict(columns):
        return changes, columns
    q = engine.dialect.quote
    added = engine.sql(
        f"SELECT *, CAST(NULL AS {engine.dialect.sql_type('timestamp')}) AS {q(spec.sequence_by)} FROM changes",
        {"changes": changes},
    )
    return added, columns + [(spec.sequence_by, "timestamp")]


def clustered(engine: EngineAdapter, spec: TableSpec, relation: Any) -> Any:
    """`relation` sorted by the spec's cluster_by columns, so written files hold narrow key ranges and a
    later MERGE of a few keys rewrites few files (delta-rs rewrites every file a MERGE matches)."""
    return engine.cluster(relation, spec.cluster_by) if spec.cluster_by else relation


def open_batch(engine: EngineAdapter, spec: TableSpec, batch_id: int, rows_in: int) -> tuple[BatchResult, Transaction]:
    """The batch's result and app transaction; a replay of a batch that already landed is marked skipped."""
    result = BatchResult(str(spec.ref), batch_id, rows_in=rows_in)
    txn = Transaction(app_id(spec), batch_id)
    if engine.already_committed(spec.ref, txn):
        if engine.already_committed(spec.ref, Transaction(txn.app_id, batch_id + 1)):
            # A replay is of the last batch planned, so the table cannot hold a later one from this
            # checkpoint: another writer (the other engine, or checkpoints lost) committed under the app id.
            raise LakehouseError(
                f"{spec.ref}: batch {batch_id} is not new, but the table already holds a later batch under "
                f"app transaction '{txn.app_id}'; another engine or an older checkpoint wrote it, and skipping "
                "this batch would drop its input.",
                hint=f"run the engine that wrote {spec.ref}, or rebuild it with `lakehouse reset --table "
                f"{spec.ref} --yes`",
            )
        result.skipped_as_replay = True
    return result, txn


def write_batch(
    engine: EngineAdapter,
    spec: TableSpec,
    txn: Transaction,
    result: BatchResult,
    *,
    merge_source: Any = None,
    plan: Any = None,
    first_rows: Any = None,
    new_keys_only: bool = False,
) -> BatchResult:
    """One commit: MERGE `merge_source` with `plan` into the existing table, or (no plan) create the table
    from `first_rows`, sorted by the spec's cluster_by columns.

    With `new_keys_only` (no row of the batch has a stored row: new orders, new customers) the MERGE
    could only insert, so `merge_source` is appended instead: the same rows and change feed (inserts),
    without the MERGE's scan of the target and its in-memory copy of the batch. The table's single
    writer (the run's lock) keeps that true until the commit."""
    crashpoint(f"{spec.ref}:after-read")
    with crash_during(f"{spec.ref}:during-commit"):
        if plan is not None and new_keys_only:
            engine.append(spec.ref, clustered(engine, spec, merge_source), txn, properties={}, evolve_schema=True)
        elif plan is not None:
            engine.merge(spec.ref, merge_source, plan, txn, evolve_schema=True)
        else:
            engine.append(spec.ref, clustered(engine, spec, first_rows), txn, properties=table_properties(spec),
                          evolve_schema=False)
    result.committed = True
    return result


class AppendIngest:
    kind = Kind.APPEND_INGEST

    def process_batch(
        self,
        engine: EngineAdapter,
        spec: TableSpec,
        raw: Any,
        schema: Sequence[tuple[str, str]],
        extra_columns: Sequence[str],
        batch_id: int,
        evolve_schema: bool,
    ) -> BatchResult:
        result, txn = open_batch(engine, spec, batch_id, engine.row_count(raw))
        if result.skipped_as_replay:
            return result
        typed = engine.sql(
            ingest.typed_projection_sql(engine.dialect, schema, extra_columns, now_iso(), "raw"), {"raw": raw}
        )
        crashpoint(f"{spec.ref}:after-read")
        with crash_during(f"{spec.ref}:during-commit"):
            engine.append(spec.ref, typed, txn, properties=table_properties(spec), evolve_schema=evolve_schema)
        result.rows_written = engine.row_count(typed)
        result.committed = True
        return result


class Scd1Upsert:
    kind = Kind.SCD1_UPSERT

    def process_batch(
        self, engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]],
        batch_id: int,
    ) -> BatchResult:
        result, txn = open_batch(engine, spec, batch_id, engine.row_count(changes))
        if result.skipped_as_replay:
            return result
        changes, upstream_columns = with_sequence_column(engine, spec, changes, upstream_columns)
        columns = scd1.business_columns(spec, upstream_columns)
        duplicates = engine.has_duplicate_keys(changes, spec.keys)
        deduped = engine.sql(
            scd1.dedup_sql(engine.dialect, spec, columns, now_iso(), has_duplicate_keys=duplicates),
            {"changes": changes},
        )
        result.details["rows_after_dedup"] = engine.row_count(deduped)
        target_exists = engine.table_version(spec.ref) is not None
        if target_exists:
            compare = list(spec.keys) + [HASH_VALUE] + ([spec.sequence_by] if spec.sequence_by else [])
            # Only the stored rows of the batch's keys: a batch's cost follows its size, not the table's.
            stored = engine.read_matching(spec.ref, deduped, spec.keys, columns=compare)
            changed = engine.sql(
                scd1.changed_rows_sql(engine.dialect, spec, "batch", "target"), {"batch": deduped, "target": stored}
            )
        else:
            stored, changed = None, deduped
        result.rows_written = engine.row_count(changed)
        if result.rows_written == 0:
            return result
        plan = scd1.merge_plan(engine.dialect, spec, engine.column_names(changed)) if target_exists else None
        return write_batch(engine, spec, txn, result, merge_source=changed, plan=plan, first_rows=changed,
                           new_keys_only=stored is not None and engine.row_count(stored) == 0)


class Scd2FromChanges:
    kind = Kind.SCD2_FROM_CHANGES

    def process_batch(
        self, engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]],
        batch_id: int,
    ) -> BatchResult:
        if spec.sequence_by:
            # Effective time: versions can arrive out of order, so the touched keys' history is rebuilt.
            from lakehouse.flow_history import process_history_batch

            return process_history_batch(engine, spec, changes, upstream_columns, batch_id)
        result, txn = open_batch(engine, spec, batch_id, engine.row_count(changes))
        if result.skipped_as_replay:
            return result
        assert spec.surrogate_key
        dim_columns = scd2.dimension_columns(spec, upstream_columns)
        business = dim_columns[1:-4]
        target_exists = engine.table_version(spec.ref) is not None
        q = engine.dialect.quote
        if target_exists:
            wanted = [spec.surrogate_key, *spec.keys, HASH_VALUE, IS_CURRENT]
            dim = engine.read_table(spec.ref, columns=wanted)
            current = engine.sql(
                f"SELECT * FROM dim WHERE {q(IS_CURRENT)} AND ({', '.join(q(k) for k in spec.keys)}) IN "
                f"(SELECT {', '.join(q(k) for k in spec.keys)} FROM changes)",
                {"dim": dim, "changes": changes},
            )
            max_key = engine.sql(f"SELECT coalesce(max({q(spec.surrogate_key)}), 0) AS m FROM dim", {"dim": dim})
            max_surrogate = int(engine.first_value(max_key))
        else:
            current = engine.sql(
                f"SELECT CAST(NULL AS BIGINT) AS {q(spec.surrogate_key)}, "
                + ", ".join(f"{q(k)}" for k in spec.keys)
                + f", CAST(NULL AS {engine.dialect.sql_type('string')}) AS {q(HASH_VALUE)}, FALSE AS {q(IS_CURRENT)} "
                "FROM changes WHERE FALSE",
                {"changes": changes},
            )
            max_surrogate = 0
        staged = engine.sql(
            scd2.staging_sql(engine.dialect, spec, business, max_surrogate),
            {"changes": changes, "current_dim": current},
        )
        names = [n for n, _ in dim_columns]
        new_versions = engine.sql(
            f"SELECT {engine.dialect.column_list(names)} FROM staged WHERE {q(scd2.TARGET_ID)} IS NULL",
            {"staged": staged},
        )
        result.rows_written = engine.row_count(new_versions)
        result.details["versions_closed"] = engine.row_count(staged) - result.rows_written
        if result.rows_written == 0:
            return result
        plan = scd2.merge_plan(engine.dialect, spec, names) if target_exists else None
        return write_batch(engine, spec, txn, result, merge_source=staged, plan=plan, first_rows=new_versions)


# Imported here, not at the top: the fact flow builds on BatchResult and the helpers above.
from lakehouse.flow_fact import FactBuild  # noqa: E402

STRATEGIES = {
    Kind.APPEND_INGEST: AppendIngest(),
    Kind.SCD1_UPSERT: Scd1Upsert(),
    Kind.SCD2_FROM_CHANGES: Scd2FromChanges(),
    Kind.FACT: FactBuild(),
}
