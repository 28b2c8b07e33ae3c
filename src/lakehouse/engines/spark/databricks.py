"""Databricks specifics: Auto Loader (cloudFiles) for bronze and Unity Catalog three-level names.

Active when DATABRICKS_RUNTIME_VERSION is set (the runtime sets it on every cluster). Nothing
here can run off Databricks; the Docker stack and local mode use the open-source path instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakehouse.core.dialects import SPARK
from lakehouse.core.errors import ConfigError
from lakehouse.core.optional import require
from lakehouse.spec.model import RESCUED_DATA, LandingSource, TableRef

RUNTIME_ENV = "DATABRICKS_RUNTIME_VERSION"
UC_CATALOG_ENV = "LAKEHOUSE_UC_CATALOG"
# Spark's CSV reader compares every unquoted value with nullValue; an empty unquoted field is NULL
# and a quoted "" keeps emptyValue (''), as the embedded reader does. NUL never appears in our text.
CSV_NULL_SENTINEL = "\u0000"


def on_databricks(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get(RUNTIME_ENV))


def csv_read_options(delimiter: str) -> dict[str, str]:
    """CSV options shared by the open-source read path and Auto Loader."""
    return {
        "header": "true",
        "sep": delimiter,
        "quote": '"',
        # RFC 4180 doubles quotes inside quoted fields; Spark's default escape is a backslash.
        "escape": '"',
        "nullValue": CSV_NULL_SENTINEL,
        "emptyValue": "",
        "ignoreLeadingWhiteSpace": "false",
        "ignoreTrailingWhiteSpace": "false",
        # One file is one split, read in order: quoted newlines stay inside values, and row
        # order within a file (source_row) is the order of the rows in the partition.
        "multiLine": "true",
        "mode": "PERMISSIVE",
        "encoding": "UTF-8",
    }


@dataclass(frozen=True)
class UnityCatalogNames:
    """<catalog>.<schema>.<table> for each of our schema.table references."""

    catalog: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> UnityCatalogNames | None:
        env = os.environ if env is None else env
        if not on_databricks(env):
            return None
        catalog = env.get(UC_CATALOG_ENV)
        if not catalog:
            raise ConfigError(
                f"On Databricks the tables live in Unity Catalog, but {UC_CATALOG_ENV} is not set.",
                hint=f"set {UC_CATALOG_ENV} to the catalog that holds the bronze, silver and gold schemas",
            )
        return cls(catalog)

    def name(self, ref: TableRef) -> str:
        return ".".join(SPARK.quote(part) for part in (self.catalog, ref.schema, ref.name))


def schema_hints(source: LandingSource) -> str:
    """cloudFiles.schemaHints: `name TYPE, ...` from the spec's hints."""
    return ", ".join(f"{SPARK.quote(name)} {SPARK.sql_type(type_name)}" for name, type_name in source.schema_hints.items())


def auto_loader_options(source: LandingSource, schema_location: str, max_files: int) -> dict[str, str]:
    """Auto Loader keeps the schema, its evolution and the rescued data itself."""
    options = {
        "cloudFiles.format": "csv",
        "cloudFiles.schemaLocation": schema_location,
        "cloudFiles.schemaEvolutionMode": source.evolution_mode.value,
        "cloudFiles.inferColumnTypes": "true",
        "cloudFiles.maxFilesPerTrigger": str(max_files),
        "rescuedDataColumn": RESCUED_DATA,
        **csv_read_options(source.delimiter),
    }
    hints = schema_hints(source)
    if hints:
        options["cloudFiles.schemaHints"] = hints
    return options


def auto_loader_stream(spark: Any, source: LandingSource, landing_path: str, schema_location: str,
                       max_files: int) -> Any:
    """The bronze input on Databricks, with the file path and modification time of every row."""
    functions = require("pyspark.sql.functions")
    stream = spark.readStream.format("cloudFiles").options(
        **auto_loader_options(source, schema_location, max_files)
    ).load(landing_path)
    return stream.select(
        "*",
        functions.col("_metadata.file_path").alias("__file_path"),
        functions.col("_metadata.file_modification_time").alias("__file_modified"),
    )
