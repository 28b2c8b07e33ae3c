"""The Spark read path for JSON lines: the same raw rows as sources/json/arrow_reader.py, as DataFrames.

Each file is read whole as text (wholetext: one row per file, decompressed by Hadoop by its suffix)
and split into lines at LF, CRLF or CR, so every line keeps its number: source_row, as on the
embedded engine. Each non-blank line is parsed with from_json into an all-string struct of the
file's fields, which is what Auto Loader does without inferColumnTypes (see sources/json/lines for
the text of each JSON value). A line that is not a JSON object is PERMISSIVE mode's corrupt record:
NULL columns, its text in MALFORMED_RECORD. The file's fields, in first-seen order, come from
json_object_keys over its well-formed lines. A file with a UTF-16 or UTF-32 byte-order mark is read
as bytes (binaryFile) and decoded by the mark's charset, since the text source reads UTF-8 only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lakehouse.core.errors import InputFileError
from lakehouse.core.optional import require
from lakehouse.sources.base import MALFORMED_RECORD, SCHEMA_SAMPLE_ROWS
from lakehouse.sources.file_names import compression_of
from lakehouse.sources.json.arrow_reader import not_json_lines
from lakehouse.sources.landed_text import charset_of_marked, corrupt_compressed
from lakehouse.sources.spark_files import CODEC_FAILURES, LandedFile, SparkOpenedFile, glob_escaped, java_cause
from lakehouse.spec.model import SOURCE_FILE_MODIFIED, SOURCE_FILENAME, SOURCE_ROW

CORRUPT_COLUMN = "__spark_corrupt_record"
_LINE, _TEXT = "__line", "__text"


@dataclass
class SparkJsonFile(SparkOpenedFile):
    """A landed JSON lines file whose fields were listed (sources.base.OpenedFile); rows read lazily."""

    file: LandedFile
    header: list[str]
    reader: SparkJsonReader
    notes: Sequence[str] = ()
    _sample: list[list[str | None]] | None = field(default=None, repr=False)

    def sample_rows(self) -> list[list[str | None]]:
        if self._sample is None:
            frame = self.reader.parsed(self.file, self.header).where(self.reader.functions.col(CORRUPT_COLUMN).isNull())
            rows = frame.orderBy(_LINE).limit(SCHEMA_SAMPLE_ROWS).collect()
            self._sample = [[row["fields"][name] for name in self.header] for row in rows]
        return self._sample


class SparkJsonReader:
    """sources.base.LandingReader for JSON lines into DataFrames."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.functions = require("pyspark.sql.functions")
        self.types = require("pyspark.sql.types")
        # Per file (its Spark path): the charset its byte-order mark calls for, when not UTF-8.
        self.encodings: dict[str, str] = {}

    def _whole_text(self, file: LandedFile) -> Any:
        return self.spark.read.format("text").option("wholetext", "true").load(glob_escaped(file.spark_path))

    def lines(self, file: LandedFile) -> Any:
        """The file's non-blank lines: (__line, __text), numbered from 1."""
        F = self.functions
        encoding = self.encodings.get(file.spark_path)
        if encoding is None:
            whole = self._whole_text(file).select(F.col("value"))
        else:  # the text source reads UTF-8 only: decode the bytes by the mark's charset instead
            raw = self.spark.read.format("binaryFile").load(glob_escaped(file.spark_path))
            whole = raw.select(F.decode(F.col("content"), encoding).alias("value"))
        # A byte-order mark is stripped, as the embedded reader strips it.
        text = F.regexp_replace(F.col("value"), "^\ufeff", "")
        split = whole.select(F.posexplode(F.split(text, "\r\n|\r|\n")).alias("pos", _TEXT))
        return split.where(~F.col(_TEXT).rlike("^[ \t]*$")).select((F.col("pos") + 1).cast("bigint").alias(_LINE),
                                                                    _TEXT)

    def parsed(self, file: LandedFile, header: Sequence[str]) -> Any:
        """The lines with `fields`: a struct of the header's names as strings, and CORRUPT_COLUMN."""
        T = self.types
        schema = T.StructType([T.StructField(name, T.StringType()) for name in header]
                              + [T.StructField(CORRUPT_COLUMN, T.StringType())])
        options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}
        F = self.functions
        lines = self.lines(file)
        return lines.select(_LINE, _TEXT, F.from_json(F.col(_TEXT), schema, options).alias("fields")).select(
            _LINE, _TEXT, "fields", F.col("fields")[CORRUPT_COLUMN].alias(CORRUPT_COLUMN))

    def open(self, file: LandedFile) -> SparkJsonFile | None:
        codec = compression_of(file.uri)
        try:
            listed = self._fields(file)
        except Exception as exc:  # Spark's errors are Py4J or pyspark ones: judged by their Java exception
            if codec is not None and any(marker in str(exc) for marker in CODEC_FAILURES):
                raise corrupt_compressed(file.uri, codec, java_cause(exc)) from exc
            raise
        if listed is None:
            return None
        header, well_formed, first_line = listed
        if not well_formed:
            raise not_json_lines(file.uri, first_line)
        return SparkJsonFile(file, header, self)

    def _fields(self, file: LandedFile) -> tuple[list[str], int, str] | None:
        """The file's fields in first-seen order, its count of well-formed lines and its first line;
        None for a file without a non-blank line."""
        F = self.functions
        if compression_of(file.uri) == "zstd":
            raise InputFileError(f"{file.uri}: Spark cannot decompress .zst JSON lines here (Hadoop's codec needs "
                                 "its native library).", hint="land it gzip-compressed (.gz) or uncompressed")
        head = self._whole_text(file).select(F.substring("value", 1, 16).alias("head")).collect()
        encoding = charset_of_marked(head[0]["head"]) if head else None
        if encoding is not None:
            self.encodings[file.spark_path] = encoding
        frame = self.parsed(file, []).cache()
        try:
            first = frame.orderBy(_LINE).select(_TEXT).limit(1).collect()
            if not first:
                return None
            well_formed = frame.where(F.col(CORRUPT_COLUMN).isNull())
            keys = well_formed.select(_LINE, F.posexplode(F.json_object_keys(F.col(_TEXT))).alias("at", "key"))
            ordered = keys.groupBy("key").agg(F.min(F.struct(_LINE, "at")).alias("first")).orderBy("first").collect()
            return [row["key"] for row in ordered], well_formed.count(), first[0][_TEXT]
        finally:
            frame.unpersist()

    def raw_rows(self, file: LandedFile, header: Sequence[str], schema_names: Sequence[str],
                 extra_columns: Sequence[str]) -> Any:
        F = self.functions
        frame = self.parsed(file, header)
        corrupt = F.col(CORRUPT_COLUMN)

        def text(name: str) -> Any:
            if name not in header:
                return F.lit(None).cast("string").alias(name)
            return F.when(corrupt.isNull(), F.col("fields")[name]).alias(name)

        columns = [text(name) for name in schema_names] + [text(name) for name in extra_columns if name in header]
        return frame.select(
            *columns,
            F.lit(file.uri).alias(SOURCE_FILENAME),
            F.lit(file.modified).cast("timestamp").alias(SOURCE_FILE_MODIFIED),
            F.col(_LINE).alias(SOURCE_ROW),
            F.when(corrupt.isNotNull(), F.col(_TEXT)).alias(MALFORMED_RECORD),
        )

    def combine(self, parts: Sequence[Any]) -> Any:
        combined = parts[0]
        for frame in parts[1:]:
            combined = combined.unionByName(frame, allowMissingColumns=True)
        lineage = (SOURCE_FILENAME, SOURCE_FILE_MODIFIED, SOURCE_ROW, MALFORMED_RECORD)
        return combined.select(*[c for c in combined.columns if c not in lineage], *lineage)
