"""The catalog: schemas and external Delta tables in a Hive Metastore or a local JSON catalog.

    from lakehouse.catalog import open_catalog
    catalog = open_catalog(settings)          # LAKEHOUSE_CATALOG=thrift://... or the local catalog
    catalog.ensure_schema("silver", settings.warehouse + "/silver")
    catalog.register_table("silver", "customer", settings.table_uri("silver", "customer"), columns)
"""

from __future__ import annotations

import os

from lakehouse.catalog.base import Catalog, SchemaInfo, TableInfo
from lakehouse.catalog.names import (
    NameMapper,
    QualifiedName,
    metastore_location,
    parse_table_name,
    validate_identifier,
    warehouse_location,
)
from lakehouse.core.config import Settings
from lakehouse.core.errors import CatalogError

PREFIX_ENV = "LAKEHOUSE_CATALOG_PREFIX"

__all__ = [
    "Catalog", "CatalogError", "NameMapper", "QualifiedName", "SchemaInfo", "TableInfo", "PREFIX_ENV",
    "metastore_location", "open_catalog", "parse_table_name", "validate_identifier", "warehouse_location",
]


def open_catalog(settings: Settings, *, prefix: str | None = None) -> Catalog:
    """The metastore named by settings.catalog (thrift://host:port), else the local catalog.

    `prefix` (default: $LAKEHOUSE_CATALOG_PREFIX, else none) is put in front of every schema
    name in the metastore: prefix "dev_" registers silver.customer as dev_silver.customer.
    """
    names = NameMapper(prefix if prefix is not None else os.environ.get(PREFIX_ENV, ""))
    if settings.catalog:
        from lakehouse.catalog.hive import HiveMetastoreCatalog

        return HiveMetastoreCatalog(settings.catalog, names)
    from lakehouse.catalog.local import LocalCatalog
    from lakehouse.core.storage import Storage

    return LocalCatalog(settings.warehouse, Storage(settings.s3), names)
