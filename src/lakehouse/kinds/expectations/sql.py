"""The SQL of expectations, in the engine's dialect. An expectation's `expr` is the user's SQL and is
pasted as written; every name this module adds is quoted.

A row passes an expectation when its expr is TRUE: FALSE and NULL are violations (`price > 0` fails a
row whose price is NULL; write `price IS NULL OR price > 0` to let NULLs pass). So every verdict is
`COALESCE((expr), FALSE)`, which is never NULL and keeps NOT and AND two-valued.
"""

from __future__ import annotations

from collections.abc import Sequence

from lakehouse.core.change_feed import CHANGE_TYPE
from lakehouse.core.dialects import Dialect
from lakehouse.spec.expectations import Expectation, OnViolation

# Added to the checked rows, one per expectation; not a column a table can have (they start with "__").
VERDICT_PREFIX = "__lakehouse_expectation_"
# The quarantine table's columns after the row's own.
FAILED_EXPECTATIONS = "_failed_expectations"
BATCH_ID = "_batch_id"
QUARANTINED_AT = "_quarantined_at"
# Change rows that carry a row's new state; a pre-image or a delete is the state a change removes.
CHECKED_CHANGE_TYPES = ("insert", "update_postimage")


def verdict(expectation: Expectation) -> str:
    return f"COALESCE(({expectation.expr}), FALSE)"


def verdict_column(index: int) -> str:
    return f"{VERDICT_PREFIX}{index}"


def checked_rows_condition(dialect: Dialect, columns: Sequence[str], apply_as_deletes: str | None) -> str:
    """Which rows of a batch the expectations judge: not a delete (by the spec's apply_as_deletes or the
    change feed's type), nor an update's pre-image. Every other row passes through unjudged."""
    conditions = []
    if CHANGE_TYPE in columns:
        types = ", ".join(dialect.literal(t) for t in CHECKED_CHANGE_TYPES)
        conditions.append(f"COALESCE({dialect.quote(CHANGE_TYPE)} IN ({types}), FALSE)")
    if apply_as_deletes is not None:
        conditions.append(f"NOT COALESCE(({apply_as_deletes}), FALSE)")
    return " AND ".join(conditions) or "TRUE"


def judged_sql(dialect: Dialect, expectations: Sequence[Expectation], condition: str, view: str) -> str:
    """The judged rows of `view` with one verdict column per expectation."""
    q = dialect.quote
    verdicts = ", ".join(f"{verdict(e)} AS {q(verdict_column(i))}" for i, e in enumerate(expectations))
    return f"SELECT *, {verdicts} FROM {q(view)} WHERE {condition}"


def failed_counts_sql(dialect: Dialect, expectations: Sequence[Expectation], view: str) -> str:
    """One text value 'judged,failed_0,failed_1,...' over the judged rows: one scan, read as one scalar
    by every engine (EngineAdapter.first_value)."""
    q = dialect.quote
    text = dialect.sql_type("string")
    counts = [f"CAST(COUNT(*) AS {text})"] + [
        f"CAST(COALESCE(SUM(CASE WHEN {q(verdict_column(i))} THEN 0 ELSE 1 END), 0) AS {text})"
        for i in range(len(expectations))
    ]
    return f"SELECT concat_ws(',', {', '.join(counts)}) FROM {q(view)}"


def indexes_of(expectations: Sequence[Expectation], on_violation: OnViolation) -> list[int]:
    return [i for i, e in enumerate(expectations) if e.on_violation is on_violation]


def all_pass(dialect: Dialect, indexes: Sequence[int]) -> str:
    return " AND ".join(dialect.quote(verdict_column(i)) for i in indexes) or "TRUE"


def offending_sql(dialect: Dialect, index: int, columns: Sequence[str], view: str) -> str:
    """A sample row that fails expectation `index`, its own columns only."""
    q = dialect.quote
    return f"SELECT {dialect.column_list(columns)} FROM {q(view)} WHERE NOT {q(verdict_column(index))} LIMIT 1"


def quarantine_sql(dialect: Dialect, expectations: Sequence[Expectation], columns: Sequence[str], view: str,
                   batch_id: int, quarantined_at_iso: str) -> str:
    """The dropped rows (failing any drop expectation) with the names of every expectation each failed."""
    q = dialect.quote
    names = ", ".join(f"CASE WHEN NOT {q(verdict_column(i))} THEN {dialect.literal(e.name)} END"
                      for i, e in enumerate(expectations))
    dropped = all_pass(dialect, indexes_of(expectations, OnViolation.DROP))
    return (
        f"SELECT {dialect.column_list(columns)}, concat_ws(',', {names}) AS {q(FAILED_EXPECTATIONS)}, "
        f"CAST({batch_id} AS BIGINT) AS {q(BATCH_ID)}, "
        f"{dialect.cast(dialect.literal(quarantined_at_iso), 'timestamp')} AS {q(QUARANTINED_AT)} "
        f"FROM {q(view)} WHERE NOT ({dropped})"
    )


def kept_sql(dialect: Dialect, expectations: Sequence[Expectation], condition: str, view: str) -> str:
    """`view` without the rows a drop expectation leaves out; unjudged rows are all kept."""
    drops = " AND ".join(verdict(expectations[i]) for i in indexes_of(expectations, OnViolation.DROP)) or "TRUE"
    return f"SELECT * FROM {dialect.quote(view)} WHERE NOT ({condition}) OR ({drops})"


def kept_by_key_sql(dialect: Dialect, row_key: Sequence[str], rows_view: str, dropped_view: str) -> str:
    """`rows_view` without the rows whose `row_key` a dropped row has: how bronze leaves out raw rows
    whose typed form failed (the expressions run over typed values, the strategy takes raw text)."""
    q = dialect.quote
    match = " AND ".join(f"d.{q(c)} = r.{q(c)}" for c in row_key)
    return (f"SELECT r.* FROM {q(rows_view)} r "
            f"WHERE NOT EXISTS (SELECT 1 FROM {q(dropped_view)} d WHERE {match})")
