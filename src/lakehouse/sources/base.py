"""What a landing reader hands to bronze's ingest SQL, whatever the format and engine.

A reader turns one landed file into a raw relation: the file's columns as text, in header order,
plus the lineage columns (spec.model SOURCE_FILENAME, SOURCE_FILE_MODIFIED, SOURCE_ROW) and
MALFORMED_RECORD, the whole line when the row could not be split into the header's fields (NULL
otherwise). The ingest SQL then types it against the stored schema and rescues what does not parse,
so the rules of sources/schema.py and kinds/append_ingest hold for every format.

The reader only reads; what happens to a file (quarantined, empty, deferred, which schema version
types it, which columns are rescued) is decided once, in sources/bronze_rules.py, for every reader.
sources/registry.py names the reader of each `LandingSource.format` per engine family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from lakehouse.core.errors import FileChangedError
from lakehouse.core.storage import FileInfo, Storage
from lakehouse.sources.file_names import compression_of
from lakehouse.sources.landed_text import corrupt_compressed, is_codec_error

MALFORMED_RECORD = "__malformed_record"
# Rows of a file that schema inference and evolution look at.
SCHEMA_SAMPLE_ROWS = 10_000


class LandedFileRef(Protocol):
    """A landed file as a driver planned it (FileInfo, or Spark's LandedFile)."""

    @property
    def uri(self) -> str: ...


class OpenedFile(Protocol):
    """One landed file whose header was read: what the bronze rules decide on, then its raw rows."""

    @property
    def uri(self) -> str: ...

    @property
    def header(self) -> list[str]: ...

    @property
    def notes(self) -> Sequence[str]:
        """What the reader noticed (malformed rows kept, bytes that are not UTF-8), for the run's output."""
        ...

    def sample_rows(self) -> Sequence[Sequence[str | None]]:
        """Up to SCHEMA_SAMPLE_ROWS rows in header order, for inference; asked for only when needed."""
        ...

    def raw_rows(self, schema_names: Sequence[str], extra_columns: Sequence[str]) -> Any:
        """The file's rows lined up with the stored schema: every schema column as text (NULL where the
        file lacks it), then `extra_columns` (kept only to be rescued), then lineage and MALFORMED_RECORD."""
        ...


@runtime_checkable
class TypedFile(Protocol):
    """An opened file whose format carries column types (Parquet): they are its inferred schema, as
    Auto Loader takes a typed format's schema, instead of types inferred from a text sample."""

    @property
    def column_types(self) -> Mapping[str, str]: ...


def file_types(opened: OpenedFile) -> Mapping[str, str]:
    """The column types `opened` carries itself (empty for a text format: they are inferred)."""
    return opened.column_types if isinstance(opened, TypedFile) else {}


FileT_contra = TypeVar("FileT_contra", bound=LandedFileRef, contravariant=True)


class LandingReader(Protocol[FileT_contra]):
    """Reads landed files of one format into the engine's relations (Arrow tables, DataFrames).

    `open` returns None for an empty file and raises InputFileError or SchemaEvolutionError for a
    file that cannot be read as it is (it is quarantined), FileChangedError for one that changed
    since it was listed (it is read again on the next run).
    """

    def open(self, file: FileT_contra) -> OpenedFile | None: ...

    def combine(self, parts: Sequence[Any]) -> Any:
        """One batch's `raw_rows` as one raw relation."""
        ...


def read_unchanged(storage: Storage, info: FileInfo) -> bytes:
    """The file's bytes, as listed in the plan: a file that changed since is never half-read.

    "Changed" is judged on the stored object (its size and mtime), never on the bytes read: Storage
    hands a compressed file over decompressed. A compressed file is therefore checked again after
    the read instead of by its length. Its content being corrupt is InputFileError (quarantined);
    any other read error is the storage's and fails the run, so the file is not quarantined for it.
    """
    _check_as_planned(storage, info)
    codec = compression_of(info.uri)
    try:
        data = storage.read_bytes(info.uri)
    except OSError as exc:
        if codec is not None and is_codec_error(exc):
            raise corrupt_compressed(info.uri, codec, exc) from exc
        raise
    if codec is not None:
        _check_as_planned(storage, info, " while it was read")
    elif len(data) != info.size:
        raise FileChangedError(info.uri, f"its size changed from {info.size} to {len(data)} bytes while it was read")
    return data


def _check_as_planned(storage: Storage, info: FileInfo, when: str = "") -> None:
    current = storage.file_info(info.uri)
    if current is None:
        raise FileChangedError(info.uri, f"it was deleted after it was listed{when}")
    if current.size != info.size or current.modified != info.modified:
        raise FileChangedError(info.uri, f"it changed after it was listed{when} (size {info.size} -> {current.size}, "
                                         f"modified {info.modified.isoformat()} -> {current.modified.isoformat()})")
