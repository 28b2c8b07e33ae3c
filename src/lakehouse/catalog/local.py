"""The zero-setup catalog: one JSON document under `<warehouse>/_catalog/`.

Written through lakehouse.core.storage.Storage, so it works on a local folder and on s3:// alike.
Each change rewrites the whole document (atomically: a rename locally, a single PUT on S3). It is
meant for one writer at a time, which is how the pipeline runs (one run holds the pipeline lock);
two concurrent writers could lose one another's change.
"""

from __future__ import annotations

import json
from typing import NotRequired, TypedDict

from lakehouse.catalog.base import Catalog, SchemaInfo, TableInfo
from lakehouse.catalog.names import NameMapper, validate_identifier
from lakehouse.core.errors import CatalogError
from lakehouse.core.storage import Storage

FORMAT_VERSION = 1
CATALOG_FILE = "_catalog/catalog.json"


# Keys marked NotRequired may be missing from documents written by older versions.
class _TableEntry(TypedDict):
    location: str
    columns: list[list[str]]  # [name, ddl] pairs: JSON has no tuples
    properties: NotRequired[dict[str, str]]
    comment: NotRequired[str]
    column_comments: NotRequired[dict[str, str]]
    provider: NotRequired[str]
    table_type: NotRequired[str]


class _SchemaEntry(TypedDict):
    location: str
    comment: NotRequired[str]
    owner: NotRequired[str | None]
    properties: NotRequired[dict[str, str]]
    tables: dict[str, _TableEntry]


class _Document(TypedDict):
    format_version: int
    schemas: dict[str, _SchemaEntry]  # by metastore schema name


class LocalCatalog(Catalog):
    kind = "local catalog"

    def __init__(self, warehouse: str, storage: Storage, names: NameMapper | None = None) -> None:
        super().__init__(names)
        self.warehouse = warehouse.rstrip("/")
        self.storage = storage
        self.uri = f"{self.warehouse}/{CATALOG_FILE}"
        self.kind = f"local catalog at {self.uri}"

    # The document maps metastore schema names (with prefix) to their entries, so that two
    # prefixes (dev_, test_) can share one warehouse the same way they share one metastore.
    def _load(self) -> _Document:
        if not self.storage.exists(self.uri):
            return {"format_version": FORMAT_VERSION, "schemas": {}}
        try:
            document: _Document = json.loads(self.storage.read_text(self.uri))
        except (ValueError, UnicodeDecodeError) as exc:
            raise CatalogError(
                f"The local catalog file '{self.uri}' is not valid JSON ({exc}).",
                hint="restore it from a backup, or delete it and run `lakehouse catalog apply` to rebuild the schemas",
            ) from exc
        if document.get("format_version") != FORMAT_VERSION:
            raise CatalogError(
                f"The local catalog file '{self.uri}' has format version {document.get('format_version')!r}; this version reads {FORMAT_VERSION}.",
                hint="upgrade local-lakehouse, or delete the file and run `lakehouse catalog apply`",
            )
        return document

    def _save(self, document: _Document) -> None:
        self.storage.write_text(self.uri, json.dumps(document, indent=2, sort_keys=True) + "\n")

    def _schema_entry(self, document: _Document, schema: str) -> _SchemaEntry | None:
        return document["schemas"].get(self.names.metastore_schema(schema))

    def get_schema(self, name: str) -> SchemaInfo | None:
        entry = self._schema_entry(self._load(), name)
        if entry is None:
            return None
        return SchemaInfo(
            name=name,
            location=entry["location"],
            comment=entry.get("comment", ""),
            owner=entry.get("owner"),
            properties=dict(entry.get("properties", {})),
        )

    def _create_schema(self, info: SchemaInfo) -> None:
        self._write_schema(info, tables={})

    def _alter_schema(self, old: SchemaInfo, new: SchemaInfo) -> None:
        document = self._load()
        entry = self._schema_entry(document, old.name)
        if entry is None:
            # Only another writer can have dropped it since ensure_schema read it (see the module doc).
            raise CatalogError(f"Schema '{old.name}' disappeared from the {self.kind} while being altered.",
                               hint="run the command again")
        self._write_schema(new, tables=entry["tables"], document=document)

    def _write_schema(self, info: SchemaInfo, *, tables: dict[str, _TableEntry], document: _Document | None = None) -> None:
        document = document or self._load()
        document["schemas"][self.names.metastore_schema(info.name)] = {
            "location": info.location,
            "comment": info.comment,
            "owner": info.owner,
            "properties": info.properties,
            "tables": tables,
        }
        self._save(document)

    def drop_schema(self, name: str) -> None:
        document = self._load()
        entry = self._schema_entry(document, name)
        if entry is None:
            return
        if entry["tables"]:
            raise CatalogError(
                f"Schema '{name}' still has tables: {', '.join(sorted(entry['tables']))}.",
                hint="unregister them first (`lakehouse reset` does), then drop the schema",
            )
        del document["schemas"][self.names.metastore_schema(name)]
        self._save(document)

    def list_schemas(self) -> list[str]:
        logical = (self.names.logical_schema(name) for name in self._load()["schemas"])
        return sorted(name for name in logical if name)

    def list_tables(self, schema: str) -> list[str]:
        entry = self._schema_entry(self._load(), schema)
        return sorted(entry["tables"]) if entry else []

    def get_table(self, schema: str, name: str) -> TableInfo | None:
        validate_identifier(name, "table")
        entry = self._schema_entry(self._load(), schema)
        if entry is None or name not in entry["tables"]:
            return None
        table = entry["tables"][name]
        return TableInfo(
            schema=schema,
            name=name,
            location=table["location"],
            columns=[(column, ddl) for column, ddl in table["columns"]],
            properties=dict(table.get("properties", {})),
            comment=table.get("comment", ""),
            column_comments=dict(table.get("column_comments", {})),
            provider=table.get("provider", "delta"),
            table_type=table.get("table_type", "EXTERNAL_TABLE"),
        )

    def _put_table(self, info: TableInfo, *, exists: bool) -> None:
        document = self._load()
        entry = self._schema_entry(document, info.schema)
        if entry is None:
            raise CatalogError(f"Schema '{info.schema}' does not exist in the {self.kind}.", hint="run `lakehouse catalog apply`")
        entry["tables"][info.name] = {
            "location": info.location,
            "columns": [list(column) for column in info.columns],
            "properties": dict(info.properties),
            "comment": info.comment,
            "column_comments": dict(info.column_comments),
            "provider": info.provider,
            "table_type": info.table_type,
        }
        self._save(document)

    def unregister_table(self, schema: str, name: str) -> None:
        validate_identifier(name, "table")
        document = self._load()
        entry = self._schema_entry(document, schema)
        if entry is None or name not in entry["tables"]:
            return
        del entry["tables"][name]
        self._save(document)
