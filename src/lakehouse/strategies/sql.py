"""SQL building blocks per dialect. Identifiers are always quoted; user text only enters as literals."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lakehouse.errors import ConfigError

_DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
SIMPLE_TYPES = ("string", "bigint", "int", "double", "boolean", "date", "timestamp")


def normalise_type(type_name: str) -> str:
    """Spark DDL type names are the lingua franca of specs and stored schemas."""
    text = type_name.strip().lower().replace(" ", "")
    aliases = {"long": "bigint", "integer": "int", "varchar": "string", "text": "string", "bool": "boolean",
               "float64": "double", "int64": "bigint", "int32": "int"}
    text = aliases.get(text, text)
    if text in SIMPLE_TYPES or _DECIMAL.match(text):
        return text
    raise ConfigError(
        f"Unsupported column type '{type_name}'.",
        hint="valid types: " + ", ".join(SIMPLE_TYPES) + ", decimal(p,s)",
    )


def decimal_precision_scale(type_name: str) -> tuple[int, int] | None:
    match = _DECIMAL.match(type_name)
    return (int(match.group(1)), int(match.group(2))) if match else None


# Full-match patterns a raw CSV value must satisfy to be parsed as the type; anything else is rescued.
def value_pattern(type_name: str) -> str | None:
    if type_name == "string":
        return None
    if type_name == "bigint":
        return r"[+-]?[0-9]{1,18}"
    if type_name == "int":
        return r"[+-]?[0-9]{1,9}"
    if type_name == "double":
        return r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
    if type_name == "boolean":
        return r"(true|false|TRUE|FALSE|True|False)"
    if type_name == "date":
        return r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    if type_name == "timestamp":
        return r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
    precision_scale = decimal_precision_scale(type_name)
    if precision_scale:
        precision, scale = precision_scale
        integer_digits = precision - scale
        fraction = rf"(\.[0-9]{{1,{scale}}})?" if scale else ""
        if integer_digits == 0:
            return rf"[+-]?0?\.[0-9]{{1,{scale}}}"
        return rf"[+-]?[0-9]{{1,{integer_digits}}}{fraction}"
    raise ConfigError(f"No parse rule for type '{type_name}'.")


@dataclass(frozen=True)
class Dialect:
    """The differences between DuckDB and Spark SQL that our strategies need."""

    name: str

    def quote(self, identifier: str) -> str:
        if self.name == "spark":
            return "`" + identifier.replace("`", "``") + "`"
        return '"' + identifier.replace('"', '""') + '"'

    def literal(self, text: str) -> str:
        if self.name == "spark":
            # Spark string literals treat backslash as an escape character.
            return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + text.replace("'", "''") + "'"

    def sql_type(self, type_name: str) -> str:
        if self.name == "spark":
            return type_name.upper()
        return {
            "string": "VARCHAR",
            "bigint": "BIGINT",
            "int": "INTEGER",
            "double": "DOUBLE",
            "boolean": "BOOLEAN",
            "date": "DATE",
            # Delta's `timestamp` is an instant; DuckDB's TIMESTAMPTZ maps to it (sessions run in UTC).
            "timestamp": "TIMESTAMPTZ",
        }.get(type_name, type_name.upper())

    def cast(self, expr: str, type_name: str) -> str:
        return f"CAST({expr} AS {self.sql_type(type_name)})"

    def try_cast(self, expr: str, type_name: str) -> str:
        if self.name == "spark":
            return f"try_cast({expr} AS {self.sql_type(type_name)})"
        return f"TRY_CAST({expr} AS {self.sql_type(type_name)})"

    def full_match(self, expr: str, pattern: str) -> str:
        if self.name == "spark":
            return f"({expr} RLIKE {self.literal('^(' + pattern + ')$')})"
        return f"regexp_full_match({expr}, {self.literal(pattern)})"

    def sha256_hex(self, expr: str) -> str:
        if self.name == "spark":
            return f"sha2({expr}, 256)"
        return f"sha256({expr})"

    def json_string(self, expr: str) -> str:
        """`expr` as a JSON string literal (quoted and escaped)."""
        if self.name == "spark":
            pattern = self.literal('^[{]"v":(.*)[}]$')
            return f"regexp_extract(to_json(named_struct('v', {expr})), {pattern}, 1)"
        return f"CAST(to_json({expr}) AS VARCHAR)"

    def text_of(self, expr: str, type_name: str) -> str:
        """Canonical text of a typed value: decimals at their scale, ISO dates, UTC timestamps."""
        if type_name == "string":
            return expr
        if type_name == "timestamp":
            if self.name == "spark":
                return f"date_format({expr}, 'yyyy-MM-dd HH:mm:ss.SSSSSS')"
            return f"strftime(timezone('UTC', {expr}), '%Y-%m-%d %H:%M:%S.%f')"
        if type_name == "date":
            if self.name == "spark":
                return f"date_format({expr}, 'yyyy-MM-dd')"
            # DuckDB's text of a date is ISO (zero-padded, years 1-9999) and cheaper than strftime.
            return self.cast(expr, "string")
        if type_name == "boolean":
            return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
        return self.cast(expr, "string")

    def column_list(self, columns: list[str] | tuple[str, ...], prefix: str = "") -> str:
        return ", ".join(prefix + self.quote(column) for column in columns)


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
