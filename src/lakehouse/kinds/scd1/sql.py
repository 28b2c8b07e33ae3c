"""SCD1 upsert: one current row per key, only real changes written (hash compare)."""

from __future__ import annotations

from collections.abc import Sequence

from lakehouse.core.change_feed import COMMIT_VERSION
from lakehouse.core.dialects import Dialect
from lakehouse.core.hashing import hash_expression
from lakehouse.core.merge_plan import MergePlan
from lakehouse.kinds.scd1.options import Scd1Options
from lakehouse.spec.model import (
    DATE_ADDED,
    HASH_VALUE,
    SOURCE_FILE_MODIFIED,
    SOURCE_FILENAME,
    SOURCE_ROW,
    TableSpec,
)


def business_columns(spec: TableSpec, upstream_columns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Upstream's data columns: bronze lineage/rescue columns do not travel to silver."""
    from lakehouse.spec.model import BRONZE_METADATA

    return [(n, t) for n, t in upstream_columns
            if n not in BRONZE_METADATA and not n.startswith("_") and n not in spec.except_column_list]


def tracked_columns(spec: TableSpec, columns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The columns whose change is a change. By default every business column but the keys and the
    effective time: a re-stamped row with the same values is no new version (Lakeflow's default)."""
    if spec.tracked_columns is None:
        return [(n, t) for n, t in columns if n not in spec.keys and n != spec.sequence_by]
    types = dict(columns)
    return [(n, types.get(n, "string")) for n in spec.tracked_columns]


def dedup_sql(
    dialect: Dialect,
    spec: TableSpec,
    columns: Sequence[tuple[str, str]],
    date_added_iso: str,
    source_view: str = "changes",
    *,
    has_duplicate_keys: bool = True,
    carried: Sequence[str] = (),
) -> str:
    """Last occurrence per key wins: by commit, file landing order, then row position (or sequence_by).

    With `has_duplicate_keys=False` (see duplicate_keys_sql) the ranking is left out: carrying every
    column through a window costs most of a large first load, and a batch of distinct keys needs none.
    `carried` columns (the delete flag of kinds/scd1/deletes.py) travel along unchanged.
    """
    q = dialect.quote
    order = []
    if spec.sequence_by:
        order.append(f"{q(spec.sequence_by)} DESC NULLS LAST")
    order += [f"{q(c)} DESC" for c in (COMMIT_VERSION, SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW)]
    keys = dialect.column_list(spec.keys)
    names = [n for n, _ in columns]
    not_null_keys = " AND ".join(f"{q(k)} IS NOT NULL" for k in spec.keys)
    select = (
        f"SELECT {dialect.column_list(names)}, "
        f"{hash_expression(dialect, tracked_columns(spec, columns))} AS {q(HASH_VALUE)}, "
        f"{q(SOURCE_FILENAME)}, {''.join(q(c) + ', ' for c in carried)}"
        f"{dialect.cast(dialect.literal(date_added_iso), 'timestamp')} AS {q(DATE_ADDED)}\n"
    )
    if not has_duplicate_keys:
        return select + f"FROM {source_view} WHERE {not_null_keys}"
    return (
        select
        + f"FROM (SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY {', '.join(order)}) AS __rank\n"
        f"      FROM {source_view} WHERE {not_null_keys}) ranked\n"
        f"WHERE __rank = 1"
    )


def is_change(dialect: Dialect, spec: TableSpec) -> str:
    """Whether batch row s changes stored row t (NULL-safe). When the effective time is not tracked
    (the default columns), a newer one is a change too: the stored row must carry the newest time,
    or a late event older than it but newer than the stored one would win."""
    q = dialect.quote
    changed = dialect.is_distinct(f"t.{q(HASH_VALUE)}", f"s.{q(HASH_VALUE)}")
    if spec.sequence_by and spec.tracked_columns is None:
        seq = q(spec.sequence_by)
        changed = f"(({changed}) OR s.{seq} > t.{seq})"
    return changed


def not_older_sql(dialect: Dialect, spec: TableSpec) -> str | None:
    """Batch row s is not older than stored row t by effective time; None without sequence_by."""
    if not spec.sequence_by:
        return None
    seq = dialect.quote(spec.sequence_by)
    # An undated stored row counts as of the options' undated_effective_time when given (the landing's
    # initial load), so a change stamped before it is late and ignored; else any dated change wins.
    undated = Scd1Options.of(spec).undated_effective_time
    stored = f"coalesce(t.{seq}, {dialect.cast(dialect.literal(undated), 'timestamp')})" if undated else f"t.{seq}"
    return f"({stored} IS NULL OR s.{seq} IS NULL OR s.{seq} >= {stored})"


def changed_rows_sql(dialect: Dialect, spec: TableSpec, batch_view: str, target_view: str) -> str:
    """Rows of the deduplicated batch that are new or differ from the stored row (NULL-safe)."""
    q = dialect.quote
    join = " AND ".join(f"s.{q(k)} = t.{q(k)}" for k in spec.keys)
    condition = f"t.{q(spec.keys[0])} IS NULL OR {is_change(dialect, spec)}"
    not_late = not_older_sql(dialect, spec)
    if not_late:
        condition = f"({condition}) AND {not_late}"
    return f"SELECT s.* FROM {batch_view} s LEFT JOIN {target_view} t ON {join} WHERE {condition}"


def merge_plan(dialect: Dialect, spec: TableSpec, columns: Sequence[str]) -> MergePlan:
    q = dialect.quote
    on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in spec.keys)
    assignments = {column: f"s.{q(column)}" for column in columns}
    return MergePlan(
        on=on,
        update_condition=is_change(dialect, spec),
        update_set=assignments,
        insert_values=assignments,
        deletion_vectors=spec.merge_on_read,
    )
