"""Where a table lives for Spark: a Delta path (open source) or a Unity Catalog name (Databricks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakehouse.core.config import Settings
from lakehouse.core.dialects import SPARK
from lakehouse.core.types import ddl_type_name
from lakehouse.engines.spark.databricks import UnityCatalogNames
from lakehouse.engines.spark.session import spark_location
from lakehouse.spec.model import TableRef


def ddl_type(data_type: Any) -> str:
    """The Spark DDL name (core.types) of a pyspark DataType."""
    return ddl_type_name(str(data_type.simpleString()))


@dataclass(frozen=True)
class TableLocator:
    settings: Settings
    unity_catalog: UnityCatalogNames | None = None

    def path(self, ref: TableRef) -> str:
        return spark_location(self.settings.table_uri(ref.schema, ref.name))

    def sql_name(self, ref: TableRef) -> str:
        """The table in SQL statements (MERGE INTO, DESCRIBE HISTORY, ALTER TABLE)."""
        if self.unity_catalog is not None:
            return self.unity_catalog.name(ref)
        return f"delta.{SPARK.quote(self.path(ref))}"

    def read(self, reader: Any, ref: TableRef) -> Any:
        """`reader` (spark.read or spark.readStream, options set) pointed at the table."""
        if self.unity_catalog is not None:
            return reader.table(self.unity_catalog.name(ref))
        return reader.format("delta").load(self.path(ref))

    def write(self, writer: Any, ref: TableRef) -> None:
        if self.unity_catalog is not None:
            writer.saveAsTable(self.unity_catalog.name(ref))
        else:
            writer.save(self.path(ref))
