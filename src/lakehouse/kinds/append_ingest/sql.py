"""Append-ingest: raw CSV text rows -> typed bronze rows, with Auto Loader's rescued data."""

from __future__ import annotations

from collections.abc import Sequence

from lakehouse.core.dialects import Dialect
from lakehouse.core.types import value_pattern
from lakehouse.sources.base import MALFORMED_RECORD
from lakehouse.spec.model import (
    DATE_ADDED,
    RESCUED_DATA,
    SOURCE_FILE_MODIFIED,
    SOURCE_FILENAME,
    SOURCE_ROW,
)

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

    Each non-string column is parsed once, in an inner SELECT: its typed value is
    `CASE WHEN <full match> THEN TRY_CAST END`, which is NULL exactly when the raw text is NULL or
    does not parse (see `parses`). The outer SELECT rescues a value when its raw text is not NULL but
    its typed value is, so the pattern match and the cast are not evaluated a second time.
    """
    q = dialect.quote
    taken = {name.lower() for name, _ in schema} | {name.lower() for name in extra_columns}
    taken |= {name.lower() for name in (SOURCE_FILENAME, SOURCE_FILE_MODIFIED, SOURCE_ROW, MALFORMED_RECORD)}
    parsed = []  # the inner SELECT's typed values, next to the raw columns
    select = []
    # (condition, JSON member) pairs: a member is written when its condition holds.
    rescued: list[tuple[str, str]] = []
    for index, (name, type_name) in enumerate(schema):
        raw = q(name)
        pattern = value_pattern(type_name)
        if pattern is None:
            select.append(f"CASE WHEN {parses(dialect, raw, type_name)} THEN {dialect.try_cast(raw, type_name)} END "
                          f"AS {q(name)}")
            continue
        alias = _free_name(f"__typed_{index}", taken)
        parsed.append(f"CASE WHEN {dialect.full_match(raw, pattern)} THEN {dialect.try_cast(raw, type_name)} END "
                      f"AS {q(alias)}")
        select.append(f"{q(alias)} AS {q(name)}")
        rescued.append((f"{raw} IS NOT NULL AND {q(alias)} IS NULL", _member(dialect, name, raw)))
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
    inner = "SELECT " + ",\n              ".join(["*", *parsed]) + f"\n       FROM {source_view}"
    return "SELECT " + ",\n       ".join(select) + f"\nFROM ({inner}) AS {q(_free_name('__parsed', taken))}"


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, prefixed with underscores until no column has it (names compare case-insensitively)."""
    while name.lower() in taken:
        name = "_" + name
    taken.add(name.lower())
    return name


def _member(dialect: Dialect, key: str, value_sql: str) -> str:
    """SQL for the JSON object member `"key":"value"`."""
    return f"{dialect.json_string(dialect.literal(key))} || ':' || {dialect.json_string(value_sql)}"
