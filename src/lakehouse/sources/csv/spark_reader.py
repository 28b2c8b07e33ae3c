"""The open-source bronze read path: landed CSV files -> raw text rows with lineage, as Spark DataFrames.

The result has the same columns and values as the embedded reader's (engines/embedded/csv_reader.py
+ conform): every stored-schema column as text (missing ones NULL), extra columns in rescue mode,
source_filename, source_file_modified, source_row and __malformed_record. Typing and rescue then
happen in the shared SQL (strategies.ingest.typed_projection_sql), as on the embedded engine.

How the values line up with the embedded reader:
- an unquoted empty field is NULL, a quoted "" is '' (nullValue is a sentinel, emptyValue '');
- a record with too few or too many fields is malformed: its data columns are NULL and its text
  goes to _rescued_data._corrupt_record (Spark's PERMISSIVE corrupt-record column);
- source_row is the record's ordinal in the file plus one, so the first record after the header is
  2: the line number when no record spans lines. Spark's CSV source has no row index; each file is
  read as one split (multiLine), so monotonically_increasing_id follows the file's record order.
- bytes that are not UTF-8: Spark decodes them to U+FFFD instead of marking the row malformed.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lakehouse.core.errors import InputFileError, SchemaEvolutionError
from lakehouse.core.optional import require
from lakehouse.core.storage import FileInfo
from lakehouse.engines.spark.databricks import csv_read_options
from lakehouse.engines.spark.session import location_from_spark
from lakehouse.sources.base import MALFORMED_RECORD
from lakehouse.sources.schema import StoredSchema, check_header, evolve, infer_schema
from lakehouse.spec.model import SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW, EvolutionMode, LandingSource

CORRUPT_COLUMN = "__spark_corrupt_record"
POSITION = "__position"
SCHEMA_SAMPLE_ROWS = 10_000
# The discovery stream lists files and reads no content (binaryFile reads content only when selected).
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
_GLOB_CHARACTERS = "\\*?[]{}"


@dataclass(frozen=True)
class LandedFile:
    uri: str  # our location form: the lineage value, and what Storage opens
    spark_path: str  # as Spark reads it
    modified: datetime
    size: int


@dataclass
class RawBatch:
    """A bronze batch's raw rows, the schema they are typed with, and what became of each file."""

    raw: Any = None
    schema: StoredSchema | None = None
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failed_files: list[str] = field(default_factory=list)
    ingested_files: list[str] = field(default_factory=list)


def glob_escaped(path: str) -> str:
    """Spark's DataFrameReader expands globs; a landed file's name is taken literally."""
    return "".join("\\" + ch if ch in _GLOB_CHARACTERS else ch for ch in path)


def landed_files(rows: Sequence[Any], listed: dict[str, FileInfo] | None = None) -> list[LandedFile]:
    """The discovery stream's rows (path, modificationTime, length) in landing order.

    `listed` (our storage's listing) supplies the modification time at the precision the embedded
    engine sees; Hadoop's file status keeps only milliseconds.
    """
    files = []
    for row in rows:
        uri = location_from_spark(row["path"])
        modified = row["modificationTime"]
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=UTC)
        if listed and uri in listed:
            modified = listed[uri].modified
        files.append(LandedFile(uri=uri, spark_path=row["path"], modified=modified, size=int(row["length"])))
    return sorted(files, key=lambda f: (f.modified, f.uri))


