"""The catalog interface both backends (Hive Metastore, local JSON) implement.

Schema names in this interface are logical (`silver`); a backend maps them to metastore names
with its NameMapper (prefix). Locations are given in warehouse form (`/abs/path`, `s3://...`)
and stored and reported in metastore form (`file:/abs/path`, `s3a://...`) by both backends, so
that what `catalog show` prints is what Spark and Trino see.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TypedDict

from lakehouse.catalog.column_types import canonical_ddl
from lakehouse.catalog.names import NameMapper, metastore_location, validate_identifier
from lakehouse.core.errors import CatalogError

_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROPERTY_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class SchemaInfo:
    name: str
    location: str
    comment: str = ""
    owner: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    location: str
    columns: list[tuple[str, str]]
    properties: dict[str, str] = field(default_factory=dict)
    comment: str = ""
    column_comments: dict[str, str] = field(default_factory=dict)
    provider: str = "delta"
    table_type: str = "EXTERNAL_TABLE"


class ColumnSnapshot(TypedDict):
    name: str
    type: str
    comment: str


class TableSnapshot(TypedDict):
    name: str
    location: str
    comment: str
    provider: str
    table_type: str
    properties: dict[str, str]
    columns: list[ColumnSnapshot]


class SchemaSnapshot(TypedDict):
    name: str
    metastore_name: str
    location: str
    comment: str
    owner: str | None
    properties: dict[str, str]
    tables: list[TableSnapshot]


class CatalogSnapshot(TypedDict):
    backend: str
    prefix: str
    schemas: list[SchemaSnapshot]


def validate_columns(columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Column names safe for the metastore and types in canonical DDL; raises CatalogError."""
    if not columns:
        raise CatalogError("A table needs at least one column.", hint="pass the Delta table's columns as (name, type) pairs")
    seen: set[str] = set()
    result = []
    for name, ddl in columns:
        if not isinstance(name, str) or not _COLUMN_NAME.fullmatch(name) or len(name) > 128:
            raise CatalogError(
                f"Column name {name!r} is not allowed.",
                hint="use ASCII letters, digits and underscores, starting with a letter or '_', at most 128 characters",
            )
        if name.lower() in seen:
            raise CatalogError(f"Column '{name}' appears twice (names are case-insensitive).", hint="rename one of them")
        seen.add(name.lower())
        result.append((name, canonical_ddl(ddl)))
    return result


def validate_properties(properties: dict[str, str] | None, what: str) -> dict[str, str]:
    result = {}
    for key, value in (properties or {}).items():
        if not isinstance(key, str) or not _PROPERTY_KEY.fullmatch(key):
            raise CatalogError(
                f"Property key {key!r} of {what} is not allowed.",
                hint="use letters, digits and . _ - only, for example: delta.enableChangeDataFeed",
            )
        if not isinstance(value, str):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        result[key] = value
    return result


