"""Gold SCD2: the touched keys' history rebuilt from their stored versions plus the batch's events.

The new events of a key are put on one timeline with its stored versions and every validity
interval is derived again:
- the timeline is ordered by effective time (spec.sequence_by); a row without one sorts at
  Scd2Options.undated_effective_time when the source says when its undated rows took effect, else
  at the low date, else before every dated change; rows on the same time keep their arrival order
  (commit, file, row). A dimension without sequence_by is the case where every row is undated: its
  versions follow arrival order. A version starts at its effective time, or at its processing time
  (date_added) when it has none;
- consecutive equal versions form one run, which starts where its earliest member starts: an event
  equal to the version before it (a replay, a re-send) adds nothing, and a late event equal to the
  version after it moves that version's start back instead of adding a row;
- a stored version keeps its surrogate key (never deleted or renumbered), so facts stay linked;
  only its start/end/is_current (and effective time) are corrected. New versions get max + n;
- the first version of a key starts at the low date when the table declares one (Scd2Options.low_date),
  so history older than the first recorded change resolves to it; else at its own start;
- an inferred member (written by a fact for a key the dimension did not have yet) is taken over by
  the key's first real version: updated in place, surrogate kept, and without a low date its start
  kept too, so the facts already linked to it stay in its interval.
"""

from __future__ import annotations

from collections.abc import Sequence

from lakehouse.core.change_feed import CHANGE_TYPE, COMMIT_VERSION, NEW_STATE_TYPES
from lakehouse.core.dialects import Dialect
from lakehouse.core.hashing import hash_expression
from lakehouse.core.merge_plan import MergePlan
from lakehouse.kinds.scd1.sql import tracked_columns
from lakehouse.kinds.scd2.options import DEFAULT_LOW_DATE, Scd2Options
from lakehouse.kinds.scd2.sql import TARGET_ID, surrogate_key
from lakehouse.spec.model import (
    END_DATE,
    HASH_VALUE,
    IS_CURRENT,
    IS_INFERRED,
    SOURCE_FILE_MODIFIED,
    SOURCE_FILENAME,
    SOURCE_ROW,
    START_DATE,
    TableSpec,
)

EVENT_TIME = "__event_time"
START_CANDIDATE = "__start_candidate"
ARRIVAL = "__arrival"
# TRUE on a merge row that is a stored version: its attributes are the stored ones, so a MERGE can
# keep the target's values and the batch need not read them (see merge_plan's kept_columns).
FROM_STORED = "__from_stored"
# The columns that tell arrival order in a bronze change feed, most significant first.
ARRIVAL_COLUMNS = (COMMIT_VERSION, SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW)
# On a timeline row: TRUE for a delete (the spec's apply_as_deletes), which closes the version before it.
IS_DELETE = "__is_delete"
# A delete's hash on the timeline: no SHA-256 hex text equals it, so consecutive deletes form one run
# and a version equal to the one before the delete still opens a new one.
DELETED_HASH = "deleted"


