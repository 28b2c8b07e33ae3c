"""The bronze discovery stream (binaryFile, availableNow) hands each landed file to exactly one batch,
and foreachBatch turns the batch's files into typed rows. Runs without Delta: the sink here collects
the typed rows where the engine would append them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lakehouse.core.dialects import SPARK
from lakehouse.kinds.append_ingest.sql import typed_projection_sql
from lakehouse.runtime.drivers import driver_for
from lakehouse.spec.model import Kind, LandingSource, TableRef, TableSpec

pytestmark = pytest.mark.spark

SPEC = TableSpec(ref=TableRef("bronze", "customer_raw"), kind=Kind.APPEND_INGEST,
                 source=LandingSource(name="customer", folder="customer", schema_hints={"c_custkey": "bigint"}))


def _land(folder: Path, name: str, text: str, second: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    os.utime(folder / name, (1_700_000_000 + second, 1_700_000_000 + second))


def _run_once(driver, checkpoint: str) -> list[tuple[int, list[tuple]]]:
    from lakehouse.sources.bronze_rules import read_batch
    from lakehouse.sources.csv.spark_reader import SparkCsvReader
    from lakehouse.sources.spark_files import landed_files

    seen: list[tuple[int, list[tuple]]] = []
    store = driver.schema_store(SPEC)

    def on_batch(batch, batch_id):
        files = landed_files(batch.collect())
        raw = read_batch(SparkCsvReader(batch.sparkSession), files, SPEC.source, store.latest(), store.save)
        with driver.engine.bound_to(batch.sparkSession):
            typed = driver.engine.sql(
                typed_projection_sql(SPARK, raw.schema.columns, raw.extra_columns, "2024-01-01T00:00:00Z"),
                {"raw": raw.raw})
            seen.append((batch_id, sorted((r["c_custkey"], r["c_name"], r["source_filename"].rsplit("/", 1)[-1],
                                           r["source_row"]) for r in typed.collect())))

    flow = driver.flow(SPEC)
    query = (flow.stream.writeStream.option("checkpointLocation", checkpoint).foreachBatch(on_batch)
             .trigger(availableNow=True).start())
    query.awaitTermination()
    return seen


def test_each_landed_file_is_read_once_across_runs(spark_engine, settings, tmp_path):
    landing = Path(settings.landing) / "customer"
    _land(landing, "part-1.csv", "c_custkey,c_name\n1,a\n2,b\n", 1)
    driver = driver_for(spark_engine)
    checkpoint = str(tmp_path / "checkpoint")
    first = _run_once(driver, checkpoint)
    assert first == [(0, [(1, "a", "part-1.csv", 2), (2, "b", "part-1.csv", 3)])]
    assert _run_once(driver, checkpoint) == []  # nothing new: no batch at all

    _land(landing, "part-2.csv", "c_custkey,c_name\n3,c\n", 2)
    assert _run_once(driver, checkpoint) == [(1, [(3, "c", "part-2.csv", 2)])]
    assert [s.version for s in driver.schema_store(SPEC).history()] == [0]


def test_no_landing_folder_means_no_flow(spark_engine):
    assert driver_for(spark_engine).flow(SPEC) is None
