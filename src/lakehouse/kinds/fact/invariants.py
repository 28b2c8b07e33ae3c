"""What holds for a header/line fact: one row per key, and each row's dimension key is the version
of its member that was valid at the row's business date."""

from __future__ import annotations

from lakehouse.kinds.fact.options import FactRules
from lakehouse.kinds.invariants import LIMIT, ONE_ROW_PER_KEY, Invariant, InvariantTables, Violation, key_text
from lakehouse.spec.model import END_DATE, START_DATE, TableSpec


def point_in_time_links(tables: InvariantTables, spec: TableSpec) -> list[Violation]:
    """Every fact row with a member links to that member's version valid at the row's date (start <=
    date < end, as the fact's build joins). A missing version, date or start is a violation."""
    rules = FactRules.of(spec)
    lookup = rules.dimension
    # The fact columns holding the header's member and date; a fact without them has nothing to check.
    by_expression = {column.expression: column.name for column in rules.columns}
    member = by_expression.get(f"h.{lookup.fact_key}")
    as_of = by_expression.get(f"h.{lookup.as_of}")
    if member is None or as_of is None or not tables.exists(lookup.table):
        return []
    dialect = tables.dialect
    q = dialect.quote
    sk, start, end = f"d.{q(lookup.surrogate_key)}", f"d.{q(START_DATE)}", f"d.{q(END_DATE)}"
    date = dialect.cast(f"f.{q(as_of)}", "timestamp")
    rows = tables.rows(
        f"""SELECT {dialect.column_list(spec.keys, 'f.')}, f.{q(member)} AS member, f.{q(as_of)} AS at,
                   f.{q(lookup.output)} AS linked, d.{q(lookup.business_key)} AS linked_member, {start} AS s,
                   {end} AS e
            FROM f LEFT JOIN d ON {sk} = f.{q(lookup.output)}
            WHERE f.{q(member)} IS NOT NULL
              AND ({sk} IS NULL OR {dialect.is_distinct(f'd.{q(lookup.business_key)}', f'f.{q(member)}')}
                   OR {date} IS NULL OR {start} IS NULL OR {start} > {date}
                   OR ({end} IS NOT NULL AND {date} >= {end}))
            ORDER BY {dialect.column_list(spec.keys, 'f.')}, {start} ASC NULLS LAST
            LIMIT {LIMIT}""",
        {"f": spec.ref, "d": lookup.table},
    )
    return [
        Violation(str(spec.ref), "point-in-time dimension key",
                  f"key {key_text(row, spec)}: {lookup.output}={row['linked']} for {member}={row['member']} at "
                  f"{row['at']}, but that version is member {row['linked_member']} valid [{row['s']}, {row['e']})")
        for row in rows
    ]


INVARIANTS = (
    ONE_ROW_PER_KEY,
    Invariant("each dimension key is the version valid at the row's date", point_in_time_links),
)
