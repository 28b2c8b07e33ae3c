"""The engine-independent change hash.

hash_value = lower-hex SHA-256 of the tracked columns' canonical texts joined by '|', where each
text has '\\' and '|' escaped with a backslash and NULL is the two characters '\\N'. So NULL,
'' and the text '\\N' all hash differently, and no field content can imitate a separator.
The same row gets the same hash in DuckDB, Spark and Python (see tests/test_hashing.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from lakehouse.core.dialects import Dialect
from lakehouse.core.types import decimal_precision_scale

NULL_MARKER = "\\N"
SEPARATOR = "|"


def escape_field(text: str) -> str:
    return text.replace("\\", "\\\\").replace(SEPARATOR, "\\" + SEPARATOR)


def canonical_text(value: Any, type_name: str) -> str | None:
    """Python twin of Dialect.text_of."""
    if value is None:
        return None
    if type_name == "timestamp":
        stamp: dt.datetime = value
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp.strftime("%Y-%m-%d %H:%M:%S.%f")
    if type_name == "date":
        day: dt.date = value
        return day.isoformat()
    if type_name == "boolean":
        return "true" if value else "false"
    precision_scale = decimal_precision_scale(type_name)
    if precision_scale:
        quantum = Decimal(1).scaleb(-precision_scale[1])
        return format(Decimal(value).quantize(quantum), "f")
    return str(value)


def row_hash(values: Sequence[Any], types: Sequence[str]) -> str:
    fields = []
    for value, type_name in zip(values, types, strict=True):
        text = canonical_text(value, type_name)
        fields.append(NULL_MARKER if text is None else escape_field(text))
    return hashlib.sha256(SEPARATOR.join(fields).encode("utf-8")).hexdigest()


def hash_expression(dialect: Dialect, columns: Sequence[tuple[str, str]], prefix: str = "") -> str:
    """SQL for the hash of `columns` [(name, type)], identical across dialects."""
    parts = []
    for name, type_name in columns:
        text = dialect.text_of(prefix + dialect.quote(name), type_name)
        # Only text can hold '\' or '|': the canonical text of a number, date, timestamp or boolean
        # never does, so escaping it would change nothing and cost two replace() calls per value.
        escaped = text if type_name != "string" else (
            # Most text holds neither character: looking for them is cheaper than two replace() calls.
            f"CASE WHEN instr({text}, {dialect.literal(chr(92))}) > 0 OR instr({text}, {dialect.literal(SEPARATOR)}) > 0 "
            f"THEN replace(replace({text}, {dialect.literal(chr(92))}, {dialect.literal(chr(92) * 2)}), "
            f"{dialect.literal(SEPARATOR)}, {dialect.literal(chr(92) + SEPARATOR)}) ELSE {text} END"
        )
        parts.append(f"coalesce({escaped}, {dialect.literal(NULL_MARKER)})")
    joined = f"concat_ws({dialect.literal(SEPARATOR)}, {', '.join(parts)})"
    return dialect.sha256_hex(joined)
