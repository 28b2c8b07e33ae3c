"""Reading a pipeline file: YAML with line numbers in its errors, and the typed fields of an entry.

Every error names the file, the table entry (its name, or its position while it has none) and the field.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from lakehouse.core.errors import ConfigError

SCHEMA_PATH = Path(__file__).with_name("pipeline.schema.json")


@dataclass(frozen=True)
class Where:
    """A place in a pipeline file, for error messages."""

    path: str
    table: str | None = None
    field: str | None = None

    def at(self, field: str) -> Where:
        return replace(self, field=field if self.field is None else f"{self.field}.{field}")

    def of_table(self, table: str) -> Where:
        return replace(self, table=table, field=None)

    def describe(self) -> str:
        parts = [self.path]
        if self.table is not None:
            parts.append(f"table {self.table}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        return ": ".join(parts)

    def error(self, problem: str, hint: str | None = None) -> ConfigError:
        return ConfigError(f"{self.describe()}: {problem}", hint=hint)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML would keep the last silently)."""


def _mapping_without_repeats(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key '{key}' appears twice in one mapping", key_node.start_mark)
        seen.add(key)
    return dict(loader.construct_mapping(node))


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_repeats)


def read_yaml(path: Path) -> dict[str, Any]:
    """The file's top-level mapping; a syntax error names its line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the pipeline file: {exc.strerror or exc}.",
                          hint="check the path and its permissions") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: not valid YAML{line}: {problem}.",
                          hint="fix the YAML syntax there (indentation, quotes, a ':' after each key)") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a pipeline file is a mapping with 'pipeline' and 'tables', "
                          f"not {_type_name(data)}.", hint="start the file with `pipeline: NAME`")
    return data


def _type_name(value: object) -> str:
    names = {str: "a string", bool: "true/false", int: "a number", float: "a number", list: "a list",
             dict: "a mapping", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)


def check_fields(entry: dict[str, Any], allowed: tuple[str, ...], where: Where, what: str) -> None:
    """Refuse a field the entry's kind does not take, naming the ones it does."""
    for key in entry:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f" (did you mean '{close[0]}'?)" if close else ""
            raise where.at(str(key)).error(f"{what} has no field '{key}'{suggestion}.",
                                           hint="valid fields: " + ", ".join(allowed))


def require(entry: dict[str, Any], key: str, where: Where) -> Any:
    if key not in entry or entry[key] is None:
        raise where.at(key).error("is required and missing.")
    return entry[key]


def text(value: Any, where: Where) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise where.error(f"must be a string, not {_type_name(value)}.")
    result = str(value)
    if not result.strip():
        raise where.error("must not be empty.")
    return result


def optional_text(entry: dict[str, Any], key: str, where: Where) -> str | None:
    value = entry.get(key)
    return None if value is None else text(value, where.at(key))


def names(entry: dict[str, Any], key: str, where: Where) -> tuple[str, ...]:
    """A list of column or table names; one name alone is refused, since it reads like a list of letters."""
    value = entry.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise where.at(key).error(f"must be a list, not {_type_name(value)}.",
                                  hint=f"write it as [{value}]" if isinstance(value, str) else None)
    items = tuple(text(item, where.at(f"{key}[{i}]")) for i, item in enumerate(value))
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise where.at(key).error(f"names {', '.join(repeated)} more than once.")
    return items


def flag(entry: dict[str, Any], key: str, where: Where, default: bool) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise where.at(key).error(f"must be true or false, not {_type_name(value)} ({value!r}).",
                                  hint="valid values: true, false")
    return value


def optional_flag(entry: dict[str, Any], key: str, where: Where) -> bool | None:
    """A true/false field whose absence means something of its own (a default decided elsewhere)."""
    return None if entry.get(key) is None else flag(entry, key, where, default=False)


def mapping(value: Any, where: Where) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise where.error(f"must be a mapping (key: value), not {_type_name(value)}.")
    return {str(k): v for k, v in value.items()}


def entries(value: Any, where: Where) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise where.error(f"must be a list of mappings, not {_type_name(value)}.")
    return [mapping(item, replace(where, field=f"{where.field}[{i}]")) for i, item in enumerate(value)]


def one_of(value: Any, valid: tuple[str, ...], where: Where) -> str:
    given = text(value, where)
    if given not in valid:
        raise where.error(f"'{given}' is not one of the valid values.", hint="valid values: " + ", ".join(valid))
    return given
