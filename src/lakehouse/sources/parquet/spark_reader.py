"""The Spark read path for Parquet: the same raw rows as sources/parquet/arrow_reader.py, as DataFrames.

The file's Spark schema gives its column types (sources.base.TypedFile), mapped to the stored
schema's names as the Arrow reader maps Arrow's. Each value becomes the text the Arrow reader writes
for it (see that module's docstring), so the shared ingest SQL types and rescues it the same way.
source_row is the row's ordinal in the file from Parquet's own row index (_metadata.row_index), plus
one. A file Spark cannot read as Parquet (no footer, another format) is quarantined with its name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse.core.errors import InputFileError
from lakehouse.core.optional import require
from lakehouse.sources.base import MALFORMED_RECORD
from lakehouse.sources.file_names import compression_of
from lakehouse.sources.parquet.arrow_reader import compressed_parquet
from lakehouse.sources.spark_files import LandedFile, SparkOpenedFile, glob_escaped
from lakehouse.spec.model import SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW

# What Spark says of a file that is not (whole) Parquet; any other error is the run's, not the file's.
_NOT_PARQUET = ("CANNOT_READ_FILE_FOOTER", "not a Parquet file", "is not a Parquet file", "magic number",
                "FAILED_READ_FILE", "Could not read footer", "EOFException", "CANNOT_INFER_EMPTY_SCHEMA",
                "UNABLE_TO_INFER_SCHEMA")
_UNREADABLE_HINT = ("land the whole file again under the same name (a truncated upload fails this way), or move a "
                    "file of another format out of this Parquet source; files already ingested are kept")
_SIMPLE = {"byte": "int", "short": "int", "integer": "int", "long": "bigint", "float": "double",
           "double": "double", "boolean": "boolean", "date": "date", "timestamp": "timestamp",
           "timestamp_ntz": "timestamp", "string": "string"}


def type_name(spark_type: Any) -> str:
    """The stored-schema type of a Spark column type (as sources/parquet/arrow_reader.type_name)."""
    simple = _SIMPLE.get(spark_type.typeName())
    if simple is not None:
        return simple
    if spark_type.typeName() == "decimal":
        return f"decimal({spark_type.precision},{spark_type.scale})"
    return "string"


@dataclass
class SparkParquetFile(SparkOpenedFile):
    """A landed Parquet file whose schema was read (sources.base.OpenedFile and TypedFile)."""

    file: LandedFile
    header: list[str]
    column_types: Mapping[str, str]
    reader: SparkParquetReader
    notes: Sequence[str] = ()
    _sample: list[list[str | None]] | None = field(default=None, repr=False)

    def sample_rows(self) -> list[list[str | None]]:
        # The types come from the file: one row tells whether it has any.
        if self._sample is None:
            row = self.reader.texts(self.file, self.header).limit(1).collect()
            self._sample = [[r[f"__c{i}"] for i in range(len(self.header))] for r in row]
        return self._sample


class SparkParquetReader:
    """sources.base.LandingReader for Parquet into DataFrames."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.functions = require("pyspark.sql.functions")

    def frame(self, file: LandedFile) -> Any:
        return self.spark.read.format("parquet").load(glob_escaped(file.spark_path))

    def open(self, file: LandedFile) -> SparkParquetFile | None:
        if compression_of(file.uri) is not None:
            raise compressed_parquet(file.uri)
        try:
            schema = self.frame(file).schema
        except Exception as exc:  # Py4J or pyspark errors: judged by what Spark says of the file
            if any(marker in str(exc) for marker in _NOT_PARQUET):
                lines = [line.strip() for line in str(exc).splitlines()]
                cause = next((line.removeprefix("Caused by: ") for line in lines if any(m in line for m in _NOT_PARQUET)),
                             type(exc).__name__)
                raise InputFileError(f"{file.uri}: cannot be read as Parquet: {cause[:300]}",
                                     hint=_UNREADABLE_HINT) from exc
            raise
        if not schema.fields:
            return None
        header = [f.name for f in schema.fields]
        return SparkParquetFile(file, header, {f.name: type_name(f.dataType) for f in schema.fields}, self)

    def _text(self, column: Any, spark_type: Any) -> Any:
        F = self.functions
        kind = spark_type.typeName()
        if kind in ("timestamp", "timestamp_ntz"):
            return F.date_format(column, "yyyy-MM-dd HH:mm:ss.SSSSSS")
        if kind == "binary":
            return F.base64(column)
        if kind in ("struct", "array", "map"):
            return F.to_json(column)
        return column.cast("string")

    def texts(self, file: LandedFile, header: Sequence[str]) -> Any:
        """The file's columns as text, by position (__c0...), with the row's ordinal (__row)."""
        F = self.functions
        frame = self.frame(file)
        types = {f.name: f.dataType for f in frame.schema.fields}
        columns = [self._text(frame[name], types[name]).alias(f"__c{i}") for i, name in enumerate(header)]
        return frame.select(*columns, (F.col("_metadata.row_index") + 1).cast("bigint").alias("__row"))

    def raw_rows(self, file: LandedFile, header: Sequence[str], schema_names: Sequence[str],
                 extra_columns: Sequence[str]) -> Any:
        F = self.functions
        index = {name: i for i, name in enumerate(header)}

        def text(name: str) -> Any:
            if name not in index:
                return F.lit(None).cast("string").alias(name)
            return F.col(f"__c{index[name]}").alias(name)

        columns = [text(name) for name in schema_names] + [text(name) for name in extra_columns if name in index]
        return self.texts(file, header).select(
            *columns,
            F.lit(file.uri).alias(SOURCE_FILENAME),
            F.lit(file.modified).cast("timestamp").alias(SOURCE_FILE_MODIFIED),
            F.col("__row").alias(SOURCE_ROW),
            F.lit(None).cast("string").alias(MALFORMED_RECORD),
        )

    def combine(self, parts: Sequence[Any]) -> Any:
        combined = parts[0]
        for frame in parts[1:]:
            combined = combined.unionByName(frame, allowMissingColumns=True)
        lineage = (SOURCE_FILENAME, SOURCE_FILE_MODIFIED, SOURCE_ROW, MALFORMED_RECORD)
        return combined.select(*[c for c in combined.columns if c not in lineage], *lineage)
