"""JSON lines as text values, the way Spark's JSON reader (Jackson) gives them to a string column.

Auto Loader, without inferColumnTypes, reads every top-level field of a JSON object as a string:
- a string is its value; true/false are 'true'/'false'; null is NULL;
- an integer keeps its digits; a number with a fraction or exponent is the text of the double it
  parses to, as Java prints it (1.50e3 -> '1500.0', 1e20 -> '1.0E20');
- an object or array is its JSON text, compact, non-ASCII kept, numbers printed as above.
A line is a record when it parses as a JSON object; content after the object is ignored, as Jackson
ignores it. Any other non-blank line (an array, a scalar, broken JSON) is a malformed record.
Lines end at LF, CRLF or CR, as Hadoop's line reader splits them; blank lines are skipped.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_LINE_END = re.compile(r"\r\n|\r|\n")
_BLANK = re.compile(r"[ \t]*")
_DECODER = json.JSONDecoder()
# JSON string escaping without \\u-escaping non-ASCII text, as Jackson writes it (json.dumps ensure_ascii=False).
_quoted = json.encoder.encode_basestring


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line: its number (from 1), its fields as text, or its text when malformed."""

    number: int
    fields: dict[str, str | None] | None
    text: str


def java_double_text(value: float) -> str:
    """`value` as Java's Double.toString prints it (what Jackson writes for a double)."""
    text = repr(value)
    if 1e-3 <= abs(value) < 1e7:  # repr prints these plain, with a fraction digit, as Java does
        return text
    return java_number_text(text)


def java_number_text(shortest: str) -> str:
    """A float's shortest round-trip text (Python's repr, Arrow's cast to string: '1e+20', '12345678',
    '1.1') as Java's Double.toString or Float.toString prints the same digits: plain with at least one
    fraction digit from 1e-3 up to 1e7, else 'd.dddE<n>' (JDK 19+; older JDKs may add a digit)."""
    lowered = shortest.lower()
    if lowered in ("nan", "inf", "-inf", "infinity", "-infinity"):
        return {"nan": "NaN", "-inf": "-Infinity", "-infinity": "-Infinity"}.get(lowered, "Infinity")
    number = Decimal(shortest)
    sign = "-" if number.is_signed() else ""
    magnitude = abs(number)
    if magnitude == 0:
        return f"{sign}0.0"
    if Decimal("1e-3") <= magnitude < Decimal("1e7"):
        text = format(magnitude.normalize(), "f")
        return sign + (text if "." in text else text + ".0")
    digits = "".join(str(digit) for digit in magnitude.normalize().as_tuple().digits)
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{magnitude.adjusted()}"


def compact_json(value: Any) -> str:
    """`value` (as json.loads gives it, or a nested Parquet value) as Jackson's compact JSON text."""
    kind = type(value)
    if kind is str:
        return _quoted(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        return java_double_text(value)
    if value is None:
        return "null"
    if kind is dict:
        return "{" + ",".join(f"{_quoted(str(k))}:{compact_json(v)}" for k, v in value.items()) + "}"
    if kind is list or kind is tuple:
        return "[" + ",".join(compact_json(item) for item in value) + "]"
    return _other_json(value)


def _other_json(value: Any) -> str:
    """Values only Parquet nests: written as Spark's to_json writes them."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return _quoted(moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
                       + ("Z" if value.tzinfo else ""))
    if isinstance(value, date):
        return _quoted(value.isoformat())
    if isinstance(value, bytes):
        return _quoted(base64.b64encode(value).decode("ascii"))
    return _quoted(str(value))


def field_text(value: Any) -> str | None:
    """A top-level field's value as the text a string column holds (see the module docstring)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return compact_json(value)


def parse_object(line: str) -> dict[str, Any] | None:
    """The JSON object the line starts with, or None when it does not start with one."""
    stripped = line.lstrip(" \t")
    try:
        value, _ = _DECODER.raw_decode(stripped)
    except (json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def json_lines(text: str) -> Iterator[JsonLine]:
    """The non-blank lines of `text`, each parsed as one record or kept as a malformed one."""
    for index, line in enumerate(_LINE_END.split(text), start=1):
        if _BLANK.fullmatch(line):
            continue
        parsed = parse_object(line)
        fields = None if parsed is None else {str(key): field_text(value) for key, value in parsed.items()}
        yield JsonLine(index, fields, line)
