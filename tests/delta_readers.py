"""Other Delta readers, as a user of them would read our tables in a test."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder


def delta_rs_rows(uri: str, columns: Sequence[str] | None = None) -> pa.Table:
    """delta-rs's own SQL scan, which applies deletion vectors; its `to_pyarrow_table` refuses a table
    with the `deletionVectors` reader feature, which merge-on-read turns on."""
    select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    return pa.table(QueryBuilder().register("t", DeltaTable(uri)).execute(f"select {select} from t").read_all())


def names_by_id(uri: str) -> dict[int, str]:
    """The `id -> name` rows of the small tables the deletion-vector tests write, read by delta-rs."""
    result = delta_rs_rows(uri, ["id", "name"])
    return dict(zip(result.column("id").to_pylist(), result.column("name").to_pylist(), strict=True))