class Catalog(ABC):
    """Schemas and external Delta tables, registered the way Spark's DeltaCatalog does it."""

    kind: str = "catalog"

    def __init__(self, names: NameMapper | None = None) -> None:
        self.names = names or NameMapper()

    # --- what the backends implement -------------------------------------------------------
    @abstractmethod
    def get_schema(self, name: str) -> SchemaInfo | None: ...

    @abstractmethod
    def _create_schema(self, info: SchemaInfo) -> None: ...

    @abstractmethod
    def _alter_schema(self, old: SchemaInfo, new: SchemaInfo) -> None: ...

    @abstractmethod
    def drop_schema(self, name: str) -> None:
        """Drop an empty schema; absent is fine; a schema with tables raises CatalogError."""

    @abstractmethod
    def list_schemas(self) -> list[str]: ...

    @abstractmethod
    def list_tables(self, schema: str) -> list[str]: ...

    @abstractmethod
    def get_table(self, schema: str, name: str) -> TableInfo | None: ...

    @abstractmethod
    def _put_table(self, info: TableInfo, *, exists: bool) -> None: ...

    @abstractmethod
    def unregister_table(self, schema: str, name: str) -> None:
        """Remove the registration (never the data); an absent table is fine."""

    def close(self) -> None:  # noqa: B027 (optional hook: most catalogs hold no connection)
        """Release connections; the catalog stays usable (it reconnects on demand)."""

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- shared logic -----------------------------------------------------------------------
    def ensure_schema(
        self,
        name: str,
        location: str,
        comment: str = "",
        properties: dict[str, str] | None = None,
        *,
        owner: str | None = None,
        replace: bool = False,
    ) -> bool:
        """Create the schema or bring it in line; returns whether anything changed.

        By default an existing schema keeps what the call does not say: an empty comment, no
        properties or no owner leave the registered ones alone, and given properties are merged
        in. That way the pipeline's plain `ensure_schema(name, location)` never erases what
        `lakehouse catalog apply` set. `replace=True` sets exactly what is given (apply uses it).
        """
        validate_identifier(name, "schema")
        wanted = SchemaInfo(
            name=name,
            location=metastore_location(location),
            comment=comment or "",
            owner=owner,
            properties=validate_properties(properties, f"schema '{name}'"),
        )
        current = self.get_schema(name)
        if current is None:
            self._create_schema(wanted)
            return True
        if not replace:
            wanted = SchemaInfo(
                name=name,
                location=wanted.location,
                comment=wanted.comment or current.comment,
                owner=wanted.owner or current.owner,
                properties={**current.properties, **wanted.properties},
            )
        elif owner is None:
            wanted = SchemaInfo(wanted.name, wanted.location, wanted.comment, current.owner, wanted.properties)
        if current == wanted:
            return False
        self._alter_schema(current, wanted)
        return True

    def register_table(
        self,
        schema: str,
        name: str,
        location: str,
        columns: list[tuple[str, str]],
        *,
        comment: str = "",
        properties: dict[str, str] | None = None,
        column_comments: dict[str, str] | None = None,
        replace: bool = False,
    ) -> bool:
        """Register (or re-register after schema evolution) an external Delta table.

        Idempotent: returns whether anything changed. The schema must exist (ensure_schema).
        Location and columns are always taken from the call. As with ensure_schema, an existing
        registration keeps the comment, properties and column comments the call does not give
        (for columns that still exist), unless `replace=True`.
        """
        validate_identifier(schema, "schema")
        validate_identifier(name, "table")
        columns = validate_columns(columns)
        column_names = {column for column, _ in columns}
        unknown = sorted(set(column_comments or {}) - column_names)
        if unknown:
            raise CatalogError(
                f"Column comments for {schema}.{name} name columns the table does not have: {', '.join(unknown)}.",
                hint=f"the table's columns are: {', '.join(column for column, _ in columns)}",
            )
        if self.get_schema(schema) is None:
            raise CatalogError(
                f"Cannot register table {schema}.{name}: schema '{schema}' does not exist in the {self.kind}.",
                hint="create it first: `lakehouse catalog apply` (or catalog.ensure_schema)",
            )
        wanted = TableInfo(
            schema=schema,
            name=name,
            location=metastore_location(location),
            columns=columns,
            properties=validate_properties(properties, f"table '{schema}.{name}'"),
            comment=comment or "",
            column_comments={key: value for key, value in (column_comments or {}).items() if value},
        )
        current = self.get_table(schema, name)
        if current is not None and not replace:
            kept_comments = {key: value for key, value in current.column_comments.items() if key in column_names}
            wanted = TableInfo(
                schema=schema,
                name=name,
                location=wanted.location,
                columns=columns,
                properties={**current.properties, **wanted.properties},
                comment=wanted.comment or current.comment,
                column_comments={**kept_comments, **wanted.column_comments},
            )
        if current == wanted:
            return False
        self._put_table(wanted, exists=current is not None)
        return True

    def describe(self) -> str:
        """A readable listing of every schema and table (used by `lakehouse catalog show`)."""
        lines = [f"{self.kind}{' (prefix ' + repr(self.names.prefix) + ')' if self.names.prefix else ''}"]
        schemas = self.list_schemas()
        if not schemas:
            lines.append("  (no schemas)")
        for schema_name in schemas:
            schema = self.get_schema(schema_name)
            if schema is None:
                continue
            lines.append(f"  schema {self.names.metastore_schema(schema_name)}  {schema.location}")
            if schema.comment:
                lines.append(f"    comment: {schema.comment}")
            if schema.owner:
                lines.append(f"    owner: {schema.owner}")
            for key, value in sorted(schema.properties.items()):
                lines.append(f"    {key} = {value}")
            for table_name in self.list_tables(schema_name):
                table = self.get_table(schema_name, table_name)
                if table is None:
                    continue
                lines.append(f"    table {table_name}  ({table.provider}, {table.table_type})  {table.location}")
                if table.comment:
                    lines.append(f"      comment: {table.comment}")
                for key, value in sorted(table.properties.items()):
                    lines.append(f"      {key} = {value}")
                for column, ddl in table.columns:
                    note = table.column_comments.get(column)
                    lines.append(f"      {column} {ddl}" + (f"  -- {note}" if note else ""))
        return "\n".join(lines)

    def snapshot(self) -> CatalogSnapshot:
        """Everything in the catalog as plain data (for `catalog show --json`)."""
        schemas: list[SchemaSnapshot] = []
        for schema_name in self.list_schemas():
            schema = self.get_schema(schema_name)
            if schema is None:
                continue
            tables = [self.get_table(schema_name, table) for table in self.list_tables(schema_name)]
            schemas.append({
                "name": schema.name,
                "metastore_name": self.names.metastore_schema(schema.name),
                "location": schema.location,
                "comment": schema.comment,
                "owner": schema.owner,
                "properties": schema.properties,
                "tables": [
                    {
                        "name": table.name,
                        "location": table.location,
                        "comment": table.comment,
                        "provider": table.provider,
                        "table_type": table.table_type,
                        "properties": table.properties,
                        "columns": [
                            {"name": column, "type": ddl, "comment": table.column_comments.get(column, "")}
                            for column, ddl in table.columns
                        ],
                    }
                    for table in tables
                    if table is not None
                ],
            })
        return {"backend": self.kind, "prefix": self.names.prefix, "schemas": schemas}
