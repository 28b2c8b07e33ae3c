"""SCD1 deletes (Lakeflow's apply_as_deletes): a change row meeting the spec's condition deletes its key's row.

The MERGE deletes the stored row, so the table's change feed shows a `delete`. With sequence_by a
delete must also stop an event older than it that arrives later from bringing the key back; the
table no longer holds the row to compare with, so the delete's time is kept as a **tombstone** in a
side Delta table, `<schema>.<name>__tombstones` (the keys and sequence_by, one row per key: its newest
delete). It is written in the same batch just before the table, under its own app transaction
(`lakehouse:<table>:tombstones`), so a replay after a crash between the two commits finds it and
writes it once. Tombstones are kept for good (Lakeflow purges them after a retention period);
dropping the side table forgets them. Without sequence_by arrival order decides and no tombstone
is needed: whatever arrives after a delete comes after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from lakehouse.core.dialects import Dialect
from lakehouse.core.merge_plan import MergePlan
from lakehouse.engines.base import EngineAdapter, Transaction
from lakehouse.kinds.base import app_id
from lakehouse.kinds.scd1 import sql as scd1
from lakehouse.spec.model import HASH_VALUE, TableRef, TableSpec

# On a batch row: TRUE when it is a delete of its key (the spec's apply_as_deletes held).
IS_DELETE = "__is_delete"
TOMBSTONES_SUFFIX = "__tombstones"


def tombstones_ref(spec: TableSpec) -> TableRef:
    return TableRef(spec.ref.schema, spec.ref.name + TOMBSTONES_SUFFIX)


def keeps_tombstones(spec: TableSpec) -> bool:
    return spec.apply_as_deletes is not None and spec.sequence_by is not None


def flagged_sql(spec: TableSpec, source_view: str = "changes") -> str:
    """`source_view` with IS_DELETE; the condition is the spec's own SQL over the change row."""
    return f"SELECT *, coalesce(({spec.apply_as_deletes}), FALSE) AS {IS_DELETE} FROM {source_view}"


def changed_rows_sql(
    dialect: Dialect, spec: TableSpec, batch_view: str, target_view: str | None, tombstones_view: str | None
) -> str:
    """Rows of the deduplicated batch to merge: upserts that are new or changed, not older than the
    stored row nor than the key's tombstone; deletes of a stored row they are not older than.
    `target_view` None: no table yet (a first load), so there is nothing to delete."""
    q = dialect.quote
    joins = ""
    upsert, delete = "TRUE", "FALSE"
    if target_view is not None:
        joins += f" LEFT JOIN {target_view} t ON {' AND '.join(f's.{q(k)} = t.{q(k)}' for k in spec.keys)}"
        present = f"t.{q(spec.keys[0])} IS NOT NULL"
        not_late = scd1.not_older_sql(dialect, spec) or "TRUE"
        upsert = f"(NOT {present} OR {scd1.is_change(dialect, spec)}) AND {not_late}"
        delete = f"{present} AND {not_late}"
    if tombstones_view is not None and spec.sequence_by:
        seq = q(spec.sequence_by)
        joins += f" LEFT JOIN {tombstones_view} d ON {' AND '.join(f's.{q(k)} = d.{q(k)}' for k in spec.keys)}"
        # An undated upsert counts as older than any dated delete.
        upsert += f" AND (d.{seq} IS NULL OR coalesce(s.{seq} >= d.{seq}, FALSE))"
    return (f"SELECT s.* FROM {batch_view} s{joins}\n"
            f"WHERE (NOT s.{IS_DELETE} AND {upsert}) OR (s.{IS_DELETE} AND {delete})")


def upserts_sql(dialect: Dialect, columns: Sequence[str], source_view: str = "changed") -> str:
    """The rows to store: no deletes, no delete flag."""
    return f"SELECT {dialect.column_list(list(columns))} FROM {source_view} WHERE NOT {IS_DELETE}"


def merge_plan(dialect: Dialect, spec: TableSpec, columns: Sequence[str]) -> MergePlan:
    """scd1.merge_plan, plus: a delete row removes its stored row and never inserts or updates."""
    plan = scd1.merge_plan(dialect, spec, [c for c in columns if c != IS_DELETE])
    return replace(plan, update_condition=f"NOT s.{IS_DELETE} AND ({plan.update_condition})",
                   insert_condition=f"NOT s.{IS_DELETE}", delete_condition=f"s.{IS_DELETE}")


def read_tombstones(engine: EngineAdapter, spec: TableSpec, batch: Any) -> Any | None:
    """The tombstones of the batch's keys, or None: the table keeps none (yet)."""
    ref = tombstones_ref(spec)
    if not keeps_tombstones(spec) or engine.table_version(ref) is None:
        return None
    return engine.read_matching(ref, batch, spec.keys)


def write_tombstones(engine: EngineAdapter, spec: TableSpec, deduped: Any, batch_id: int) -> int:
    """Records the batch's dated deletes (one per key, the batch deduplicated); returns how many.
    Skipped when this batch's tombstones already landed (a replay after a crash before the table's commit)."""
    if not keeps_tombstones(spec):
        return 0
    assert spec.sequence_by is not None
    q = engine.dialect.quote
    seq = q(spec.sequence_by)
    names = [*spec.keys, spec.sequence_by]
    deletes = engine.sql(f"SELECT {engine.dialect.column_list(names)} FROM b WHERE {IS_DELETE} AND {seq} IS NOT NULL",
                         {"b": deduped})
    count = engine.row_count(deletes)
    ref, txn = tombstones_ref(spec), Transaction(f"{app_id(spec)}:tombstones", batch_id)
    if count == 0:
        return 0
    if engine.table_version(ref) is None:
        engine.append(ref, deletes, txn, properties={}, evolve_schema=False)
    elif not engine.already_committed(ref, txn):
        assignments = {c: f"s.{q(c)}" for c in names}
        plan = MergePlan(on=" AND ".join(f"t.{q(k)} = s.{q(k)}" for k in spec.keys),
                         update_condition=f"s.{seq} > t.{seq}", update_set={spec.sequence_by: f"s.{seq}"},
                         insert_values=assignments,
                         # The side table is the table's own: it follows the table's merge_on_read.
                         deletion_vectors=spec.merge_on_read)
        engine.merge(ref, deletes, plan, txn, evolve_schema=False)
    return count


def stored_columns(spec: TableSpec) -> list[str]:
    """What the comparison reads of the stored rows."""
    return list(spec.keys) + [HASH_VALUE] + ([spec.sequence_by] if spec.sequence_by else [])