def history_tracked_columns(spec: TableSpec, business: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The columns whose change opens a new version: the tracked ones but track_history_except_column_list,
    whose change only updates the version in place."""
    untracked = set(Scd2Options.of(spec).track_history_except_column_list)
    return [(n, t) for n, t in tracked_columns(spec, business) if n not in untracked]


def in_place_columns(spec: TableSpec, business: Sequence[tuple[str, str]]) -> list[str]:
    """The business columns a version takes from its latest event (track_history_except_column_list)."""
    untracked = set(Scd2Options.of(spec).track_history_except_column_list)
    return [n for n, _ in business if n in untracked]


def stored_deletes_sql(dialect: Dialect, spec: TableSpec, business: Sequence[tuple[str, str]],
                       existing_view: str) -> str:
    """The deletes the stored history records, as timeline rows: a closed version that no stored
    version of its key continues (none starts at its end) was closed by a delete at its end date."""
    q = dialect.quote
    ts = dialect.sql_type("timestamp")
    sk, end, start = q(surrogate_key(spec)), q(END_DATE), q(START_DATE)
    inferred = f"coalesce(x.{q(IS_INFERRED)}, FALSE)"
    keys = {q(k) for k in spec.keys}
    names = ", ".join(f"x.{q(n)}" if q(n) in keys else f"CAST(NULL AS {dialect.sql_type(t)}) AS {q(n)}"
                      for n, t in business)
    # Without effective time every stored row sorts at the undated time, in start order.
    event_time = f"x.{end}" if spec.sequence_by else undated_order_sql(dialect, spec)
    same_key = " AND ".join(f"y.{k} = x.{k}" for k in sorted(keys))
    return f"""
    UNION ALL
    SELECT CAST(NULL AS BIGINT) AS {sk}, {names}, {dialect.literal(DELETED_HASH)} AS {q(HASH_VALUE)},
           CAST({event_time} AS {ts}) AS {EVENT_TIME}, CAST(x.{end} AS {ts}) AS {START_CANDIDATE}, 0 AS __origin,
           CAST(0 AS BIGINT) AS {ARRIVAL}, TRUE AS {IS_DELETE}
    FROM {existing_view} x
    WHERE x.{end} IS NOT NULL AND NOT {inferred}
      AND NOT EXISTS (SELECT 1 FROM {existing_view} y WHERE {same_key} AND y.{start} = x.{end}
                      AND NOT coalesce(y.{q(IS_INFERRED)}, FALSE))"""


def low_date_sql(dialect: Dialect, spec: TableSpec) -> str | None:
    """The declared low date as a timestamp, or None: the table declares none."""
    low = Scd2Options.of(spec).low_date
    return None if low is None else dialect.cast(dialect.literal(low), "timestamp")


def undated_order_sql(dialect: Dialect, spec: TableSpec) -> str:
    """Where a row without effective time sorts: at the options' undated_effective_time when the source
    says when its undated rows took effect (the landing's initial load), else at the low date, else
    before every dated change. Without sequence_by every row sorts here, so arrival decides."""
    options = Scd2Options.of(spec)
    undated = options.undated_effective_time or options.low_date or DEFAULT_LOW_DATE
    return dialect.cast(dialect.literal(undated), "timestamp")


def history_columns(spec: TableSpec, business: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The dimension's columns in table order: surrogate key, business columns, hash, validity, inferred flag."""
    return (
        [(surrogate_key(spec), "bigint")]
        + list(business)
        + [(HASH_VALUE, "string"), (START_DATE, "timestamp"), (END_DATE, "timestamp"), (IS_CURRENT, "boolean"),
           (IS_INFERRED, "boolean")]
    )


def events_sql(
    dialect: Dialect,
    spec: TableSpec,
    business: Sequence[tuple[str, str]],
    arrival_columns: Sequence[str],
    processing_time: str,
    source_view: str = "changes",
) -> str:
    """The batch's change events: one per key and effective time (the last to arrive wins a tie;
    undated rows: one per key and commit).

    A row without effective time (every row without sequence_by) sorts at undated_order_sql and
    starts at its processing time `processing_time` (a column of `source_view`, e.g. date_added).
    """
    q = dialect.quote
    keys = [q(k) for k in spec.keys]
    undated = undated_order_sql(dialect, spec)
    seq = q(spec.sequence_by) if spec.sequence_by else None
    event_time = f"coalesce({seq}, {undated})" if seq else undated
    start = f"coalesce({seq}, {q(processing_time)})" if seq else q(processing_time)
    arrival = [q(c) for c in arrival_columns]
    latest_first = ", ".join(f"{c} DESC" for c in arrival)
    # Undated rows of different commits are different versions (processing order).
    partition = [*keys, event_time] if seq else list(keys)
    if COMMIT_VERSION in arrival_columns:
        partition.append(f"CASE WHEN {seq} IS NULL THEN {q(COMMIT_VERSION)} END" if seq else q(COMMIT_VERSION))
    names = dialect.column_list([n for n, _ in business])
    new_state = ", ".join(dialect.literal(t) for t in NEW_STATE_TYPES)
    not_null_keys = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    hashed = hash_expression(dialect, history_tracked_columns(spec, business))
    flag = ""
    if spec.apply_as_deletes is not None:
        deleted = f"coalesce(({spec.apply_as_deletes}), FALSE)"
        hashed = f"CASE WHEN {deleted} THEN {dialect.literal(DELETED_HASH)} ELSE {hashed} END"
        flag = f", {deleted} AS {IS_DELETE}"
    return f"""
SELECT {names}, {hashed} AS {q(HASH_VALUE)},
       {event_time} AS {EVENT_TIME}, {start} AS {START_CANDIDATE}{flag},
       row_number() OVER (ORDER BY {', '.join(arrival)}) AS {ARRIVAL}
FROM (SELECT *, row_number() OVER (PARTITION BY {', '.join(partition)} ORDER BY {latest_first}) AS __rank
      FROM {source_view}
      WHERE {q(CHANGE_TYPE)} IN ({new_state}) AND {not_null_keys}) ranked
WHERE __rank = 1
"""


def rebuild_sql(
    dialect: Dialect,
    spec: TableSpec,
    business: Sequence[tuple[str, str]],
    max_surrogate_key: int,
    events_view: str = "events",
    existing_view: str = "existing",
) -> str:
    """Rows for one MERGE: changed stored versions (TARGET_ID = their surrogate) and new ones (TARGET_ID NULL).

    `events_view` is events_sql's output; `existing_view` the dimension's rows of the keys in it
    (and no others), with history_columns. Only rows that differ from what is stored come out.
    A stored version comes out with the business values of `existing_view` and FROM_STORED TRUE:
    only its validity (start, end, is_current) and effective time can change, so `existing_view`
    may hold NULL for attributes it did not read (merge_plan's kept_columns keeps the stored ones).
    """
    q = dialect.quote
    ts = dialect.sql_type("timestamp")
    sk, hv = q(surrogate_key(spec)), q(HASH_VALUE)
    seq = q(spec.sequence_by) if spec.sequence_by else None
    keys = [q(k) for k in spec.keys]
    key_list = ", ".join(keys)
    names = [q(n) for n, _ in business]
    low = low_date_sql(dialect, spec)
    undated = undated_order_sql(dialect, spec)
    inferred = f"coalesce({q(IS_INFERRED)}, FALSE)"

    def on(left: str, right: str) -> str:
        return " AND ".join(f"{left}.{k} = {right}.{k}" for k in keys)

    def dated(undated_value: str) -> str:
        return f"coalesce({seq}, {undated_value})" if seq else undated_value

    # A stored first version that starts at the low date would start at its undated time if a late
    # event now precedes it; later undated versions keep their processing-time start.
    stored_start = f"CASE WHEN {q(START_DATE)} = {low} THEN {undated} ELSE {q(START_DATE)} END" if low else q(START_DATE)
    # Without a low date a first version starts at its own time, or where the inferred member it takes over did.
    first_start = low or "coalesce(i.__inferred_start, v.__run_time)"
    # Stored rows come before new events of the same time, and among themselves keep their start order.
    timeline_order = f"PARTITION BY {key_list} ORDER BY {EVENT_TIME}, __origin, {ARRIVAL}, {START_CANDIDATE}, {sk}"
    run_window = f"PARTITION BY {key_list}, __run ORDER BY __pos ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
    run_seq = f",\n           first_value({seq}) OVER ({run_window}) AS __run_seq" if seq else ""
    # A version takes the track_history_except_column_list columns from its run's latest member.
    in_place = {q(n): f"__latest_{i}" for i, n in enumerate(in_place_columns(spec, business))}
    latest = "".join(f",\n           last_value({n}) OVER ({run_window}) AS {alias}" for n, alias in in_place.items())
    final_names = ", ".join(f"n.__run_seq AS {n}" if n == seq else f"n.{in_place[n]} AS {n}" if n in in_place
                            else f"n.{n}" for n in names)
    compared = ([(q(START_DATE), "__start"), (q(END_DATE), "__end"), (hv, hv)] + ([(seq, "__run_seq")] if seq else [])
                + list(in_place.items()))
    deletes = spec.apply_as_deletes is not None
    stored_flag, event_flag = (f", FALSE AS {IS_DELETE}", f", {IS_DELETE}") if deletes else ("", "")
    stored_deletes = stored_deletes_sql(dialect, spec, business, existing_view) if deletes else ""
    # A delete's run ends the version before it and is no version itself.
    versions_only = f" WHERE NOT v.{IS_DELETE}" if deletes else ""
    changed = " OR ".join(
        [f"x.{sk} IS NULL", f"coalesce(x.{q(IS_INFERRED)}, FALSE)"]
        + [dialect.is_distinct(f"x.{a}", f"n.{b}") for a, b in compared]
        + [dialect.is_distinct(f"x.{q(IS_CURRENT)}", "(n.__end IS NULL)")]
    )
    return f"""
WITH timeline AS (
    SELECT {sk}, {', '.join(names)}, {hv}, {dated(undated)} AS {EVENT_TIME},
           CAST({dated(stored_start)} AS {ts}) AS {START_CANDIDATE}, 0 AS __origin, CAST(0 AS BIGINT) AS {ARRIVAL}{stored_flag}
    FROM {existing_view} WHERE NOT {inferred}
    UNION ALL
    SELECT CAST(NULL AS BIGINT) AS {sk}, {', '.join(names)}, {hv}, {EVENT_TIME},
           CAST({START_CANDIDATE} AS {ts}) AS {START_CANDIDATE}, 1 AS __origin, CAST({ARRIVAL} AS BIGINT) AS {ARRIVAL}{event_flag}
    FROM {events_view}{stored_deletes}
),
ordered AS (
    SELECT t.*, row_number() OVER ({timeline_order}) AS __pos,
           lag({hv}) OVER ({timeline_order}) AS __prev_hash,
           lag(__origin) OVER ({timeline_order}) AS __prev_origin
    FROM timeline t
),
runs AS (
    -- A new run starts where the version changes. Two stored versions never share a run: both keep their rows.
    SELECT o.*, sum(CASE WHEN __pos = 1 OR {dialect.is_distinct(hv, '__prev_hash')}
                              OR (__origin = 0 AND __prev_origin = 0) THEN 1 ELSE 0 END)
                OVER (PARTITION BY {key_list} ORDER BY __pos ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __run
    FROM ordered o
),
picked AS (
    -- A run is represented by its stored version if it has one (surrogate kept), else its first event.
    SELECT r.*, row_number() OVER (PARTITION BY {key_list}, __run ORDER BY __origin, __pos) AS __pick,
           first_value({START_CANDIDATE}) OVER ({run_window}) AS __run_time{run_seq}{latest}
    FROM runs r
),
versions AS (
    SELECT p.*, lead(__run_time) OVER (PARTITION BY {key_list} ORDER BY __run) AS __end
    FROM picked p WHERE __pick = 1
),
inferred_members AS (
    SELECT {key_list}, min({sk}) AS __inferred_sk, min({q(START_DATE)}) AS __inferred_start
    FROM {existing_view} WHERE {inferred} GROUP BY {key_list}
),
kept AS (
    -- The first real version of a key known so far only as an inferred member takes over that row.
    SELECT v.*, CASE WHEN v.{sk} IS NOT NULL THEN v.{sk}
                     WHEN v.__run = 1 THEN i.__inferred_sk END AS __kept_sk,
           CASE WHEN v.__run = 1 THEN {first_start} ELSE v.__run_time END AS __start
    FROM versions v LEFT JOIN inferred_members i ON {on('i', 'v')}{versions_only}
),
numbered AS (
    SELECT k.*, {max_surrogate_key} + sum(CASE WHEN __kept_sk IS NULL THEN 1 ELSE 0 END)
                OVER (ORDER BY {key_list}, __run ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __new_sk
    FROM kept k
)
SELECT CAST(coalesce(n.__kept_sk, n.__new_sk) AS BIGINT) AS {sk}, {final_names}, n.{hv},
       CAST(n.__start AS {ts}) AS {q(START_DATE)}, CAST(n.__end AS {ts}) AS {q(END_DATE)},
       n.__end IS NULL AS {q(IS_CURRENT)}, FALSE AS {q(IS_INFERRED)}, CAST(n.__kept_sk AS BIGINT) AS {q(TARGET_ID)},
       n.__origin = 0 AS {FROM_STORED}
FROM numbered n LEFT JOIN {existing_view} x ON x.{sk} = n.__kept_sk
WHERE {changed}
"""


def merge_plan(
    dialect: Dialect, spec: TableSpec, columns: Sequence[str], kept_columns: Sequence[str] = ()
) -> MergePlan:
    """Stored versions are corrected in place (every column: an inferred member gets its attributes).

    `kept_columns` (stored columns the batch did not read) keep the target's value when the merge
    row is a stored version (FROM_STORED); an inferred member taken over gets the source's.
    """
    q = dialect.quote
    sk = surrogate_key(spec)
    assignments = {column: f"s.{q(column)}" for column in columns}
    kept = set(kept_columns)
    updates = {
        c: f"CASE WHEN s.{FROM_STORED} THEN t.{q(c)} ELSE {v} END" if c in kept else v
        for c, v in assignments.items() if c != sk
    }
    return MergePlan(
        on=f"t.{q(sk)} = s.{q(TARGET_ID)}",
        update_condition=None,
        update_set=updates,
        insert_values=assignments,
        insert_condition=f"s.{q(TARGET_ID)} IS NULL",
        deletion_vectors=spec.merge_on_read,
    )


def inferred_members_sql(
    dialect: Dialect,
    dimension_columns: Sequence[tuple[str, str]],
    surrogate_key: str,
    business_key: str,
    low: str,
    max_surrogate_key: int,
    missing_view: str = "missing",
) -> str:
    """One inferred member per key in `missing_view` (column `business_key`): attributes NULL, valid
    from the low date, current, flagged is_inferred, with a fresh surrogate key."""
    q = dialect.quote
    fixed = {
        surrogate_key: f"{max_surrogate_key} + row_number() OVER (ORDER BY {q(business_key)})",
        business_key: q(business_key),
        START_DATE: dialect.cast(dialect.literal(low), "timestamp"),
        IS_CURRENT: "TRUE",
        IS_INFERRED: "TRUE",
    }
    select = [
        f"{dialect.cast(fixed[name], type_name) if name in fixed else f'CAST(NULL AS {dialect.sql_type(type_name)})'}"
        f" AS {q(name)}"
        for name, type_name in dimension_columns
    ]
    return f"SELECT {', '.join(select)} FROM {missing_view}"
