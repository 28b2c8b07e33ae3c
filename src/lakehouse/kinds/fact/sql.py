"""The header/line fact: which headers a batch touches, and their fact rows with a point-in-time key.

Views the SQL expects (names are parameters with these defaults):
- header_changes / line_changes / dimension_changes: change-feed rows of the three inputs;
- headers / lines: current rows of the touched headers and their lines;
- dimension: the dimension's rows (surrogate, business key, start/end) for those headers' keys.
"""

from __future__ import annotations

from lakehouse.core.change_feed import CHANGE_TYPE, NEW_STATE_TYPES
from lakehouse.core.dialects import Dialect
from lakehouse.core.hashing import hash_expression
from lakehouse.kinds.fact.options import FactRules
from lakehouse.spec.model import END_DATE, HASH_VALUE, IS_INFERRED, START_DATE


def _new_state(dialect: Dialect) -> str:
    return f"{dialect.quote(CHANGE_TYPE)} IN ({', '.join(dialect.literal(t) for t in NEW_STATE_TYPES)})"


def touched_headers_sql(
    dialect: Dialect, rules: FactRules, header_changes: str | None, line_changes: str | None,
    headers_of_changed_members: str | None,
) -> str:
    """Header keys whose fact rows must be computed again: changed headers, headers of changed lines,
    and headers whose dimension member changed (a correction of its history can re-point them)."""
    q = dialect.quote
    key = q(rules.header_key)
    parts = []
    if header_changes:
        parts.append(f"SELECT {key} FROM {header_changes} WHERE {_new_state(dialect)}")
    if line_changes:
        parts.append(f"SELECT {q(rules.line_header_key)} AS {key} FROM {line_changes} WHERE {_new_state(dialect)}")
    if headers_of_changed_members:
        parts.append(f"SELECT {key} FROM {headers_of_changed_members}")
    if not parts:
        raise ValueError("touched_headers_sql needs at least one input")
    return f"SELECT DISTINCT {key} FROM ({' UNION ALL '.join(parts)}) u WHERE {key} IS NOT NULL"


FOREVER = "9999-12-31 00:00:00"


def changed_member_ranges_sql(dialect: Dialect, rules: FactRules, dimension_changes: str = "dimension_changes") -> str:
    """Per changed dimension member, the business-date ranges whose valid version changed.

    A header dated in such a range may now link to another version; one dated elsewhere still links
    to the same surrogate key. A new version contributes its whole validity; an updated one (same
    surrogate key) only the stretches between its old and new start and its old and new end. So an
    in-order change, which closes the current version today, touches only headers dated from today
    on, not the member's whole order history. Columns: the header's member key, __from, __until.
    Inferred members just written by the fact itself are left out: their headers were linked already.
    """
    q = dialect.quote
    lookup = rules.dimension
    sk, bk = q(lookup.surrogate_key), q(lookup.business_key)
    forever = dialect.cast(dialect.literal(FOREVER), "timestamp")
    start, end = q(START_DATE), q(END_DATE)
    version = q("_commit_version")
    change = q(CHANGE_TYPE)

    def bound(alias: str, column: str) -> str:
        return f"coalesce({alias}.{column}, {forever})"

    return f"""
WITH post AS (
    SELECT * FROM {dimension_changes}
    WHERE {change} IN ({', '.join(dialect.literal(t) for t in NEW_STATE_TYPES)}) AND NOT coalesce({q(IS_INFERRED)}, FALSE)
),
pre AS (SELECT * FROM {dimension_changes} WHERE {change} = {dialect.literal('update_preimage')}),
paired AS (
    SELECT n.{bk} AS member, o.{sk} AS old_key,
           {bound('n', start)} AS new_start, {bound('n', end)} AS new_end,
           {bound('o', start)} AS old_start, {bound('o', end)} AS old_end
    FROM post n LEFT JOIN pre o ON o.{sk} = n.{sk} AND o.{version} = n.{version}
)
SELECT member AS {q(lookup.fact_key)}, new_start AS __from, new_end AS __until FROM paired WHERE old_key IS NULL
UNION ALL
SELECT member, least(old_start, new_start), greatest(old_start, new_start) FROM paired
WHERE old_key IS NOT NULL AND old_start <> new_start
UNION ALL
SELECT member, least(old_end, new_end), greatest(old_end, new_end) FROM paired
WHERE old_key IS NOT NULL AND old_end <> new_end
"""


def headers_in_ranges_sql(dialect: Dialect, rules: FactRules, headers: str = "headers", ranges: str = "ranges") -> str:
    """Keys of the headers whose business date falls in one of their member's changed ranges."""
    q = dialect.quote
    lookup = rules.dimension
    as_of = dialect.cast(f"h.{q(lookup.as_of)}", "timestamp")
    return (
        f"SELECT DISTINCT h.{q(rules.header_key)} FROM {headers} h JOIN {ranges} r "
        f"ON h.{q(lookup.fact_key)} = r.{q(lookup.fact_key)} AND {as_of} >= r.__from AND {as_of} < r.__until"
    )


