"""SparkEngine against real Delta tables: append/merge with app transactions, change feed, time travel,
and the whole customer pipeline through the streaming driver. delta-spark's jars come from the JVM
manifest (`make test` fetches them); without them the `delta_spark` fixture fails, it does not skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.engines.base import Transaction
from lakehouse.runtime.drivers import driver_for
from lakehouse.spec.model import TableRef

pytestmark = pytest.mark.spark

REF = TableRef("silver", "things")


def _frame(spark, rows):
    return spark.createDataFrame(rows, schema="k BIGINT, v STRING, hash_value STRING")


def test_append_is_idempotent_per_app_transaction(delta_spark, spark_engine):
    txn = Transaction("lakehouse:silver.things", 0)
    spark_engine.append(REF, _frame(delta_spark, [(1, "a", "h1")]), txn,
                        properties={"delta.enableChangeDataFeed": "true"}, evolve_schema=False)
    assert spark_engine.already_committed(REF, txn)
    assert not spark_engine.already_committed(REF, Transaction(txn.app_id, 1))
    # A replay of batch 0 is dropped by Delta itself, even without our check.
    spark_engine.append(REF, _frame(delta_spark, [(1, "a", "h1")]), txn, properties={}, evolve_schema=False)
    assert spark_engine.row_count(spark_engine.read_table(REF)) == 1
    assert spark_engine.table_properties(REF)["delta.enableChangeDataFeed"] == "true"


def test_a_computed_relation_keeps_the_rows_it_was_computed_from(delta_spark, spark_engine):
    """The strategies count, join and write a computed step several times: it must be read once, and
    later uses must see those rows, not a fresh read of a table that has moved on since."""
    spark_engine.append(REF, _frame(delta_spark, [(1, "a", "h1"), (2, "b", "h2")]), Transaction("app", 0),
                        properties={}, evolve_schema=False)
    lazy = spark_engine.read_table(REF)
    computed = spark_engine.computed(spark_engine.read_table(REF))
    spark_engine.append(REF, _frame(delta_spark, [(3, "c", "h3")]), Transaction("app", 1), properties={},
                        evolve_schema=False)
    assert spark_engine.row_count(lazy) == 3
    assert sorted(r["k"] for r in computed.collect()) == [1, 2]
    assert spark_engine.row_count(computed) == 2


def test_merge_change_feed_and_time_travel(delta_spark, spark_engine):
    from lakehouse.core.merge_plan import MergePlan

    spark_engine.append(REF, _frame(delta_spark, [(1, "a", "h1"), (2, "b", "h2")]), Transaction("app", 0),
                        properties={"delta.enableChangeDataFeed": "true"}, evolve_schema=False)
    plan = MergePlan(on="t.`k` = s.`k`", update_condition="NOT (t.`hash_value` <=> s.`hash_value`)",
                     update_set={"k": "s.`k`", "v": "s.`v`", "hash_value": "s.`hash_value`"},
                     insert_values={"k": "s.`k`", "v": "s.`v`", "hash_value": "s.`hash_value`"})
    source = _frame(delta_spark, [(2, "B", "h2b"), (3, "c", "h3")])
    spark_engine.merge(REF, source, plan, Transaction("app", 1), evolve_schema=True)
    spark_engine.merge(REF, source, plan, Transaction("app", 1), evolve_schema=True)  # replay: no-op
    assert spark_engine.table_version(REF) == 1
    now = {r["k"]: r["v"] for r in spark_engine.read_table(REF).collect()}
    assert now == {1: "a", 2: "B", 3: "c"}
    before = {r["k"]: r["v"] for r in spark_engine.read_table(REF, version=0).collect()}
    assert before == {1: "a", 2: "b"}
    changes = sorted((r["k"], r["_change_type"]) for r in spark_engine.read_changes(REF, 1, 1).collect())
    assert changes == [(2, "update_postimage"), (2, "update_preimage"), (3, "insert")]


def test_customer_pipeline_runs_bronze_silver_gold(delta_spark, spark_engine, settings):
    from lakehouse.spec.pipelines import CUSTOMER_PIPELINE

    landing = Path(settings.landing) / "customer"
    landing.mkdir(parents=True)
    header = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment\n"
    (landing / "part-1.csv").write_text(header + "1,A,addr,1,111,1.00,BUILDING,x\n2,B,addr,2,222,2.00,MACHINERY,y\n")
    driver = driver_for(spark_engine)
    for spec in CUSTOMER_PIPELINE.tables:
        assert [r.committed for r in driver.run_table(spec)] == [True]
    (landing / "part-2.csv").write_text(header + "1,A2,addr,1,111,1.00,BUILDING,x\n2,B,addr,2,222,2.00,MACHINERY,y\n")
    for spec in CUSTOMER_PIPELINE.tables:
        driver.run_table(spec)
    dim = spark_engine.read_table(TableRef("gold", "dim_customer")).collect()
    versions = sorted((r["c_custkey"], r["c_name"], r["is_current"]) for r in dim)
    assert versions == [(1, "A", False), (1, "A2", True), (2, "B", True)]
    for spec in CUSTOMER_PIPELINE.tables:  # nothing new: no batches
        assert driver.run_table(spec) == []


def test_replay_check_finds_the_delta_log_class_by_name(delta_spark):
    from lakehouse.engines.spark.engine import DELTA_LOG_CLASSES, delta_log_class, java_class

    # Open-source delta-spark first; Databricks Runtime has only the tahoe class, which is absent here.
    assert DELTA_LOG_CLASSES == ("org.apache.spark.sql.delta.DeltaLog",
                                 "com.databricks.sql.transaction.tahoe.DeltaLog")
    assert java_class(delta_spark._jvm, DELTA_LOG_CLASSES[0]) is not None
    assert java_class(delta_spark._jvm, DELTA_LOG_CLASSES[1]) is None
    found = delta_log_class(delta_spark, tuple(reversed(DELTA_LOG_CLASSES)))  # tahoe missing: falls through
    assert found is not None and found.forTableWithSnapshot is not None
    assert delta_log_class(delta_spark, ("com.databricks.sql.transaction.tahoe.DeltaLog",)) is None


def test_replay_check_by_catalog_name_path_and_history_agree(delta_spark, spark_engine, tmp_path):
    """A catalog table (as under Unity Catalog) is looked up by TableIdentifier, not by path; the SQL-only
    fallback (DESCRIBE HISTORY userMetadata) gives the same answer for our own commits."""
    from lakehouse.engines.spark.engine import (
        DELTA_LOG_CLASSES,
        TableName,
        commit_metadata,
        history_transaction_version,
        java_class,
        snapshot_transaction_version,
    )

    log_class = java_class(delta_spark._jvm, DELTA_LOG_CLASSES[0])
    name = f"lakehouse_txn_{tmp_path.name[-8:].replace('-', '_')}"
    location = str(tmp_path / "catalog_table")
    try:
        for batch in (0, 1, 2):
            txn = Transaction("lakehouse:test.catalog", batch)
            (_frame(delta_spark, [(batch, "x", "h")]).write.format("delta").mode("append")
             .option("txnAppId", txn.app_id).option("txnVersion", batch)
             .option("userMetadata", commit_metadata(txn)).option("path", location)
             .saveAsTable(f"default.{name}"))
        by_name = snapshot_transaction_version(delta_spark, log_class, TableName(None, "default", name),
                                               "lakehouse:test.catalog")
        by_path = snapshot_transaction_version(delta_spark, log_class, location, "lakehouse:test.catalog")
        history = delta_spark.sql(f"DESCRIBE HISTORY default.{name}").collect()
        assert by_name == by_path == history_transaction_version(history, "lakehouse:test.catalog") == 2
        assert snapshot_transaction_version(delta_spark, log_class, TableName(None, "default", name), "other") is None
        assert history_transaction_version(history, "other") is None
    finally:
        delta_spark.sql(f"DROP TABLE IF EXISTS default.{name}")


def test_bronze_processing_time_query_keeps_picking_up_landed_files(delta_spark, spark_engine, settings):
    """trigger(processingTime=...): the query keeps running; a file landed while it runs is ingested by a
    later micro-batch, then the query is stopped and the driver returns its batches."""
    import threading
    import time

    from lakehouse.spec.pipelines import CUSTOMER_RAW

    landing = Path(settings.landing) / "customer"
    landing.mkdir(parents=True)
    header = "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment\n"
    (landing / "part-1.csv").write_text(header + "1,A,addr,1,111,1.00,BUILDING,x\n")
    driver = driver_for(spark_engine, processing_time="1 second")
    done: list = []
    runner = threading.Thread(target=lambda: done.append(driver.run_table(CUSTOMER_RAW)), daemon=True)
    runner.start()

    def bronze_keys() -> list[int]:
        if spark_engine.table_version(CUSTOMER_RAW.ref) is None:
            return []
        return sorted(r["c_custkey"] for r in spark_engine.read_table(CUSTOMER_RAW.ref).collect())

    def wait_for(keys: list[int]) -> None:
        deadline = time.monotonic() + 300
        while bronze_keys() != keys:
            assert runner.is_alive() and time.monotonic() < deadline, f"bronze holds {bronze_keys()}"
            time.sleep(1)

    wait_for([1])
    (landing / "part-2.csv").write_text(header + "2,B,addr,2,222,2.00,MACHINERY,y\n")
    wait_for([1, 2])
    (query,) = [q for q in delta_spark.streams.active if q.name == "lakehouse_bronze_customer_raw"]
    query.stop()
    runner.join(60)
    assert not runner.is_alive()
    (results,) = done
    assert [r.rows_written for r in results if r.committed] == [1, 1]
    assert [r.batch_id for r in results if r.committed] == sorted(r.batch_id for r in results if r.committed)
