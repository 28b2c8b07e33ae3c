"""SCD2 from a change feed: close the current version, add the new one with a fresh surrogate key."""

from __future__ import annotations

from collections.abc import Sequence

from lakehouse.core.change_feed import CHANGE_TYPE, COMMIT_VERSION, NEW_STATE_TYPES
from lakehouse.core.dialects import Dialect
from lakehouse.core.errors import ConfigError
from lakehouse.core.merge_plan import MergePlan
from lakehouse.spec.model import DATE_ADDED, END_DATE, HASH_VALUE, IS_CURRENT, START_DATE, TableSpec

TARGET_ID = "__target_id"


def surrogate_key(spec: TableSpec) -> str:
    """The dimension's surrogate key column (TableSpec refuses an SCD2 table without one)."""
    if spec.surrogate_key is None:
        raise ConfigError(f"{spec.ref}: an SCD2 table needs a surrogate_key column name.")
    return spec.surrogate_key


def dimension_columns(spec: TableSpec, silver_columns: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The dimension's columns in table order: surrogate key, business columns, hash, validity."""
    business = [(n, t) for n, t in silver_columns if n not in (HASH_VALUE, DATE_ADDED, "source_filename")]
    return (
        [(surrogate_key(spec), "bigint")]
        + business
        + [(HASH_VALUE, "string"), (START_DATE, "timestamp"), (END_DATE, "timestamp"), (IS_CURRENT, "boolean")]
    )


def staging_sql(
    dialect: Dialect,
    spec: TableSpec,
    business: Sequence[tuple[str, str]],
    max_surrogate_key: int,
    changes_view: str = "changes",
    current_view: str = "current_dim",
) -> str:
    """Rows for one SCD2 MERGE: new versions (TARGET_ID NULL) and closings of current rows.

    `changes_view` holds change-feed rows (with _change_type and _commit_version); `current_view`
    the dimension's current rows for the keys in the batch. A key changed in several commits of
    the batch gets every version, each valid until the next one starts. A version equal to its
    predecessor (for example after a no-op rewrite) is dropped, so unchanged keys get nothing.
    """
    q = dialect.quote
    sk = q(surrogate_key(spec))
    keys = [q(k) for k in spec.keys]
    key_list = ", ".join(keys)
    names = [q(n) for n, _ in business]
    effective = q(spec.sequence_by) if spec.sequence_by else q(DATE_ADDED)
    new_state = ", ".join(dialect.literal(t) for t in NEW_STATE_TYPES)
    join_current = " AND ".join(f"c.{k} = x.{k}" for k in keys)
    join_new = " AND ".join(f"c.{k} = f.{k}" for k in keys)
    typed_nulls = ", ".join(f"CAST(NULL AS {dialect.sql_type(t)}) AS {q(n)}" for n, t in business)
    return f"""
WITH incoming AS (
    SELECT {', '.join(names)}, {q(HASH_VALUE)}, {effective} AS __start,
           row_number() OVER (PARTITION BY {key_list} ORDER BY {q(COMMIT_VERSION)}, {effective}) AS __n
    FROM {changes_view}
    WHERE {q(CHANGE_TYPE)} IN ({new_state})
),
with_previous AS (
    SELECT i.*, lag({q(HASH_VALUE)}) OVER (PARTITION BY {key_list} ORDER BY __n) AS __previous_hash
    FROM incoming i
),
kept AS (
    SELECT x.* FROM with_previous x LEFT JOIN {current_view} c ON {join_current}
    WHERE (x.__n = 1 AND {dialect.is_distinct('c.' + q(HASH_VALUE), 'x.' + q(HASH_VALUE))})
       OR (x.__n > 1 AND {dialect.is_distinct('x.__previous_hash', 'x.' + q(HASH_VALUE))})
),
versions AS (
    SELECT k.*,
           lead(__start) OVER (PARTITION BY {key_list} ORDER BY __n) AS __end,
           {max_surrogate_key} + row_number() OVER (ORDER BY {key_list}, __n) AS __surrogate
    FROM kept k
)
SELECT CAST(__surrogate AS BIGINT) AS {sk}, {', '.join(names)}, {q(HASH_VALUE)},
       CAST(__start AS {dialect.sql_type('timestamp')}) AS {q(START_DATE)},
       CAST(__end AS {dialect.sql_type('timestamp')}) AS {q(END_DATE)},
       __end IS NULL AS {q(IS_CURRENT)}, CAST(NULL AS BIGINT) AS {q(TARGET_ID)}
FROM versions
UNION ALL
SELECT CAST(NULL AS BIGINT) AS {sk}, {typed_nulls}, CAST(NULL AS {dialect.sql_type('string')}) AS {q(HASH_VALUE)},
       CAST(NULL AS {dialect.sql_type('timestamp')}) AS {q(START_DATE)},
       CAST(min(f.__start) AS {dialect.sql_type('timestamp')}) AS {q(END_DATE)},
       FALSE AS {q(IS_CURRENT)}, c.{sk} AS {q(TARGET_ID)}
FROM {current_view} c JOIN versions f ON {join_new}
GROUP BY c.{sk}
"""


def merge_plan(dialect: Dialect, spec: TableSpec, columns: Sequence[str]) -> MergePlan:
    q = dialect.quote
    return MergePlan(
        on=f"t.{q(surrogate_key(spec))} = s.{q(TARGET_ID)}",
        update_condition=None,
        update_set={END_DATE: f"s.{q(END_DATE)}", IS_CURRENT: "FALSE"},
        insert_values={column: f"s.{q(column)}" for column in columns},
        insert_condition=f"s.{q(TARGET_ID)} IS NULL",
    )
