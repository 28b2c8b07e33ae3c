"""The Spark bronze read path (SparkCsvReader + bronze_rules.read_batch + typed_projection_sql) gives the same typed
rows and the same stored schema history as the embedded engine's bronze ingest of the same files."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.dialects import SPARK
from lakehouse.kinds.append_ingest.sql import typed_projection_sql
from lakehouse.spec.model import DATE_ADDED, EvolutionMode, Kind, LandingSource, TableRef, TableSpec
from tests.spark.parity import duck_rows, sort_key, spark_rows

pytestmark = pytest.mark.spark

VALUES = (
    'id,name,balance,born\n'
    '1,"",10.50,2024-01-31\n'  # quoted empty string is ''
    '2,,0,\n'  # unquoted empty is NULL
    '3,"say ""hi""",-0.50,1970-01-01\n'
    '4,back\\slash|pipe,1.234,2024-02-30\n'  # too many decimals, impossible date
    '5,too,many,fields,here\n'  # malformed: 5 fields
    '6,few\n'  # malformed: 2 fields
    '7,ünïcødé ✓ 日本,12x,24-01-01\n'
    '8,"comma, inside",1e3,2024-01-01\n'
)
CRLF_AND_NEWLINES = '\ufeffid,name,balance,born\r\n9,"two\nlines",1.00,2024-03-01\r\n10,"x",2.00,2024-03-02\r\n'


def _land(folder: Path, files: list[tuple[str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, (name, text) in enumerate(files):
        path = folder / name
        path.write_bytes(text.encode("utf-8"))
        # Distinct, increasing modification times: landing order is by time, then name.
        os.utime(path, ns=(1_700_000_000_000_000_000 + index * 1_000_123_456,) * 2)


def _embedded(settings, spec):
    from lakehouse.engines.embedded.engine import EmbeddedEngine
    from lakehouse.runtime.drivers.batch import BatchDriver
    from lakehouse.sources.schema_store import SchemaStore

    engine = EmbeddedEngine(settings.with_overrides(engine="embedded"))
    driver = BatchDriver(engine)
    driver.run_table(spec)
    history = SchemaStore(driver.checkpoints(spec)).history()
    table = engine.read_table(spec.ref) if engine.table_version(spec.ref) is not None else None
    return table, history


def _spark(spark, spark_engine, settings, spec, tmp_path):
    from lakehouse.sources.bronze_rules import read_batch
    from lakehouse.sources.registry import spark_reader
    from lakehouse.sources.schema_store import SchemaStore
    from lakehouse.sources.spark_files import LandedFile

    landed = spark_engine.storage.list_files(settings.landing_uri(spec.source.folder))
    files = [LandedFile(uri=i.uri, spark_path=i.uri, modified=i.modified, size=i.size) for i in landed]
    store = SchemaStore(CheckpointLog(spark_engine.storage, str(tmp_path / "spark-schemas")))
    batch = read_batch(spark_reader(spec.source, spark), files, spec.source, store.latest(), store.save)
    typed = None
    if batch.raw is not None:
        query = typed_projection_sql(SPARK, batch.schema.columns, batch.extra_columns, "2024-01-01T00:00:00Z", "raw")
        typed = spark_engine.sql(query, {"raw": batch.raw})
    return typed, store.history(), batch


def spark_schema_history(settings, tmp_path):
    from lakehouse.core.storage import Storage
    from lakehouse.sources.schema_store import SchemaStore

    return SchemaStore(CheckpointLog(Storage(settings.s3), str(tmp_path / "spark-schemas"))).history()


def _compare(spark, spark_engine, settings, tmp_path, mode=EvolutionMode.ADD_NEW_COLUMNS):
    spec = TableSpec(ref=TableRef("bronze", "things"), kind=Kind.APPEND_INGEST,
                     source=LandingSource(name="things", folder="things", schema_hints={"id": "bigint"},
                                          evolution_mode=mode))
    embedded_table, embedded_history = _embedded(settings, spec)
    spark_typed, spark_history, batch = _spark(spark, spark_engine, settings, spec, tmp_path)
    key = lambda s: (s.version, s.columns, s.reason, s.source_file)  # noqa: E731
    assert [key(s) for s in spark_history] == [key(s) for s in embedded_history]
    if embedded_table is None:
        assert spark_typed is None
        return [], batch
    columns = [c for c in embedded_table.column_names if c != DATE_ADDED]
    duck = sorted(duck_rows(embedded_table.select(columns)), key=sort_key)
    sparks = sorted(spark_rows(spark_typed.select(*columns)), key=sort_key)
    assert sparks == duck
    return [dict(zip(columns, row)) for row in duck], batch


def test_values_null_vs_empty_malformed_and_line_endings(spark, spark_engine, settings, tmp_path):
    _land(Path(settings.landing) / "things", [("a.csv", VALUES), ("b.csv", CRLF_AND_NEWLINES)])
    rows, _ = _compare(spark, spark_engine, settings, tmp_path)
    by_id = {(r["source_filename"].rsplit("/", 1)[-1], r["source_row"]): r for r in rows}
    assert by_id[("a.csv", 2)]["name"] == "" and by_id[("a.csv", 3)]["name"] is None
    assert by_id[("a.csv", 6)]["id"] is None and "_corrupt_record" in by_id[("a.csv", 6)]["_rescued_data"]
    assert by_id[("b.csv", 2)]["name"] == "two\nlines"
    assert len(rows) == 10


def test_schema_inferred_then_evolved_with_new_and_missing_columns(spark, spark_engine, settings, tmp_path):
    _land(Path(settings.landing) / "things", [
        ("1-header-only.csv", "id,name\n"),
        ("2-first-rows.csv", "id,name,score\n1,a,1.5\n2,b,2.25\n"),
        ("3-new-column.csv", "id,name,score,joined\n3,c,3,2024-01-01\n"),
        ("4-missing-columns.csv", "id\n4\n"),
        ("5-header-only-new.csv", "id,name,phone\n"),
        ("6-empty.csv", ""),
    ])
    rows, batch = _compare(spark, spark_engine, settings, tmp_path)
    assert {r["id"]: r["joined"] for r in rows} == {1: None, 2: None, 3: dt.date(2024, 1, 1), 4: None}
    assert [s.columns[-1] for s in spark_schema_history(settings, tmp_path)] == [
        ("score", "decimal(18,2)"), ("joined", "date"), ("phone", "string")]
    assert batch.schema.names == ["id", "name", "score", "joined", "phone"]
    assert any("empty file" in note for note in batch.notes)
    assert len(rows) == 4


def test_rescue_mode_keeps_unknown_columns_in_rescued_data(spark, spark_engine, settings, tmp_path):
    _land(Path(settings.landing) / "things", [
        ("1.csv", "id,name\n1,a\n"),
        ("2.csv", "id,name,extra\n2,b,surprise\n3,c,\n"),
    ])
    rows, batch = _compare(spark, spark_engine, settings, tmp_path, mode=EvolutionMode.RESCUE)
    assert batch.extra_columns == ["extra"]
    assert batch.schema.names == ["id", "name"]
    assert '"extra":"surprise"' in {r["id"]: r["_rescued_data"] for r in rows}[2]
