"""SQL building blocks per dialect. Identifiers are always quoted; user text only enters as literals.

A strategy writes its SQL once against `Dialect`; each subclass holds one engine's spelling, so no
code outside this module asks which engine it runs on.
"""

from __future__ import annotations

from collections.abc import Sequence


class Dialect:
    """The differences between DuckDB and Spark SQL that the strategies need."""

    name: str

    def quote(self, identifier: str) -> str:
        raise NotImplementedError

    def literal(self, text: str) -> str:
        raise NotImplementedError

    def sql_type(self, type_name: str) -> str:
        raise NotImplementedError

    def try_cast(self, expr: str, type_name: str) -> str:
        raise NotImplementedError

    def full_match(self, expr: str, pattern: str) -> str:
        raise NotImplementedError

    def sha256_hex(self, expr: str) -> str:
        raise NotImplementedError

    def json_string(self, expr: str) -> str:
        """`expr` as a JSON string literal (quoted and escaped)."""
        raise NotImplementedError

    def is_distinct(self, left: str, right: str) -> str:
        """NULL-safe inequality: NULL vs NULL is not a change, NULL vs a value is."""
        raise NotImplementedError

    def timestamp_text(self, expr: str) -> str:
        raise NotImplementedError

    def date_text(self, expr: str) -> str:
        raise NotImplementedError

    def cast(self, expr: str, type_name: str) -> str:
        return f"CAST({expr} AS {self.sql_type(type_name)})"

    def text_of(self, expr: str, type_name: str) -> str:
        """Canonical text of a typed value: decimals at their scale, ISO dates, UTC timestamps."""
        if type_name == "string":
            return expr
        if type_name == "timestamp":
            return self.timestamp_text(expr)
        if type_name == "date":
            return self.date_text(expr)
        if type_name == "boolean":
            return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
        return self.cast(expr, "string")

    def column_list(self, columns: Sequence[str], prefix: str = "") -> str:
        return ", ".join(prefix + self.quote(column) for column in columns)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


class DuckDBDialect(Dialect):
    name = "duckdb"

    _TYPES = {
        "string": "VARCHAR",
        "bigint": "BIGINT",
        "int": "INTEGER",
        "double": "DOUBLE",
        "boolean": "BOOLEAN",
        "date": "DATE",
        # Delta's `timestamp` is an instant; DuckDB's TIMESTAMPTZ maps to it (sessions run in UTC).
        "timestamp": "TIMESTAMPTZ",
    }

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def sql_type(self, type_name: str) -> str:
        return self._TYPES.get(type_name, type_name.upper())

    def try_cast(self, expr: str, type_name: str) -> str:
        return f"TRY_CAST({expr} AS {self.sql_type(type_name)})"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"regexp_full_match({expr}, {self.literal(pattern)})"

    def sha256_hex(self, expr: str) -> str:
        return f"sha256({expr})"

    def json_string(self, expr: str) -> str:
        return f"CAST(to_json({expr}) AS VARCHAR)"

    def is_distinct(self, left: str, right: str) -> str:
        return f"{left} IS DISTINCT FROM {right}"

    def timestamp_text(self, expr: str) -> str:
        return f"strftime(timezone('UTC', {expr}), '%Y-%m-%d %H:%M:%S.%f')"

    def date_text(self, expr: str) -> str:
        # DuckDB's text of a date is ISO (zero-padded, years 1-9999) and cheaper than strftime.
        return self.cast(expr, "string")


class SparkDialect(Dialect):
    name = "spark"

    def quote(self, identifier: str) -> str:
        return "`" + identifier.replace("`", "``") + "`"

    def literal(self, text: str) -> str:
        # Spark string literals treat backslash as an escape character.
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def sql_type(self, type_name: str) -> str:
        return type_name.upper()

    def try_cast(self, expr: str, type_name: str) -> str:
        return f"try_cast({expr} AS {self.sql_type(type_name)})"

    def full_match(self, expr: str, pattern: str) -> str:
        return f"({expr} RLIKE {self.literal('^(' + pattern + ')$')})"

    def sha256_hex(self, expr: str) -> str:
        return f"sha2({expr}, 256)"

    def json_string(self, expr: str) -> str:
        pattern = self.literal('^[{]"v":(.*)[}]$')
        return f"regexp_extract(to_json(named_struct('v', {expr})), {pattern}, 1)"

    def is_distinct(self, left: str, right: str) -> str:
        return f"NOT ({left} <=> {right})"

    def timestamp_text(self, expr: str) -> str:
        return f"date_format({expr}, 'yyyy-MM-dd HH:mm:ss.SSSSSS')"

    def date_text(self, expr: str) -> str:
        return f"date_format({expr}, 'yyyy-MM-dd')"


DUCKDB: Dialect = DuckDBDialect()
SPARK: Dialect = SparkDialect()
