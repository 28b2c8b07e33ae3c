"""What holds for a bronze table: its rows are exactly the records of the files its batches took."""

from __future__ import annotations

from lakehouse.kinds.invariants import Invariant, InvariantTables, Violation
from lakehouse.spec.model import SOURCE_FILENAME, TableSpec

RULE = "bronze rows equal rows landed"


def rows_match_landing(tables: InvariantTables, spec: TableSpec) -> list[Violation]:
    landed = tables.landed_records(spec)
    q = tables.dialect.quote
    query = f"SELECT {q(SOURCE_FILENAME)} AS f, count(*) AS n FROM t GROUP BY {q(SOURCE_FILENAME)}"
    in_table = {row["f"]: row["n"] for row in tables.rows(query, {"t": spec.ref})}
    table = str(spec.ref)
    violations = []
    for uri, count in sorted(landed.items()):
        # -1: the file changed or went away since it was taken, so its records cannot be recounted.
        if count >= 0 and in_table.get(uri, 0) != count:
            found = in_table.get(uri, 0)
            violations.append(Violation(table, RULE, f"{uri}: {count} record(s) landed, {found} in the table"))
    unplanned = set(in_table) - set(landed)
    for uri in sorted(u for u in unplanned if u is not None):
        violations.append(Violation(table, RULE,
                                    f"{uri}: {in_table[uri]} row(s) in the table from a file no batch planned"))
    if None in unplanned:
        violations.append(Violation(table, RULE, f"{in_table[None]} row(s) in the table without a {SOURCE_FILENAME}"))
    return violations


INVARIANTS = (Invariant("rows equal records landed in ingested files", rows_match_landing),)
