"""The bronze rules (sources/bronze_rules.py), the same for every reader: a fake reader shows what
happens to each file whatever the format, the Arrow CSV reader (found through the registry) that a
real file goes the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lakehouse.core.config import S3Settings
from lakehouse.core.errors import ConfigError, FileChangedError, InputFileError, SchemaEvolutionError
from lakehouse.core.storage import FileInfo, Storage
from lakehouse.sources import ledger
from lakehouse.sources.bronze_rules import read_batch, rescued_columns
from lakehouse.sources.registry import ARROW_READERS, SPARK_READERS, arrow_reader
from lakehouse.sources.schema import StoredSchema
from lakehouse.spec.model import EvolutionMode, LandingSource


@dataclass(frozen=True)
class Landed:
    uri: str
    header: list[str] | None = None  # None: an empty file
    rows: list[list[str | None]] = field(default_factory=list)
    error: Exception | None = None


@dataclass
class Opened:
    uri: str
    header: list[str]
    rows: list[list[str | None]]
    notes: Sequence[str] = ()
    sampled: int = 0

    def sample_rows(self) -> list[list[str | None]]:
        self.sampled += 1
        return self.rows

    def raw_rows(self, schema_names: Sequence[str], extra_columns: Sequence[str]) -> Any:
        return (self.uri, tuple(schema_names), tuple(extra_columns))


class FakeReader:
    def __init__(self) -> None:
        self.opened: list[Opened] = []

    def open(self, file: Landed) -> Opened | None:
        if file.error is not None:
            raise file.error
        if file.header is None:
            return None
        opened = Opened(file.uri, file.header, file.rows)
        self.opened.append(opened)
        return opened

    def combine(self, parts: Sequence[Any]) -> Any:
        return list(parts)


def source(mode: EvolutionMode = EvolutionMode.ADD_NEW_COLUMNS) -> LandingSource:
    return LandingSource(name="things", folder="things", schema_hints={"id": "bigint"}, evolution_mode=mode)


def run(files: list[Landed], mode: EvolutionMode = EvolutionMode.ADD_NEW_COLUMNS,
        stored: StoredSchema | None = None):
    saved: list[StoredSchema] = []
    messages: list[str] = []
    reader = FakeReader()
    batch = read_batch(reader, files, source(mode), stored, saved.append, messages.append)
    return batch, saved, messages, reader


def test_each_file_gets_one_outcome_and_one_note():
    batch, saved, messages, _ = run([
        Landed("l/bad.csv", error=InputFileError("l/bad.csv: cannot be parsed", hint="fix it")),
        Landed("l/moving.csv", error=FileChangedError("l/moving.csv", "it was deleted after it was listed")),
        Landed("l/empty.csv"),
        Landed("l/dup.csv", header=["id", "id"], rows=[["1", "2"]]),
        Landed("l/header-only.csv", header=["id", "name"]),
        Landed("l/rows.csv", header=["id", "name"], rows=[["1", "a"]]),
    ])
    assert [(o.uri, o.status) for o in batch.outcomes] == [
        ("l/bad.csv", ledger.FAILED), ("l/moving.csv", ledger.DEFERRED), ("l/empty.csv", ledger.EMPTY),
        ("l/dup.csv", ledger.FAILED), ("l/header-only.csv", ledger.EMPTY), ("l/rows.csv", ledger.INGESTED)]
    assert batch.outcomes[0].reason == "l/bad.csv: cannot be parsed (fix it)"
    assert batch.outcomes[1].reason == "it was deleted after it was listed"
    assert batch.notes[0] == "QUARANTINED l/bad.csv: cannot be parsed (fix it)"
    assert batch.notes[1].startswith("l/moving.csv: deferred, it was deleted after it was listed; it is read again")
    assert batch.notes[2] == "l/empty.csv: empty file, nothing to ingest"
    assert "names column 'id' twice" in batch.notes[3]
    assert batch.notes[4] == "l/header-only.csv: header only, no rows; the schema is inferred from a file with rows"
    assert batch.failed_files == ["l/bad.csv", "l/dup.csv"] and batch.deferred_files == ["l/moving.csv"]
    assert [s.columns for s in saved] == [(("id", "bigint"), ("name", "string"))]
    assert saved[0].source_file == "l/rows.csv"
    assert messages == ["schema inferred from rows.csv and stored (v0)"]
    assert batch.raw == [("l/rows.csv", ("id", "name"), ())]


def test_new_columns_evolve_the_schema_and_missing_ones_do_not():
    batch, saved, messages, reader = run([
        Landed("l/1.csv", header=["id", "name"], rows=[["1", "a"]]),
        Landed("l/2.csv", header=["id"], rows=[["2"]]),
        Landed("l/3.csv", header=["id", "joined"], rows=[["3", "2024-01-01"]]),
    ])
    assert [s.version for s in saved] == [0, 1] and saved[1].columns[-1] == ("joined", "date")
    assert messages[-1] == "schema evolved to v1 (addNewColumns: joined)"
    assert reader.opened[1].sampled == 0  # no new column: no sample read
    # Every file is lined up with the last schema of the batch.
    assert {names for _, names, _ in batch.raw} == {("id", "name", "joined")}


def test_fail_on_new_columns_fails_the_batch():
    stored = StoredSchema(0, (("id", "bigint"),), reason="inferred from the first file")
    with pytest.raises(SchemaEvolutionError, match="new column\\(s\\) extra .* failOnNewColumns"):
        run([Landed("l/1.csv", header=["id", "extra"], rows=[["1", "x"]])], EvolutionMode.FAIL_ON_NEW_COLUMNS,
            stored)


def test_rescue_mode_keeps_the_schema_and_reads_new_columns_only_to_rescue_them():
    stored = StoredSchema(0, (("id", "bigint"),), reason="inferred from the first file")
    batch, saved, _, _ = run([
        Landed("l/1.csv", header=["id", "b"], rows=[["1", "x"]]),
        Landed("l/2.csv", header=["a", "id", "b"], rows=[["y", "2", "z"]]),
    ], EvolutionMode.RESCUE, stored)
    assert saved == [] and batch.schema is stored
    assert batch.extra_columns == ["b", "a"]
    assert batch.raw == [("l/1.csv", ("id",), ("b",)), ("l/2.csv", ("id",), ("a", "b"))]
    assert rescued_columns(["id", "b"], stored, EvolutionMode.NONE) == []


def test_nothing_to_append_without_a_schema():
    batch, saved, _, _ = run([Landed("l/header-only.csv", header=["id"])])
    assert batch.raw is None and batch.schema is None and saved == []


def test_the_arrow_csv_reader_through_the_registry(tmp_path: Path):
    folder = tmp_path / "things"
    folder.mkdir()
    (folder / "a.csv").write_text("id,name\n1,a\n2,b,extra\n")
    storage = Storage(S3Settings())
    info = storage.list_files(str(folder))[0]
    changed = FileInfo(modified=info.modified, uri=info.uri, size=info.size + 1)
    saved: list[StoredSchema] = []
    batch = read_batch(arrow_reader(source(), storage), [info, changed], source(), None, saved.append)
    assert [o.status for o in batch.outcomes] == [ledger.INGESTED, ledger.DEFERRED]
    assert "changed after it was listed" in batch.outcomes[1].reason
    assert batch.raw.num_rows == 2 and batch.raw.column("id").to_pylist() == ["1", None]
    assert any("1 malformed row(s)" in note for note in batch.notes)
    assert saved[0].columns == (("id", "bigint"), ("name", "string"))


def test_an_unknown_format_names_the_formats_there_are():
    avro = LandingSource(name="things", folder="things", format="avro")
    with pytest.raises(ConfigError, match="(?s)format .avro.*valid formats: csv, json, parquet"):
        arrow_reader(avro, Storage(S3Settings()))
    assert set(ARROW_READERS) == set(SPARK_READERS)  # a format is readable by every engine family


def test_a_file_listed_with_another_modification_time_is_deferred(tmp_path: Path):
    # The plan lists size and modification time; a file touched since is not read in this batch.
    (tmp_path / "a.csv").write_text("id\n1\n")
    storage = Storage(S3Settings())
    info = storage.list_files(str(tmp_path))[0]
    older = FileInfo(modified=info.modified - dt.timedelta(seconds=1), uri=info.uri, size=info.size)
    batch = read_batch(arrow_reader(source(), storage), [older], source(), None, lambda schema: None)
    assert batch.deferred_files == [info.uri] and batch.raw is None
