"""Landed files as Spark's file stream lists them, whatever their format.

The bronze stream lists files with the binaryFile source (BINARY_FILE_SCHEMA, no content read) and
keeps the exactly-once record of which files each batch took; the format's reader then reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakehouse.core.storage import FileInfo
from lakehouse.engines.spark.session import location_from_spark
from lakehouse.sources import ledger

# The discovery stream lists files and reads no content (binaryFile reads content only when selected).
BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
_GLOB_CHARACTERS = "\\*?[]{}"
# Java exceptions of a compressed stream whose content is bad (not the storage failing).
CODEC_FAILURES = ("java.util.zip.ZipException", "Not in GZIP format", "not a gzip file", "Corrupt GZIP trailer",
                  "Unexpected end of", "java.io.EOFException", "CompressorException", "bzip2", "BZip2")


def java_cause(exc: BaseException) -> str:
    """The first line naming a codec's Java exception, not the whole JVM stack trace."""
    lines = [line.strip() for line in str(exc).splitlines() if any(m in line for m in CODEC_FAILURES)]
    return lines[0][:300] if lines else type(exc).__name__


@dataclass(frozen=True)
class LandedFile:
    uri: str  # our location form: the lineage value, and what Storage opens
    spark_path: str  # as Spark reads it
    modified: datetime
    size: int


class SparkOpenedFile:
    """What every Spark reader's opened file shares (sources.base.OpenedFile): its location, and its
    rows read lazily by its reader. Each format's dataclass declares the fields."""

    file: LandedFile
    header: list[str]
    reader: Any

    @property
    def uri(self) -> str:
        return self.file.uri

    def raw_rows(self, schema_names: Sequence[str], extra_columns: Sequence[str]) -> Any:
        return self.reader.raw_rows(self.file, self.header, schema_names, extra_columns)


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


def wait_for_settled(list_landed: Callable[[], list[FileInfo]], settle_seconds: float) -> list[FileInfo]:
    """The settle interval before Spark's file stream starts, as far as it can go: the stream lists the
    folder itself, takes each file name once, and refuses modifiedBefore (a batch-read option only),
    so a young file cannot be left to a later run. The run waits once, at most `settle_seconds`, for
    the youngest file to come of age (ledger.discover_settled with no records: every listed file
    counts); returns the files modified even during that wait, which the stream will take as they are."""
    if settle_seconds <= 0:
        return []
    return ledger.discover_settled(list_landed, {}, settle_seconds).settling