def missing_members_sql(
    dialect: Dialect, rules: FactRules, headers: str = "headers", lines: str = "lines", dimension: str = "dimension"
) -> str:
    """Dimension keys that lines reference (through their header) but the dimension lacks entirely:
    late-arriving members, which get inferred rows."""
    q = dialect.quote
    lookup = rules.dimension
    return f"""
SELECT DISTINCT h.{q(lookup.fact_key)} AS {q(lookup.business_key)}
FROM {headers} h
WHERE h.{q(lookup.fact_key)} IS NOT NULL
  AND EXISTS (SELECT 1 FROM {lines} l WHERE l.{q(rules.line_header_key)} = h.{q(rules.header_key)})
  AND NOT EXISTS (SELECT 1 FROM {dimension} d WHERE d.{q(lookup.business_key)} = h.{q(lookup.fact_key)})
"""


def fact_rows_sql(
    dialect: Dialect, rules: FactRules, key_columns: tuple[str, ...],
    headers: str = "headers", lines: str = "lines", dimension: str = "dimension",
) -> str:
    """One fact row per line with a header; the dimension key is the member's last version starting
    at or before the header's business date. Versions follow each other without gaps unless a delete
    closed one, so this is the version valid at the date (start <= as_of < end); a date at or after a
    delete, before any later insert, links to the version the delete closed (docs/cdc.md). hash_value
    covers every non-key column, so an unchanged row is never rewritten."""
    q = dialect.quote
    lookup = rules.dimension
    as_of = dialect.cast(f"h.{q(lookup.as_of)}", "timestamp")
    typed = [(c.name, dialect.cast(c.expression, c.type), c.type) for c in rules.columns]
    typed.insert(2, (lookup.output, f"d.{q(lookup.surrogate_key)}", "bigint"))
    hashed = [(name, type_name) for name, _, type_name in typed if name not in key_columns]
    select = ",\n           ".join(f"{expression} AS {q(name)}" for name, expression, _ in typed)
    return f"""
SELECT r.*, {hash_expression(dialect, hashed)} AS {q(HASH_VALUE)}
FROM (
    SELECT {select}
    FROM {lines} l
    JOIN {headers} h ON h.{q(rules.header_key)} = l.{q(rules.line_header_key)}
    LEFT JOIN (
        SELECT {q(lookup.surrogate_key)}, {q(lookup.business_key)}, {q(START_DATE)},
               lead({q(START_DATE)}) OVER (PARTITION BY {q(lookup.business_key)} ORDER BY {q(START_DATE)}) AS __next_start
        FROM {dimension}
    ) d
      ON d.{q(lookup.business_key)} = h.{q(lookup.fact_key)}
     AND d.{q(START_DATE)} <= {as_of}
     AND (d.__next_start IS NULL OR {as_of} < d.__next_start)
) r
"""


def ranges_across_deletes_sql(dialect: Dialect, rules: FactRules, ranges: str = "ranges",
                              dimension: str = "dimension") -> str:
    """The changed ranges, each one ending where a delete's gap starts or inside it extended to the
    gap's end (the member's next start, or forever): a header dated in the gap links to the version
    before it, so a change of that version's end re-points those headers too. `dimension` holds the
    members' current versions (business key, start, end)."""
    q = dialect.quote
    lookup = rules.dimension
    bk, start, end = q(lookup.business_key), q(START_DATE), q(END_DATE)
    forever = dialect.cast(dialect.literal(FOREVER), "timestamp")
    return f"""
WITH versions AS (
    SELECT {bk} AS member, {end} AS gap_from,
           lead({start}) OVER (PARTITION BY {bk} ORDER BY {start}) AS next_start
    FROM {dimension}
),
gaps AS (
    SELECT member, gap_from, coalesce(next_start, {forever}) AS gap_until FROM versions
    WHERE gap_from IS NOT NULL AND (next_start IS NULL OR next_start > gap_from)
)
SELECT r.{q(lookup.fact_key)}, r.__from, coalesce(g.gap_until, r.__until) AS __until
FROM {ranges} r LEFT JOIN gaps g
  ON g.member = r.{q(lookup.fact_key)} AND r.__until >= g.gap_from AND r.__until < g.gap_until
"""


def has_bounded_range_sql(dialect: Dialect, ranges: str = "ranges") -> str:
    """Rows only when a range ends before forever: an in-order change's ranges all run to forever, so
    only then can one end at a delete's gap."""
    forever = dialect.cast(dialect.literal(FOREVER), "timestamp")
    return f"SELECT 1 AS bounded FROM {ranges} WHERE __until < {forever} LIMIT 1"
