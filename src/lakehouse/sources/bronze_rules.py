"""The rules of reading a batch of landed files into bronze, written once for every format and engine.

Per file, in landing order:
- a name that is not a landed data file (sources/file_names: '.', '_', temporary suffixes) is
  skipped, in case the listing let it through: once renamed it is a new file;
- a file that cannot be read as it is (corrupt compression, another format, wrong delimiter,
  unparseable, a header the schema must not take: sources/headers) is quarantined before the schema
  is touched: the run reports it, the ledger keeps it out until it changes;
- a file that changed since it was listed is deferred: it is read again on the next run;
- an empty file, or a header-only file before any schema is stored, is skipped (a header alone
  would type every column as string);
- the first file with rows fixes the stored schema (v0, inferred from its sample and the hints;
  a typed format's file, sources/base.TypedFile, gives its own types instead of the sample's);
  a later file with new columns evolves it by the source's mode (sources/schema.evolve: addNewColumns
  adds them, failOnNewColumns fails the run, rescue and none keep the schema);
- in rescue mode, columns the stored schema lacks are read only to go into _rescued_data.
The reader (sources/base.LandingReader) only reads; the drivers write the ledger and commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lakehouse.core.errors import FileChangedError, InputFileError, LakehouseError, SchemaEvolutionError
from lakehouse.sources import ledger
from lakehouse.sources.base import LandedFileRef, LandingReader, OpenedFile, file_types
from lakehouse.sources.file_names import is_landed_data_file, skipped_name_reason
from lakehouse.sources.headers import vet_header
from lakehouse.sources.schema import StoredSchema, check_header, evolve, infer_schema
from lakehouse.spec.model import EvolutionMode, LandingSource

FileT = TypeVar("FileT", bound=LandedFileRef)
Progress = Callable[[str], None]
# A batch of more files than this reports its reading progress every so many files.
PROGRESS_EVERY_FILES = 20


@dataclass(frozen=True)
class Outcome:
    """What became of one planned file (a ledger status, and why for failed and deferred files)."""

    uri: str
    status: str
    reason: str = ""


@dataclass
class BronzeBatch:
    """A bronze batch's raw relation, the schema that types it, and what became of each file."""

    raw: Any = None  # None: nothing to append
    schema: StoredSchema | None = None
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def files_with(self, status: str) -> list[str]:
        return [outcome.uri for outcome in self.outcomes if outcome.status == status]

    @property
    def failed_files(self) -> list[str]:
        return self.files_with(ledger.FAILED)

    @property
    def deferred_files(self) -> list[str]:
        return self.files_with(ledger.DEFERRED)

    @property
    def ingested_files(self) -> list[str]:
        return self.files_with(ledger.INGESTED)


def error_text(exc: LakehouseError) -> str:
    return exc.message + (f" ({exc.hint})" if exc.hint else "")


def quarantined_note(exc: LakehouseError) -> str:
    return "QUARANTINED " + error_text(exc)


def deferred_note(exc: FileChangedError) -> str:
    return f"{exc.uri}: deferred, {exc.reason}; it is read again on the next run ({exc.hint})"


def empty_note(uri: str) -> str:
    return f"{uri}: empty file, nothing to ingest"


def header_only_note(uri: str) -> str:
    return f"{uri}: header only, no rows; the schema is inferred from a file with rows"


