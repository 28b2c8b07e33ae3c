"""JSON lines and Parquet on Spark give the same bronze rows and stored schema history as on the embedded
engine: the embedded batch driver against the Spark readers + bronze_rules.read_batch + the ingest SQL."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.dialects import SPARK
from lakehouse.core.storage import Storage
from lakehouse.kinds.append_ingest.sql import typed_projection_sql
from lakehouse.spec.model import DATE_ADDED, EvolutionMode
from tests.formats.support import BRONZE, SILVER, Lake, gzipped, json_lines, parquet_bytes, pipeline
from tests.spark.parity import duck_rows, normalise, sort_key, spark_rows

pytestmark = pytest.mark.spark


def _spark_bronze(spark, lake: Lake, spec):
    from lakehouse.engines.spark import SparkEngine
    from lakehouse.sources.bronze_rules import read_batch
    from lakehouse.sources.registry import spark_reader
    from lakehouse.sources.schema_store import SchemaStore
    from lakehouse.sources.spark_files import LandedFile

    engine = SparkEngine(lake.settings.with_overrides(engine="spark"), spark=spark)
    storage = Storage(lake.settings.s3)
    landed = sorted(storage.list_files(lake.settings.landing_uri(spec.source.folder)), key=lambda i: (i.modified, i.uri))
    files = [LandedFile(uri=i.uri, spark_path=i.uri, modified=i.modified, size=i.size) for i in landed]
    store = SchemaStore(CheckpointLog(storage, str(lake.root / "spark-schemas")))
    batch = read_batch(spark_reader(spec.source, spark), files, spec.source, store.latest(), store.save)
    assert batch.raw is not None, batch.notes
    query = typed_projection_sql(SPARK, batch.schema.columns, batch.extra_columns, "2024-01-01T00:00:00Z", "raw")
    return engine.sql(query, {"raw": batch.raw}), store.history(), batch


def _compare(spark, lake: Lake, pipe) -> tuple[list[dict], object]:
    """Both engines' bronze rows (date_added aside) and schema histories, asserted equal; the rows."""
    lake.run(pipe)
    embedded = lake.rows()
    typed, spark_history, batch = _spark_bronze(spark, lake, pipe.table(BRONZE))
    key = lambda s: (s.version, s.columns, s.reason, s.source_file)  # noqa: E731
    assert [key(s) for s in spark_history] == [key(s) for s in lake.schemas(pipe)]
    columns = [c for c in embedded[0] if c != DATE_ADDED]
    duck = sorted(duck_rows(pa.Table.from_pylist(embedded).select(columns)), key=sort_key)
    assert sorted(spark_rows(typed.select(*columns)), key=sort_key) == duck
    return [dict(zip(columns, row)) for row in duck], batch


def test_json_lines_same_rows_on_both_engines(spark, tmp_path):
    lake = Lake(tmp_path)
    lake.land("1.jsonl", json_lines(
        {"id": 1, "name": "a", "score": 1.50e3, "big": 12345678.5, "tags": [1, 2.0, "é\n"], "meta": {"x": None}},
        "[1, 2]", "", '  {"id": 2, "name": "two", "flag": true}  ', "{broken", '{"id": 3, "name": "\\u00e9\\t"}',
        '{"id": 4, "id": 5, "name": "last wins"} trailing'))
    lake.land("2.json.gz", gzipped(json_lines({"id": "x6", "name": "misfit", "joined": "2024-01-31"},
                                              {"id": 7, "name": None, "joined": "2024-02-30"}).replace(b"\n", b"\r\n")))
    lake.land("3.json", b"id,name\n8,csv in a json folder\n")
    lake.land("4.json.gz", gzipped(json_lines({"id": 9}) * 50)[:30])
    lake.land("5-utf16.json", "\ufeff".encode("utf-16-le") + json_lines({"id": 10, "name": "zoë"}).decode().encode("utf-16-le"))
    rows, batch = _compare(spark, lake, pipeline("json", {"id": "bigint"}))
    assert sorted(name.rsplit("/", 1)[-1] for name in batch.failed_files) == ["3.json", "4.json.gz"]
    by_line = {(r["source_filename"].rsplit("/", 1)[-1], r["source_row"]): r for r in rows}
    assert by_line[("1.jsonl", 1)]["score"] == decimal.Decimal("1500.0") and by_line[("1.jsonl", 1)]["tags"] == '[1,2.0,"é\\n"]'
    assert "_corrupt_record" in by_line[("1.jsonl", 2)]["_rescued_data"]
    assert by_line[("1.jsonl", 6)]["name"] == "é\t" and by_line[("1.jsonl", 7)]["id"] == 5
    assert '"id":"x6"' in by_line[("2.json.gz", 1)]["_rescued_data"]
    assert by_line[("2.json.gz", 2)]["joined"] is None and "2024-02-30" in by_line[("2.json.gz", 2)]["_rescued_data"]
    assert by_line[("5-utf16.json", 1)]["name"] == "zoë"
    assert len(rows) == 9


