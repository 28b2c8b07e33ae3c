"""Column types: Spark DDL names are the lingua franca of specs, stored schemas and both dialects."""

from __future__ import annotations

import re

from lakehouse.core.errors import ConfigError

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


# Type names the engines report that are not the DDL names specs and stored schemas use: Delta's
# JSON names (delta-rs) and Spark's simpleString names. Narrow integers and floats read as the wider
# type the ingest gives such values.
_ENGINE_TYPE_NAMES = {"long": "bigint", "integer": "int", "short": "int", "byte": "int", "smallint": "int",
                      "tinyint": "int", "float": "double", "timestamp_ntz": "timestamp"}


def ddl_type_name(engine_type_name: str) -> str:
    """The Spark DDL name of a column type an engine reports. Names that already are DDL names
    (decimal(p,s), array<...>) pass unchanged: a table may hold types no spec declares."""
    return _ENGINE_TYPE_NAMES.get(engine_type_name, engine_type_name)


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
