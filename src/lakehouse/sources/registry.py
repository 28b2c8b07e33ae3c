"""Where: the reader of each landing format (`LandingSource.format`), per engine family.

Batch engines read into Arrow tables (their files as FileInfo); Spark reads into DataFrames (its
files as the file stream lists them). A new format is a folder under sources/ with a reader per
family (sources.base.LandingReader) and one line in each table below; the bronze rules and the
drivers stay as they are. Readers are imported only when asked for, so Spark's stay optional.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from lakehouse.core.errors import ConfigError

if TYPE_CHECKING:
    from lakehouse.core.storage import FileInfo, Storage
    from lakehouse.sources.base import LandingReader
    from lakehouse.sources.spark_files import LandedFile
    from lakehouse.spec.model import LandingSource

    ArrowReaderFactory = Callable[[Storage, LandingSource], LandingReader[FileInfo]]
    SparkReaderFactory = Callable[[Any, LandingSource], LandingReader[LandedFile]]

Factory = TypeVar("Factory")


def _arrow_csv(storage: Storage, source: LandingSource) -> LandingReader[FileInfo]:
    from lakehouse.sources.csv.arrow_reader import ArrowCsvReader

    return ArrowCsvReader(storage, source.delimiter)


def _spark_csv(spark: Any, source: LandingSource) -> LandingReader[LandedFile]:
    from lakehouse.sources.csv.spark_reader import SparkCsvReader

    return SparkCsvReader(spark, source.delimiter)


def _arrow_json(storage: Storage, source: LandingSource) -> LandingReader[FileInfo]:
    from lakehouse.sources.json.arrow_reader import ArrowJsonReader

    return ArrowJsonReader(storage)


def _spark_json(spark: Any, source: LandingSource) -> LandingReader[LandedFile]:
    from lakehouse.sources.json.spark_reader import SparkJsonReader

    return SparkJsonReader(spark)


def _arrow_parquet(storage: Storage, source: LandingSource) -> LandingReader[FileInfo]:
    from lakehouse.sources.parquet.arrow_reader import ArrowParquetReader

    return ArrowParquetReader(storage)


def _spark_parquet(spark: Any, source: LandingSource) -> LandingReader[LandedFile]:
    from lakehouse.sources.parquet.spark_reader import SparkParquetReader

    return SparkParquetReader(spark)


ARROW_READERS: dict[str, ArrowReaderFactory] = {"csv": _arrow_csv, "json": _arrow_json, "parquet": _arrow_parquet}
SPARK_READERS: dict[str, SparkReaderFactory] = {"csv": _spark_csv, "json": _spark_json, "parquet": _spark_parquet}


def _factory(readers: Mapping[str, Factory], family: str, source: LandingSource) -> Factory:
    factory = readers.get(source.format)
    if factory is None:
        raise ConfigError(
            f"Landing source '{source.name}' has format '{source.format}', which no {family} reader reads.",
            hint="valid formats: " + ", ".join(sorted(readers)),
        )
    return factory


def arrow_reader(source: LandingSource, storage: Storage) -> LandingReader[FileInfo]:
    """The reader of `source`'s files for a batch engine."""
    return _factory(ARROW_READERS, "Arrow (batch engine)", source)(storage, source)


def spark_reader(source: LandingSource, spark: Any) -> LandingReader[LandedFile]:
    """The reader of `source`'s files for Spark, in the session `spark`."""
    return _factory(SPARK_READERS, "Spark", source)(spark, source)
