"""The catalog as code: YAML files under `catalog/` describing schemas and their tables.

One file per schema, for example `catalog/silver.yaml`:

    schema:
      name: silver
      comment: Cleaned, deduplicated current state
      owner: data-platform
      properties: {layer: silver}
    tables:
      - name: customer
        comment: TPC-H customers, SCD1
        properties: {delta.enableChangeDataFeed: "true"}
        columns:                 # column comments; the types come from the Delta log
          c_custkey: Customer key

Adding a table is adding an entry under `tables:`. Locations are not written here: they follow
the warehouse contract, `<warehouse>/<schema>` and `<warehouse>/<schema>/<table>`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lakehouse.catalog.names import validate_identifier
from lakehouse.core.errors import CatalogError

SPEC_DIR_ENV = "LAKEHOUSE_CATALOG_SPEC"
DEFAULT_SPEC_DIR = "catalog"
_SCHEMA_KEYS = {"name", "comment", "owner", "properties"}
_TABLE_KEYS = {"name", "comment", "properties", "columns"}
_FILE_KEYS = {"schema", "tables"}


@dataclass(frozen=True)
class TableEntry:
    schema: str
    name: str
    comment: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    column_comments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SchemaEntry:
    name: str
    comment: str = ""
    owner: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    tables: tuple[TableEntry, ...] = ()


@dataclass(frozen=True)
class CatalogSpec:
    schemas: tuple[SchemaEntry, ...]
    source: str = ""

    def schema(self, name: str) -> SchemaEntry | None:
        return next((schema for schema in self.schemas if schema.name == name), None)

    def table(self, schema: str, name: str) -> TableEntry | None:
        entry = self.schema(schema)
        return next((table for table in entry.tables if table.name == name), None) if entry else None


# The repository's own catalog/, for a source checkout run from another directory.
_CHECKOUT_SPEC_DIR = Path(__file__).resolve().parents[3] / DEFAULT_SPEC_DIR


def default_spec_dir() -> Path:
    """$LAKEHOUSE_CATALOG_SPEC, else ./catalog, else the source checkout's catalog/.

    `lakehouse run` registers tables from this spec and `lakehouse catalog drift` compares with
    it, so both must find the same files wherever they are started (the jobs run from anywhere).
    """
    if os.environ.get(SPEC_DIR_ENV):
        return Path(os.environ[SPEC_DIR_ENV])
    here = Path(DEFAULT_SPEC_DIR)
    if not here.is_dir() and _CHECKOUT_SPEC_DIR.is_dir():
        return _CHECKOUT_SPEC_DIR
    return here


def _strings(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CatalogError(f"{where} must be a mapping of names to strings, got {type(value).__name__}.",
                           hint="write it as `key: value` lines")
    result = {}
    for key, item in value.items():
        if isinstance(item, (dict, list)) or item is None:
            raise CatalogError(f"{where}: the value of '{key}' must be a string, got {item!r}.",
                               hint='quote it, for example: delta.enableChangeDataFeed: "true"')
        # YAML reads true as a bool; the metastore stores the lowercase text Spark writes.
        result[str(key)] = str(item).lower() if isinstance(item, bool) else str(item)
    return result


# Any: YAML values; each is checked where it is read (_strings, _wrap_name, str()).
def _check_keys(mapping: object, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise CatalogError(f"{where} must be a mapping, got {type(mapping).__name__}.", hint="see catalog/README.md")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise CatalogError(f"{where} has unknown keys: {', '.join(map(str, unknown))}.",
                           hint=f"allowed keys: {', '.join(sorted(allowed))}")
    return mapping


def _wrap_name(value: object, kind: str, where: str) -> str:
    try:
        return validate_identifier(value, kind)
    except CatalogError as exc:
        raise CatalogError(f"{where}: {exc.message}", hint=exc.hint) from exc


def parse_schema_file(text: str, source: str) -> SchemaEntry:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source} is not valid YAML: {exc}", hint="fix the YAML syntax") from exc
    document = _check_keys(document, _FILE_KEYS, source)
    schema = _check_keys(document.get("schema"), _SCHEMA_KEYS, f"{source}: schema")
    schema_name = _wrap_name(schema.get("name"), "schema", f"{source}: schema.name")
    raw_tables = document.get("tables") or []
    if not isinstance(raw_tables, list):
        raise CatalogError(f"{source}: tables must be a list of table entries, got {type(raw_tables).__name__}.",
                           hint="write each table as a `- name: ...` item under `tables:`")
    tables: list[TableEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_tables):
        where = f"{source}: tables[{index}]"
        raw = _check_keys(raw, _TABLE_KEYS, where)
        name = _wrap_name(raw.get("name"), "table", f"{where}.name")
        if name in seen:
            raise CatalogError(f"{source}: table '{name}' is listed twice.", hint="keep one entry per table")
        seen.add(name)
        tables.append(TableEntry(
            schema=schema_name,
            name=name,
            comment=str(raw.get("comment") or ""),
            properties=_strings(raw.get("properties"), f"{where}.properties"),
            column_comments=_strings(raw.get("columns"), f"{where}.columns"),
        ))
    owner = schema.get("owner")
    return SchemaEntry(
        name=schema_name,
        comment=str(schema.get("comment") or ""),
        owner=str(owner) if owner else None,
        properties=_strings(schema.get("properties"), f"{source}: schema.properties"),
        tables=tuple(tables),
    )


def load_catalog_spec(directory: str | Path | None = None) -> CatalogSpec:
    """Read every *.yaml / *.yml file in the spec directory (one schema per file)."""
    directory = Path(directory) if directory else default_spec_dir()
    if not directory.is_dir():
        raise CatalogError(
            f"The catalog spec directory '{directory}' does not exist.",
            hint=f"run from the repository root, pass --spec DIR, or set {SPEC_DIR_ENV}",
        )
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise CatalogError(f"No *.yaml files in the catalog spec directory '{directory}'.",
                           hint="add one file per schema, e.g. catalog/bronze.yaml")
    schemas: dict[str, SchemaEntry] = {}
    for path in files:
        entry = parse_schema_file(path.read_text(encoding="utf-8"), str(path))
        if entry.name in schemas:
            raise CatalogError(f"Schema '{entry.name}' is described twice (again in {path}).",
                               hint="keep one file per schema")
        schemas[entry.name] = entry
    return CatalogSpec(schemas=tuple(schemas.values()), source=str(directory))
