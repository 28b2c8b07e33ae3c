"""Append-ingest: raw CSV text rows -> typed bronze rows, with Auto Loader's rescued data."""

from __future__ import annotations

from typing import Sequence

from lakehouse.spec.model import (
    DATE_ADDED,
    RESCUED_DATA,
    SOURCE_FILE_MODIFIED,
    SOURCE_FILENAME,
    SOURCE_ROW,
)
from lakehouse.strategies.sql import Dialect, value_pattern

# The raw relation a reader hands to the ingest SQL carries this (and the lineage columns).
MALFORMED_RECORD = "__malformed_record"
CORRUPT_RECORD_KEY = "_corrupt_record"
FILE_PATH_KEY = "_file_path"


def parses(dialect: Dialect, raw: str, type_name: str) -> str:
    """SQL condition: the raw text is NULL or parses as `type_name` without loss."""
    pattern = value_pattern(type_name)
    if pattern is None:
        return "TRUE"
    condition = f"{dialect.full_match(raw, pattern)} AND {dialect.try_cast(raw, type_name)} IS NOT NULL"
    return f"({raw} IS NULL OR ({condition}))"


def typed_projection_sql(
    dialect: Dialect,
    schema: Sequence[tuple[str, str]],
    extra_columns: Sequence[str],
    date_added_iso: str,
    source_view: str = "raw",
) -> str:
    """SELECT that types every schema column and rescues what does not parse.

    `extra_columns` are raw columns not in the schema (rescue mode): they go to _rescued_data.
    A value that does not parse becomes NULL in its column and is kept, as text, in _rescued_data,
    keyed by column name, with the file path, as Auto Loader does.
    """
    q = dialect.quote
    select = []
    # (condition, JSON member) pairs: a member is written when its condition holds.
    rescued: list[tuple[str, str]] = []
    for name, type_name in schema:
        raw = q(name)
        ok = parses(dialect, raw, type_name)
        select.append(f"CASE WHEN {ok} THEN {dialect.try_cast(raw, type_name)} END AS {q(name)}")
        if type_name != "string":
            rescued.append((f"NOT {ok}", _member(dialect, name, raw)))
    for name in extra_columns:
        rescued.append((f"{q(name)} IS NOT NULL", _member(dialect, name, q(name))))
    malformed = q(MALFORMED_RECORD)
    rescued.append((f"{malformed} IS NOT NULL", _member(dialect, CORRUPT_RECORD_KEY, malformed)))
    any_rescued = " OR ".join(f"({condition})" for condition, _ in rescued)
    members = ", ".join(f"CASE WHEN {condition} THEN {member} END" for condition, member in rescued)
    file_path = _member(dialect, FILE_PATH_KEY, q(SOURCE_FILENAME))
    rescued_sql = f"CASE WHEN {any_rescued} THEN '{{' || concat_ws(',', {members}, {file_path}) || '}}' END"
    select += [
        f"{dialect.cast(dialect.literal(date_added_iso), 'timestamp')} AS {q(DATE_ADDED)}",
        q(SOURCE_FILENAME),
        q(SOURCE_FILE_MODIFIED),
        q(SOURCE_ROW),
        f"{rescued_sql} AS {q(RESCUED_DATA)}",
    ]
    return "SELECT " + ",\n       ".join(select) + f"\nFROM {source_view}"


def _member(dialect: Dialect, key: str, value_sql: str) -> str:
    """SQL for the JSON object member `"key":"value"`."""
    return f"{dialect.json_string(dialect.literal(key))} || ':' || {dialect.json_string(value_sql)}"