class SparkCsvReader:
    def __init__(self, spark: Any, delimiter: str = ",") -> None:
        self.spark = spark
        self.delimiter = delimiter
        self.functions = require("pyspark.sql.functions")
        self.window = require("pyspark.sql.window").Window

    def _read(self, path: str, schema: str, *, header: bool) -> Any:
        options = {**csv_read_options(self.delimiter), "header": str(header).lower(),
                   "columnNameOfCorruptRecord": CORRUPT_COLUMN}
        return self.spark.read.format("csv").options(**options).schema(schema).load(glob_escaped(path))

    def header(self, file: LandedFile) -> list[str] | None:
        """The file's header row, or None for an empty file. Parsed as the embedded reader does."""
        first = self._read(file.spark_path, f"c0 STRING, {CORRUPT_COLUMN} STRING", header=False).limit(1).collect()
        if not first:
            return None
        # A one-column schema makes a wider header "malformed", which hands us its raw text.
        text = first[0][CORRUPT_COLUMN] if first[0][CORRUPT_COLUMN] is not None else (first[0]["c0"] or "")
        header = next(iter(csv.reader([text], delimiter=self.delimiter)), [])
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        return header

    def _by_position(self, file: LandedFile, header: Sequence[str]) -> Any:
        # Positional internal names: header names may hold dots or backticks Spark would interpret.
        schema = ", ".join(f"__c{i} STRING" for i in range(len(header))) + f", {CORRUPT_COLUMN} STRING"
        return self._read(file.spark_path, schema, header=True)

    def sample_rows(self, file: LandedFile, header: Sequence[str]) -> list[list[str | None]]:
        """The first well-formed rows, for schema inference."""
        frame = self._by_position(file, header).where(self.functions.col(CORRUPT_COLUMN).isNull())
        rows = frame.limit(SCHEMA_SAMPLE_ROWS).collect()
        return [[row[f"__c{i}"] for i in range(len(header))] for row in rows]

    def raw_rows(self, file: LandedFile, header: Sequence[str], schema_names: Sequence[str],
                 extra_columns: Sequence[str]) -> Any:
        """The file's rows lined up with the stored schema (see the module docstring)."""
        F = self.functions
        frame = self._by_position(file, header).select("*", F.monotonically_increasing_id().alias(POSITION))
        corrupt = F.col(CORRUPT_COLUMN)
        index = {name: i for i, name in enumerate(header)}

        def text(name: str) -> Any:
            if name not in index:
                return F.lit(None).cast("string").alias(name)
            # A malformed record's values are not trusted: all of its text goes to _corrupt_record.
            return F.when(corrupt.isNull(), F.col(f"__c{index[name]}")).alias(name)

        columns = [text(name) for name in schema_names] + [text(name) for name in extra_columns if name in index]
        return frame.select(
            *columns,
            F.lit(file.uri).alias(SOURCE_FILENAME),
            F.lit(file.modified).cast("timestamp").alias(SOURCE_FILE_MODIFIED),
            F.col(POSITION),
            corrupt.alias(MALFORMED_RECORD),
        )

    def with_source_row(self, frame: Any) -> Any:
        F = self.functions
        order = self.window.partitionBy(SOURCE_FILENAME).orderBy(POSITION)
        # +1 for the header line: the first record is row 2, as in the embedded reader.
        positioned = frame.withColumn(SOURCE_ROW, (F.row_number().over(order) + 1).cast("bigint")).drop(POSITION)
        names = [c for c in positioned.columns if c not in (SOURCE_ROW, MALFORMED_RECORD)]
        return positioned.select(*names, SOURCE_ROW, MALFORMED_RECORD)


def read_batch(
    reader: SparkCsvReader,
    files: Sequence[LandedFile],
    source: LandingSource,
    stored: StoredSchema | None,
    save_schema: Callable[[StoredSchema], None],
    progress: Callable[[str], None] = lambda message: None,
) -> RawBatch:
    """Schema handling and raw rows for one batch of files, following the embedded driver's rules."""
    batch = RawBatch(schema=stored)
    readable: list[tuple[LandedFile, list[str]]] = []
    for file in files:
        try:
            header = reader.header(file)
            if header is not None:
                check_header(header, file.uri)
        except (InputFileError, SchemaEvolutionError) as exc:
            # Quarantined: the stream has consumed the file, so it stays out until it is landed again.
            batch.notes.append("QUARANTINED " + exc.message + (f" ({exc.hint})" if exc.hint else ""))
            batch.failed_files.append(file.uri)
            continue
        if header is None:
            batch.notes.append(f"{file.uri}: empty file, nothing to ingest")
            continue
        sample: list[list[str | None]] | None = None
        if batch.schema is None:
            sample = reader.sample_rows(file, header)
            if not sample:
                batch.notes.append(f"{file.uri}: header only, no rows; the schema is inferred from a file with rows")
                continue
            batch.schema = StoredSchema(0, infer_schema(header, sample, source.schema_hints),
                                        reason="inferred from the first file", source_file=file.uri)
            save_schema(batch.schema)
            progress(f"schema inferred from {file.uri} and stored (v0)")
        elif any(name not in batch.schema.names for name in header):
            sample = reader.sample_rows(file, header)
            evolved = evolve(batch.schema, header, sample, source.schema_hints, source.evolution_mode, file.uri)
            if evolved is not None:
                save_schema(evolved)
                batch.schema = evolved
                progress(f"schema evolved to v{evolved.version} ({evolved.reason})")
        batch.ingested_files.append(file.uri)
        readable.append((file, header))
    if batch.schema is None or not readable:
        return batch
    rescue_unknown = source.evolution_mode is EvolutionMode.RESCUE
    names = batch.schema.names
    frames = []
    for file, header in readable:
        extras = [name for name in header if name not in names] if rescue_unknown else []
        batch.extra_columns += [name for name in extras if name not in batch.extra_columns]
        frames.append(reader.raw_rows(file, header, names, extras))
    combined = frames[0]
    for frame in frames[1:]:
        combined = combined.unionByName(frame, allowMissingColumns=True)
    batch.raw = reader.with_source_row(combined)
    return batch