def file_name(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def schema_for(stored: StoredSchema | None, opened: OpenedFile, source: LandingSource) -> StoredSchema | None:
    """The schema after `opened`: `stored` when the file changes nothing, a new version (v0 inferred,
    or evolved) to store, or None when there is still no schema (a header-only first file).
    Raises SchemaEvolutionError when the file's new columns fail the mode (failOnNewColumns)."""
    if stored is None:
        sample = opened.sample_rows()
        if not sample:
            return None
        return StoredSchema(0, infer_schema(opened.header, sample, source.schema_hints, file_types(opened)),
                            reason="inferred from the first file", source_file=opened.uri)
    if all(name in stored.names for name in opened.header):
        return stored  # missing columns are never an evolution: their values are NULL
    evolved = evolve(stored, opened.header, opened.sample_rows(), source.schema_hints, source.evolution_mode,
                     opened.uri, file_types(opened))
    return stored if evolved is None else evolved


def rescued_columns(header: Sequence[str], schema: StoredSchema, mode: EvolutionMode) -> list[str]:
    """The file's columns read only to be rescued: those the schema lacks, in rescue mode."""
    if mode is not EvolutionMode.RESCUE:
        return []
    return [name for name in header if name not in schema.names]


def open_file(reader: LandingReader[FileT], file: FileT, batch: BronzeBatch,
              mode: EvolutionMode = EvolutionMode.ADD_NEW_COLUMNS) -> OpenedFile | None:
    """The file opened and its header checked against `batch.schema`, or None with its outcome
    recorded (skipped, quarantined, deferred or empty)."""
    if not is_landed_data_file(file_name(file.uri)):
        batch.notes.append(skipped_name_reason(file.uri))
        batch.outcomes.append(Outcome(file.uri, ledger.EMPTY, "not a landed data file name"))
        return None
    try:
        opened = reader.open(file)
        if opened is not None:
            check_header(opened.header, opened.uri)
            vet_header(opened.header, batch.schema.names if batch.schema else [], mode, opened.uri)
    except FileChangedError as exc:
        batch.notes.append(deferred_note(exc))
        batch.outcomes.append(Outcome(file.uri, ledger.DEFERRED, exc.reason))
        return None
    except (InputFileError, SchemaEvolutionError) as exc:
        batch.notes.append(quarantined_note(exc))
        batch.outcomes.append(Outcome(file.uri, ledger.FAILED, error_text(exc)))
        return None
    if opened is None:
        batch.notes.append(empty_note(file.uri))
        batch.outcomes.append(Outcome(file.uri, ledger.EMPTY))
    return opened


def read_batch(
    reader: LandingReader[FileT],
    files: Sequence[FileT],
    source: LandingSource,
    stored: StoredSchema | None,
    save_schema: Callable[[StoredSchema], None],
    progress: Progress = lambda message: None,
) -> BronzeBatch:
    """Read `files` (one planned batch, in landing order) by the rules above. Each new schema
    version is saved as soon as it is decided, so the next file is read against it."""
    batch = BronzeBatch(schema=stored)
    readable: list[OpenedFile] = []
    for index, file in enumerate(files, start=1):
        if len(files) > PROGRESS_EVERY_FILES and index % PROGRESS_EVERY_FILES == 0:
            progress(f"read {index}/{len(files)} files")
        opened = open_file(reader, file, batch, source.evolution_mode)
        if opened is None:
            continue
        schema = schema_for(batch.schema, opened, source)
        if schema is None:
            batch.notes.append(header_only_note(opened.uri))
            batch.outcomes.append(Outcome(opened.uri, ledger.EMPTY))
            continue
        batch.outcomes.append(Outcome(opened.uri, ledger.INGESTED))
        if schema is not batch.schema:
            save_schema(schema)
            progress(f"schema inferred from {file_name(opened.uri)} and stored (v0)" if batch.schema is None
                     else f"schema evolved to v{schema.version} ({schema.reason})")
            batch.schema = schema
        batch.notes.extend(f"{opened.uri}: {note}" for note in opened.notes)
        readable.append(opened)
    if batch.schema is None or not readable:
        return batch
    parts = []
    for opened in readable:
        extras = rescued_columns(opened.header, batch.schema, source.evolution_mode)
        batch.extra_columns += [name for name in extras if name not in batch.extra_columns]
        part = opened.raw_rows(batch.schema.names, extras)
        if getattr(part, "num_rows", None) == 0:
            # A header alone (a writer paused after it) gave no rows: once written on, it is taken whole.
            batch.outcomes = [Outcome(o.uri, ledger.EMPTY) if o.uri == opened.uri else o for o in batch.outcomes]
        parts.append(part)
    batch.raw = reader.combine(parts)
    return batch
