"""Both engines' tables are plain Delta tables the other side reads, appends to and MERGEs.

- embedded -> Spark: a real customer run on the embedded engine (delta-rs + DuckDB); delta-spark reads
  silver and gold with plain Spark SQL, appends (INSERT INTO) and MERGEs into silver, and reads the
  change feed of both writers' commits; delta-rs, DuckDB and Polars read Spark's commits back, and
  the embedded pipeline carries on on top of them.
- Spark -> embedded side: a real customer run on the Spark engine; delta-rs reads its tables, MERGEs
  and appends into silver; Spark reads delta-rs's commits (rows and change feed) and the Spark
  pipeline carries on on top of them.
Row contents are compared, not counts."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.runtime.drivers import driver_for
from lakehouse.runtime.runner import Runner
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE
from tests.delta_readers import delta_rs_rows

pytestmark = pytest.mark.spark

HEADER = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment\n"
FILE_1 = HEADER + "1,A,addr1,1,111,1.00,BUILDING,x\n2,B,addr2,2,222,2.00,MACHINERY,y\n3,C,addr3,3,333,3.00,HOUSEHOLD,z\n"
FILE_2 = HEADER + "2,B3,addr2,2,222,2.50,MACHINERY,y\n"
SILVER_COLUMNS = ("c_custkey", "c_name", "c_acctbal", "hash_value")
DIM_COLUMNS = ("dim_customer_id", "c_custkey", "c_name", "hash_value", "is_current")


def _land(settings: Settings, name: str, text: str, order: int) -> None:
    path = Path(settings.landing) / "customer" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - 10_000 + order
    os.utime(path, (stamp, stamp))


def _path(settings: Settings, table: str) -> str:
    schema, name = table.split(".")
    return settings.table_uri(schema, name)


def _spark_rows(spark, path: str, columns) -> list[tuple]:
    select = ", ".join(f"`{c}`" for c in columns)
    return sorted(tuple(row) for row in spark.sql(f"SELECT {select} FROM delta.`{path}`").collect())


def _rs_rows(path: str, columns) -> list[tuple]:
    data = delta_rs_rows(path, columns)
    return sorted(zip(*(data.column(c).to_pylist() for c in columns)))


def _duckdb_rows(path: str, columns) -> list[tuple]:
    from deltalake import DeltaTable

    dataset = DeltaTable(path).to_pyarrow_dataset()  # noqa: F841 (DuckDB scans it by its name)
    select = ", ".join(f'"{c}"' for c in columns)
    return sorted(duckdb.connect().execute(f"SELECT {select} FROM dataset").fetchall())


def _polars_rows(path: str, columns) -> list[tuple]:
    import polars as pl

    return sorted(pl.read_delta(path).select(list(columns)).rows())


def _spark_changes(spark, path: str, start: int) -> list[tuple]:
    rows = (spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", start)
            .load(path).select("c_custkey", "c_name", "_change_type", "_commit_version").collect())
    return sorted(tuple(row) for row in rows)


def _rs_changes(path: str, start: int) -> list[tuple]:
    from deltalake import DeltaTable

    data = pa.table(DeltaTable(path).load_cdf(starting_version=start).read_all())
    columns = ("c_custkey", "c_name", "_change_type", "_commit_version")
    return sorted(zip(*(data.column(c).cast(pa.string()).to_pylist() if c == "_change_type"
                        else data.column(c).to_pylist() for c in columns)))


def _embedded(settings: Settings) -> Runner:
    return Runner(settings.with_overrides(engine="embedded"), Storage(settings.s3))


def test_embedded_tables_read_appended_and_merged_by_delta_spark(delta_spark, settings):
    spark = delta_spark
    _land(settings, "part-1.csv", FILE_1, 1)
    _embedded(settings).run(CUSTOMER_PIPELINE)
    silver, dim = _path(settings, "silver.customer"), _path(settings, "gold.dim_customer")

    # Spark reads what delta-rs wrote, row for row.
    assert _spark_rows(spark, silver, SILVER_COLUMNS) == _rs_rows(silver, SILVER_COLUMNS)
    assert [r[:3] for r in _spark_rows(spark, silver, SILVER_COLUMNS)] == [
        (1, "A", Decimal("1.00")), (2, "B", Decimal("2.00")), (3, "C", Decimal("3.00"))]
    assert _spark_rows(spark, dim, DIM_COLUMNS) == _rs_rows(dim, DIM_COLUMNS)
    assert sorted((r[1], r[2], r[4]) for r in _spark_rows(spark, dim, DIM_COLUMNS)) == [
        (1, "A", True), (2, "B", True), (3, "C", True)]
    embedded_version = spark.sql(f"DESCRIBE HISTORY delta.`{silver}`").agg({"version": "max"}).first()[0]
    # The change feed delta-rs wrote, read by Spark: the first load's inserts.
    assert _spark_changes(spark, silver, 0) == [
        (1, "A", "insert", 0), (2, "B", "insert", 0), (3, "C", "insert", 0)]

    # Plain Spark SQL: an INSERT (a copy of key 1 as key 10) and a MERGE (key 2 renamed, key 11 new).
    columns = [f.name for f in spark.sql(f"SELECT * FROM delta.`{silver}`").schema.fields]
    replaced = {"c_custkey": "CAST(10 AS BIGINT) AS c_custkey", "c_name": "'J' AS c_name"}
    select = ", ".join(replaced.get(c, f"`{c}`") for c in columns)
    spark.sql(f"INSERT INTO delta.`{silver}` SELECT {select} FROM delta.`{silver}` WHERE c_custkey = 1")
    spark.sql(f"""MERGE INTO delta.`{silver}` AS t
                  USING (SELECT CAST(2 AS BIGINT) AS k, 'B-spark' AS name UNION ALL
                         SELECT CAST(11 AS BIGINT), 'K') AS s
                  ON t.c_custkey = s.k
                  WHEN MATCHED THEN UPDATE SET c_name = s.name
                  WHEN NOT MATCHED THEN INSERT (c_custkey, c_name) VALUES (s.k, s.name)""")
    first, second = embedded_version + 1, embedded_version + 2
    expected_changes = [
        (2, "B", "update_preimage", second), (2, "B-spark", "update_postimage", second),
        (10, "J", "insert", first), (11, "K", "insert", second)]
    assert _spark_changes(spark, silver, first) == expected_changes

    # Read back by delta-rs, DuckDB and Polars: Spark's rows and Spark's change feed.
    expected = [(1, "A"), (2, "B-spark"), (3, "C"), (10, "J"), (11, "K")]
    for read in (_rs_rows, _duckdb_rows, _polars_rows):
        assert read(silver, ("c_custkey", "c_name")) == expected, read.__name__
    assert _rs_rows(silver, SILVER_COLUMNS) == _spark_rows(spark, silver, SILVER_COLUMNS)
    assert _rs_changes(silver, first) == expected_changes

    # The embedded pipeline carries on over Spark's commits: key 2 changes again in landing.
    _land(settings, "part-2.csv", FILE_2, 2)
    _embedded(settings).run(CUSTOMER_PIPELINE)
    assert _rs_rows(silver, ("c_custkey", "c_name", "c_acctbal")) == [
        (1, "A", Decimal("1.00")), (2, "B3", Decimal("2.50")), (3, "C", Decimal("3.00")),
        (10, "J", Decimal("1.00")), (11, "K", None)]
    assert _spark_rows(spark, silver, ("c_custkey", "c_name")) == [
        (1, "A"), (2, "B3"), (3, "C"), (10, "J"), (11, "K")]
    assert sorted((r[1], r[2], r[4]) for r in _spark_rows(spark, dim, DIM_COLUMNS)) == [
        (1, "A", True), (2, "B", False), (2, "B3", True), (3, "C", True)]


def test_spark_engine_tables_read_and_merged_by_delta_rs(delta_spark, settings):
    from deltalake import DeltaTable, write_deltalake

    from lakehouse.engines.spark import SparkEngine

    spark = delta_spark
    engine = SparkEngine(settings, Storage(settings.s3), spark=spark)
    _land(settings, "part-1.csv", FILE_1, 1)
    driver = driver_for(engine)
    for spec in CUSTOMER_PIPELINE.tables:
        driver.run_table(spec)
    silver, dim = _path(settings, "silver.customer"), _path(settings, "gold.dim_customer")

    # delta-rs, DuckDB and Polars read what delta-spark wrote, row for row.
    assert _rs_rows(silver, SILVER_COLUMNS) == _spark_rows(spark, silver, SILVER_COLUMNS)
    assert [r[:3] for r in _rs_rows(silver, SILVER_COLUMNS)] == [
        (1, "A", Decimal("1.00")), (2, "B", Decimal("2.00")), (3, "C", Decimal("3.00"))]
    for read in (_rs_rows, _duckdb_rows, _polars_rows):
        assert read(dim, DIM_COLUMNS) == _spark_rows(spark, dim, DIM_COLUMNS), read.__name__
    assert sorted((r[1], r[2], r[4]) for r in _rs_rows(dim, DIM_COLUMNS)) == [(1, "A", True), (2, "B", True), (3, "C", True)]
    assert _rs_changes(silver, 0) == [(1, "A", "insert", 0), (2, "B", "insert", 0), (3, "C", "insert", 0)]

    # delta-rs MERGEs (key 2 renamed, key 20 new) and appends (a copy of key 1 as key 21).
    table = DeltaTable(silver)
    spark_version = table.version()
    schema = table.schema().to_arrow()
    key_type, name_type = pa.field(schema.field("c_custkey")).type, pa.field(schema.field("c_name")).type
    source = pa.table({"c_custkey": pa.array([2, 20], key_type), "c_name": pa.array(["B-rs", "T"], name_type)})
    (table.merge(source, "t.c_custkey = s.c_custkey", source_alias="s", target_alias="t")
     .when_matched_update({"c_name": "s.c_name"})
     .when_not_matched_insert({"c_custkey": "s.c_custkey", "c_name": "s.c_name"}).execute())
    copy = DeltaTable(silver).to_pyarrow_table(filters=[("c_custkey", "=", 1)])
    copy = copy.set_column(copy.schema.get_field_index("c_custkey"), copy.schema.field("c_custkey"),
                           pa.array([21], copy.schema.field("c_custkey").type))
    write_deltalake(silver, copy, mode="append")
    merged, appended = spark_version + 1, spark_version + 2
    expected_changes = [
        (2, "B", "update_preimage", merged), (2, "B-rs", "update_postimage", merged),
        (20, "T", "insert", merged), (21, "A", "insert", appended)]
    assert _rs_changes(silver, merged) == expected_changes

    # Spark reads delta-rs's commits back: rows and change feed.
    assert _spark_rows(spark, silver, ("c_custkey", "c_name")) == [(1, "A"), (2, "B-rs"), (3, "C"), (20, "T"), (21, "A")]
    assert _spark_rows(spark, silver, SILVER_COLUMNS) == _rs_rows(silver, SILVER_COLUMNS)
    assert _spark_changes(spark, silver, merged) == expected_changes

    # The Spark pipeline carries on over delta-rs's commits (its silver stream MERGEs on top of them).
    _land(settings, "part-2.csv", FILE_2, 2)
    for spec in CUSTOMER_PIPELINE.tables:
        driver.run_table(spec)
    assert _spark_rows(spark, silver, ("c_custkey", "c_name", "c_acctbal")) == [
        (1, "A", Decimal("1.00")), (2, "B3", Decimal("2.50")), (3, "C", Decimal("3.00")),
        (20, "T", None), (21, "A", Decimal("1.00"))]
    assert _rs_rows(silver, ("c_custkey", "c_name")) == [(1, "A"), (2, "B3"), (3, "C"), (20, "T"), (21, "A")]
    assert sorted((r[1], r[2], r[4]) for r in _rs_rows(dim, DIM_COLUMNS)) == [
        (1, "A", True), (2, "B", False), (2, "B3", True), (3, "C", True)]
