"""The open-source bronze read path: landed CSV files -> raw text rows with lineage, as Spark DataFrames.

The result has the same columns and values as the Arrow reader's (sources/csv/arrow_reader.py):
every stored-schema column as text (missing ones NULL), extra columns in rescue mode,
source_filename, source_file_modified, source_row and __malformed_record. Which files are read and
with which schema is decided by sources/bronze_rules.py; typing and rescue then happen in the
shared SQL (kinds/append_ingest/sql.typed_projection_sql), as on the embedded engine.

How the values line up with the embedded reader:
- an unquoted empty field is NULL, a quoted "" is '' (nullValue is a sentinel, emptyValue '');
- a record with too few or too many fields is malformed: its data columns are NULL and its text
  goes to _rescued_data._corrupt_record (Spark's PERMISSIVE corrupt-record column);
- source_row is the record's ordinal in the file plus one, so the first record after the header is
  2: the line number when no record spans lines. Spark's CSV source has no row index; each file is
  read as one split (multiLine), so monotonically_increasing_id follows the file's record order.
- bytes that are not UTF-8: Spark decodes them to U+FFFD instead of marking the row malformed.

Encodings, line endings, compression and the file's format follow the embedded reader's decisions
(sources/landed_text), made on what Spark reads rather than on bytes, since Spark opens the file:
- Hadoop decompresses by the name's suffix (.gz, .bz2); .zst needs Hadoop's native library, and
  without it a .zst file is quarantined rather than failing the batch;
- a UTF-16 or UTF-32 byte-order mark read as UTF-8 shows as two U+FFFD and NULs in the first line:
  the file is then read with Spark's `encoding` UTF-16 or UTF-32, whose decoders honour the mark;
- multiLine parsing detects LF, CRLF and CR line endings itself;
- a first line that is another format, or holds NULs without a mark, is quarantined as there.
A compressed file is read whole once when opened, so a corrupt or truncated one is quarantined
rather than failing the batch when its rows are read.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse.core.errors import InputFileError
from lakehouse.core.optional import require
from lakehouse.engines.spark.databricks import csv_read_options
from lakehouse.sources.base import MALFORMED_RECORD, SCHEMA_SAMPLE_ROWS
from lakehouse.sources.file_names import compression_of
from lakehouse.sources.headers import trimmed
from lakehouse.sources.landed_text import charset_of_marked, check_is_text, corrupt_compressed
from lakehouse.sources.spark_files import CODEC_FAILURES, LandedFile, SparkOpenedFile, glob_escaped, java_cause
from lakehouse.spec.model import SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW

CORRUPT_COLUMN = "__spark_corrupt_record"
POSITION = "__position"


@dataclass
class SparkCsvFile(SparkOpenedFile):
    """A landed CSV file whose header was read (sources.base.OpenedFile); its rows are read lazily."""

    file: LandedFile
    header: list[str]
    reader: SparkCsvReader
    # Decoding and header notes; malformed rows show in _rescued_data only (Spark does not count them).
    notes: Sequence[str] = ()
    _sample: list[list[str | None]] | None = field(default=None, repr=False)


    def sample_rows(self) -> list[list[str | None]]:
        if self._sample is None:
            self._sample = self.reader.sample_rows(self.file, self.header)
        return self._sample


class SparkCsvReader:
    """sources.base.LandingReader for CSV into DataFrames: the open-source bronze read path."""

    def __init__(self, spark: Any, delimiter: str = ",") -> None:
        self.spark = spark
        self.delimiter = delimiter
        self.functions = require("pyspark.sql.functions")
        self.window = require("pyspark.sql.window").Window
        # Per file (its Spark path): the charset its byte-order mark calls for, when not UTF-8.
        self.encodings: dict[str, str] = {}
        self._reads_zstd: bool | None = None

    def _read(self, path: str, schema: str, *, header: bool) -> Any:
        options = {**csv_read_options(self.delimiter), "header": str(header).lower(),
                   "columnNameOfCorruptRecord": CORRUPT_COLUMN, "encoding": self.encodings.get(path, "UTF-8")}
        return self.spark.read.format("csv").options(**options).schema(schema).load(glob_escaped(path))

    def open(self, file: LandedFile) -> SparkCsvFile | None:
        if compression_of(file.uri) == "zstd" and not self.reads_zstd():
            raise InputFileError(
                f"{file.uri}: Spark cannot decompress .zst here: Hadoop's ZStandardCodec needs the native Hadoop "
                "library, which this Spark does not load.",
                hint="land the file gzip-compressed (.gz) or uncompressed under a new name, or read it with the "
                     "embedded engine, which decompresses .zst itself",
            )
        codec = compression_of(file.uri)
        try:
            first = self.first_line(file)
            encoding = charset_of_marked(first) if first is not None else None
            if encoding is not None:
                self.encodings[file.spark_path] = encoding
                first = self.first_line(file)
            if first is not None and codec is not None:
                # Read whole once: a truncated file fails only at its end, and later that would fail the batch.
                self._by_position(file, self.split_header(first)).count()
        except Exception as exc:  # Spark's errors are Py4J or pyspark ones: judged by their Java exception
            if codec is not None and any(marker in str(exc) for marker in CODEC_FAILURES):
                raise corrupt_compressed(file.uri, codec, java_cause(exc)) from exc
            raise
        if first is None:
            return None
        check_is_text(file.uri, first)
        header, trim_note = trimmed(self.split_header(first))
        notes = [note for note in (f"decoded from {encoding} (byte-order mark)" if encoding else None, trim_note)
                 if note]
        return SparkCsvFile(file, header, self, notes=notes)

    def combine(self, parts: Sequence[Any]) -> Any:
        combined = parts[0]
        for frame in parts[1:]:
            combined = combined.unionByName(frame, allowMissingColumns=True)
        return self.with_source_row(combined)

    def reads_zstd(self) -> bool:
        """Whether Hadoop's zstd codec can run: without its native library, reading a .zst file fails
        the whole batch (a RuntimeException in every task) instead of this one file."""
        if self._reads_zstd is None:
            try:
                codec = self.spark.sparkContext._jvm.org.apache.hadoop.io.compress.ZStandardCodec
                self._reads_zstd = bool(codec.isNativeCodeLoaded())
            except Exception:  # no JVM to ask (Spark Connect) or no such class: do not rely on the codec
                self._reads_zstd = False
        return self._reads_zstd

    def first_line(self, file: LandedFile) -> str | None:
        """The file's first record as text, or None for an empty file."""
        first = self._read(file.spark_path, f"c0 STRING, {CORRUPT_COLUMN} STRING", header=False).limit(1).collect()
        if not first:
            return None
        # A one-column schema makes a wider header "malformed", which hands us its raw text.
        text: str = first[0][CORRUPT_COLUMN] if first[0][CORRUPT_COLUMN] is not None else (first[0]["c0"] or "")
        return text[1:] if text.startswith("\ufeff") else text

    def split_header(self, text: str) -> list[str]:
        """The header's names, parsed as the embedded reader parses them."""
        return next(iter(csv.reader([text.rstrip("\r\n")], delimiter=self.delimiter)), [])

    def header(self, file: LandedFile) -> list[str] | None:
        """The file's header row (untrimmed), or None for an empty file."""
        first = self.first_line(file)
        return None if first is None else self.split_header(first)

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
        """The file's rows lined up with the stored schema (see the module docstring); `combine`
        numbers them (SOURCE_ROW) across the batch's union in one window."""
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
