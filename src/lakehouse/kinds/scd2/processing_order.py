"""SCD2 without effective time: versions follow the change feed's commit order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lakehouse.engines.base import EngineAdapter
from lakehouse.kinds.base import BatchResult, open_batch, write_batch
from lakehouse.kinds.scd2 import sql as scd2
from lakehouse.spec.model import HASH_VALUE, IS_CURRENT, TableSpec


def process_in_commit_order(
    engine: EngineAdapter, spec: TableSpec, changes: Any, upstream_columns: Sequence[tuple[str, str]], batch_id: int
) -> BatchResult:
    result, txn = open_batch(engine, spec, batch_id, engine.row_count(changes))
    if result.skipped_as_replay:
        return result
    sk = scd2.surrogate_key(spec)
    dim_columns = scd2.dimension_columns(spec, upstream_columns)
    business = dim_columns[1:-4]
    target_exists = engine.table_version(spec.ref) is not None
    q = engine.dialect.quote
    if target_exists:
        wanted = [sk, *spec.keys, HASH_VALUE, IS_CURRENT]
        dim = engine.read_table(spec.ref, columns=wanted)
        current = engine.sql(
            f"SELECT * FROM dim WHERE {q(IS_CURRENT)} AND ({', '.join(q(k) for k in spec.keys)}) IN "
            f"(SELECT {', '.join(q(k) for k in spec.keys)} FROM changes)",
            {"dim": dim, "changes": changes},
        )
        max_key = engine.sql(f"SELECT coalesce(max({q(sk)}), 0) AS m FROM dim", {"dim": dim})
        max_surrogate = int(engine.first_value(max_key))
    else:
        current = engine.sql(
            f"SELECT CAST(NULL AS BIGINT) AS {q(sk)}, "
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
