"""What holds for an SCD2 table: one current row per key, validity intervals that follow each other
without overlap (only the last one open and current), and surrogate keys that identify one row."""

from __future__ import annotations

from lakehouse.kinds.invariants import LIMIT, Invariant, InvariantTables, Violation, key_text, rows_per_key
from lakehouse.kinds.scd2.sql import surrogate_key
from lakehouse.spec.model import END_DATE, IS_CURRENT, START_DATE, TableSpec


def one_current_row_per_key(tables: InvariantTables, spec: TableSpec) -> list[Violation]:
    return rows_per_key(tables, spec, current_only=True)


def intervals_do_not_overlap(tables: InvariantTables, spec: TableSpec) -> list[Violation]:
    """Per key, ordered by start: each version ends where (or before) the next starts, and only the
    last is open and current (or, where deletes apply, closed by one). A NULL start or flag is a
    violation, not a pass."""
    dialect = tables.dialect
    q = dialect.quote
    keys = dialect.column_list(spec.keys)
    start, end, current = q(START_DATE), q(END_DATE), q(IS_CURRENT)
    # With deletes a key's last version may be closed (its end is the delete's time), not current.
    last_must_be_current = (f"(next_start IS NULL AND NOT coalesce({current}, FALSE) AND {end} IS NULL)"
                            if spec.apply_as_deletes else f"(next_start IS NULL AND NOT coalesce({current}, FALSE))")
    rows = tables.rows(
        f"""SELECT {keys}, {start} AS s, {end} AS e, {current} AS c, next_start FROM (
              SELECT *, lead({start}) OVER (PARTITION BY {keys} ORDER BY {start} ASC NULLS LAST,
                                           {q(surrogate_key(spec))}) AS next_start FROM t) x
            WHERE {start} IS NULL
               OR (next_start IS NOT NULL AND ({end} IS NULL OR {end} > next_start))
               OR {last_must_be_current}
               OR (coalesce({current}, TRUE) AND {end} IS NOT NULL)
               OR ({end} IS NOT NULL AND {end} < {start})
            ORDER BY {keys}, {start} ASC NULLS LAST
            LIMIT {LIMIT}""",
        {"t": spec.ref},
    )
    return [
        Violation(str(spec.ref), "intervals do not overlap",
                  f"key {key_text(row, spec)}: [{row['s']}, {row['e']}) current={row['c']} "
                  f"next starts {row['next_start']}")
        for row in rows
    ]


def surrogate_keys_unique(tables: InvariantTables, spec: TableSpec) -> list[Violation]:
    """Each surrogate key on one row; a row without one cannot be linked to, so it counts too."""
    name = surrogate_key(spec)
    sk = tables.dialect.quote(name)
    rows = tables.rows(
        f"SELECT {sk} AS id, count(*) AS n FROM t GROUP BY {sk} HAVING count(*) > 1 OR {sk} IS NULL "
        f"ORDER BY {sk} LIMIT {LIMIT}",
        {"t": spec.ref},
    )
    return [Violation(str(spec.ref), "surrogate key unique", f"{name}={r['id']} used {r['n']} times")
            for r in rows]


INVARIANTS = (
    Invariant("one current row per key", one_current_row_per_key),
    Invariant("intervals do not overlap", intervals_do_not_overlap),
    Invariant("surrogate keys unique", surrogate_keys_unique),
)