def test_parquet_same_rows_and_types_on_both_engines(spark, tmp_path):
    lake = Lake(tmp_path)
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    lake.land("1.parquet", parquet_bytes(pa.table({
        "id": pa.array([1, 2], pa.int64()),
        "small": pa.array([3, None], pa.int16()),
        "ratio": pa.array([1.1, 1e20], pa.float64()),
        "single": pa.array([1.1, -2.5], pa.float32()),
        "amount": pa.array([decimal.Decimal("10.50"), None], pa.decimal128(10, 2)),
        "ok": pa.array([True, False]),
        "day": pa.array([dt.date(2024, 1, 31), None], pa.date32()),
        "at": pa.array([when, None], pa.timestamp("us", tz="UTC")),
        "naive": pa.array([when.replace(tzinfo=None), None], pa.timestamp("us")),
        "blob": pa.array([b"\x00\xff", None], pa.binary()),
        "nested": pa.array([{"a": 1, "b": "x"}, {"a": None, "b": "y"}], pa.struct([("a", pa.int64()), ("b", pa.string())])),
        "items": pa.array([[1, 2], []], pa.list_(pa.int64())),
        "deep": pa.array([{"d": dt.date(2024, 1, 2), "t": when, "m": decimal.Decimal("10.50"), "f": 2.0}, None],
                         pa.struct([("d", pa.date32()), ("t", pa.timestamp("us", tz="UTC")),
                                    ("m", pa.decimal128(5, 2)), ("f", pa.float64())])),
    })))
    # A string id and a double in the int column `small` do not fit: rescued on both engines alike.
    lake.land("2.parquet", parquet_bytes(pa.table({"id": pa.array(["3", "x4"]), "small": pa.array([2.0, 12345678.0]),
                                                   "extra": pa.array([5, 6], pa.int32())})))
    lake.land("3.parquet", b"PAR1 this is not really parquet")
    rows, batch = _compare(spark, lake, pipeline("parquet", mode=EvolutionMode.ADD_NEW_COLUMNS))
    assert [n for n in batch.notes if "QUARANTINED" in n and "3.parquet" in n]
    assert dict(batch.schema.columns) == {
        "id": "bigint", "small": "int", "ratio": "double", "single": "double", "amount": "decimal(10,2)",
        "ok": "boolean", "day": "date", "at": "timestamp", "naive": "timestamp", "blob": "string",
        "nested": "string", "items": "string", "deep": "string", "extra": "int"}
    first = next(r for r in rows if r["source_row"] == 1 and r["source_filename"].endswith("1.parquet"))
    assert first["nested"] == '{"a":1,"b":"x"}' and first["single"] == 1.1 and first["blob"] == "AP8="
    assert first["deep"] == '{"d":"2024-01-02","t":"2024-01-02T03:04:05.678Z","m":10.50,"f":2.0}'
    misfit = next(r for r in rows if r["source_row"] == 2 and r["source_filename"].endswith("2.parquet"))
    assert misfit["id"] is None and '"id":"x4"' in misfit["_rescued_data"] and misfit["extra"] == 6
    assert '"small":"1.2345678E7"' in misfit["_rescued_data"]
    assert len(rows) == 4


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_a_spark_run_writes_the_bronze_and_silver_rows_of_an_embedded_run(spark, tmp_path, fmt):
    """The whole pipeline on each engine (on Spark: the streaming driver and Delta), from the same files."""
    from tests.spark.session import delta_missing_reason

    reason = delta_missing_reason(spark)
    if reason:
        pytest.fail(reason, pytrace=False)
    files = {
        "json": [("1.jsonl", json_lines({"id": 1, "name": "a", "n": 1.5}, "oops", {"id": 2, "name": "b", "n": "x"})),
                 ("2.json", b"not json lines\n")],
        "parquet": [("1.parquet", parquet_bytes(pa.table({"id": pa.array([1, 2]), "name": pa.array(["a", "b"]),
                                                          "n": pa.array([1.5, None])}))),
                    ("2.parquet", b"PAR1 truncated")],
    }[fmt]
    results = {}
    for engine in ("embedded", "spark"):
        lake = Lake(tmp_path / engine, engine=engine)
        for name, data in files:
            lake.land(name, data)
        lake.run(pipeline(fmt, with_silver=True))
        # Paths differ by the lake's folder only: compared below it.
        results[engine] = [[{key: value.replace(str(lake.root), "") if isinstance(value, str) else normalise(value)
                             for key, value in row.items() if key not in (DATE_ADDED, "source_file_modified")}
                            for row in lake.rows(table)] for table in (BRONZE, SILVER)]
    assert results["spark"] == results["embedded"]
    bronze, silver = results["embedded"]
    assert [r["source_filename"] for r in bronze] == (["/landing/things/1.jsonl"] * 3 if fmt == "json"
                                                      else ["/landing/things/1.parquet"] * 2)
    assert sorted(r["id"] for r in silver) == [1, 2]
