"""Which header names may become columns of the stored schema, whatever the format and engine.

A name is compared with the others and with the stored schema case-insensitively, because DuckDB,
Spark and Delta resolve column names that way: 'c_name' and 'C_NAME' are one column to all of them,
and a relation holding both fails. A name that is a number, a date or a piece of JSON is a data row
read as the header, or a file of another format; evolving it into the schema would be permanent.
Such headers are quarantined before the schema is touched; in rescue mode, once a schema is stored,
names that look like data are rescued (their values go to _rescued_data) unless the whole header does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lakehouse.core.errors import SchemaEvolutionError
from lakehouse.core.types import value_pattern
from lakehouse.spec.model import EvolutionMode

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_JSON_LIKE = re.compile(r"^\s*[\[{]|[{}]|\"\s*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def trimmed(header: Sequence[str]) -> tuple[list[str], str | None]:
    """The names without surrounding whitespace, and a note for the run when any had some (Spark's
    ignoreLeadingWhiteSpace/ignoreTrailingWhiteSpace do the same to a header)."""
    names = [name.strip() for name in header]
    changed = [f"{raw!r} -> {name!r}" for raw, name in zip(header, names) if raw != name]
    if not changed:
        return names, None
    return names, "header names trimmed of surrounding spaces: " + ", ".join(changed[:5]) + (
        " ..." if len(changed) > 5 else "")


def looks_like_data(name: str) -> bool:
    """A number, a date or timestamp, JSON, or text with a line break or other control character."""
    if _NUMBER.fullmatch(name) or _JSON_LIKE.search(name) or _CONTROL.search(name):
        return True
    return any(re.fullmatch(pattern, name) for pattern in (value_pattern("date"), value_pattern("timestamp"))
               if pattern is not None)


def case_clashes(header: Sequence[str], stored: Sequence[str]) -> list[str]:
    """Descriptions of names equal to another header name or a stored column but for case."""
    found = []
    seen: dict[str, str] = {}
    for name in header:
        other = seen.setdefault(name.lower(), name)
        if other != name:
            found.append(f"'{other}' and '{name}' in the header")
    stored_by_lower = {name.lower(): name for name in stored}
    for name in header:
        spelled = stored_by_lower.get(name.lower())
        if spelled is not None and spelled != name:
            found.append(f"'{name}' in the header, stored as '{spelled}'")
    return found


def vet_header(header: Sequence[str], stored: Sequence[str], mode: EvolutionMode, uri: str) -> list[str]:
    """The header names to rescue rather than type (rescue mode only), or raise SchemaEvolutionError
    for a header the schema must not take. `stored`: the stored schema's names (empty before v0)."""
    clashes = case_clashes(header, stored)
    if clashes:
        raise SchemaEvolutionError(
            f"{uri}: header names clash once case is ignored: {'; '.join(clashes)}. DuckDB, Spark and Delta "
            "treat such names as one column.",
            hint="rename them in the header (a column already stored keeps its stored spelling) and land the "
                 "file again under the same name",
        )
    data_like = [name for name in header if name not in stored and looks_like_data(name)]
    if not data_like:
        return []
    shown = ", ".join(repr(name[:40]) for name in data_like[:5]) + (" ..." if len(data_like) > 5 else "")
    # A header sharing no name with the stored schema is most likely a data row: rescuing it would lose it.
    if 2 * len(data_like) >= len(header) or (stored and not set(header) & set(stored)):
        raise SchemaEvolutionError(
            f"{uri}: the first line does not look like a header: {shown} look like values. The file seems to "
            "have no header row, or not to be CSV.",
            hint="add the header row (column names) as the first line, or re-export the file as CSV, and land it "
                 "again under the same name",
        )
    if mode is EvolutionMode.RESCUE and stored:  # before v0 there is no schema to rescue beside
        return data_like
    raise SchemaEvolutionError(
        f"{uri}: header name(s) {shown} look like data (a number, date or JSON), not column names; they are not "
        f"added to the schema (evolution mode {mode.value}).",
        hint="fix the header and land the file again under the same name, or use the evolution mode rescue to "
             "keep such columns in _rescued_data",
    )
