"""What every kind's invariants share: what they read, what they report, and the one-row-per-key check.

`lakehouse validate` (ops/inspection.py) runs, for each table that exists, the invariants its kind
lists in kinds/<kind>/invariants.py (found through kinds/registry.py INVARIANTS). An invariant reads
the tables through `InvariantTables`, so the kinds need not know how the inspector opens them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lakehouse.core.dialects import Dialect
from lakehouse.spec.model import IS_CURRENT, TableRef, TableSpec

# Enough to see what is wrong without flooding the terminal; a broken table can have millions.
LIMIT = 20


# Not frozen: the CLI's --json output is `v.__dict__` of each one.
@dataclass
class Violation:
    table: str
    rule: str
    detail: str


class InvariantTables(Protocol):
    """The tables as the checks see them."""

    @property
    def dialect(self) -> Dialect: ...

    def exists(self, ref: TableRef) -> bool: ...

    def rows(self, query: str, views: Mapping[str, TableRef]) -> list[dict[str, Any]]:
        """The rows of `query`, where each name in `views` is a view of that table."""
        ...

    def landed_records(self, spec: TableSpec) -> dict[str, int]:
        """Per landed file a committed batch took, the records it holds (-1: cannot be recounted)."""
        ...


@dataclass(frozen=True)
class Invariant:
    # What `validate` prints as checked, joined with '; ' per table.
    checks: str
    run: Callable[[InvariantTables, TableSpec], list[Violation]]


def key_text(row: Mapping[str, Any], spec: TableSpec) -> str:
    return ", ".join(f"{k}={row[k]!r}" for k in spec.keys)


def rows_per_key(tables: InvariantTables, spec: TableSpec, *, current_only: bool) -> list[Violation]:
    """Keys with more than one row (with `current_only`, more than one current row). NULL keys group
    together, so rows without a key count as one key."""
    q = tables.dialect.quote
    keys = tables.dialect.column_list(spec.keys)
    where = f"WHERE {q(IS_CURRENT)}" if current_only else ""
    rows = tables.rows(
        f"SELECT {keys}, count(*) AS n FROM t {where} GROUP BY {keys} HAVING count(*) > 1 ORDER BY {keys} "
        f"LIMIT {LIMIT}",
        {"t": spec.ref},
    )
    rule = "one current row per key" if current_only else "one row per key"
    return [Violation(str(spec.ref), rule, f"key {key_text(row, spec)} has {row['n']} rows") for row in rows]


def one_row_per_key(tables: InvariantTables, spec: TableSpec) -> list[Violation]:
    return rows_per_key(tables, spec, current_only=False)


ONE_ROW_PER_KEY = Invariant("one row per key", one_row_per_key)
