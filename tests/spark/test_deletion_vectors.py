"""The merge-on-read prototype's deletion vectors against delta-spark 4.0, both ways: Spark reads our
DV commits (rows and change feed) and runs DELETE, UPDATE and OPTIMIZE on them; delta-rs reads (and our writer extends) a
table whose DVs Spark wrote. Row contents are compared, not counts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.engines.embedded import deletion_vectors as dv
from lakehouse.engines.embedded import parquet_reads
from tests.delta_readers import names_by_id

pytestmark = pytest.mark.spark


def _spark_rows(spark, uri: str) -> dict[int, str]:
    return {row["id"]: row["name"] for row in spark.sql(f"SELECT id, name FROM delta.`{uri}`").collect()}


def test_spark_reads_and_changes_a_table_with_our_deletion_vectors(delta_spark, tmp_path):
    uri = str(tmp_path / "ours")
    for part in range(3):
        ids = list(range(part * 10, part * 10 + 10))
        write_deltalake(uri, pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]}),
                        mode="append", configuration={"delta.enableChangeDataFeed": "true"})
    updates = pa.table({"id": pa.array([1, 15, 28, 99], pa.int64()), "name": ["u1", "u15", "u28", "new99"]})
    result = dv.upsert_with_deletion_vectors(uri, updates, ["id"], app_id="pipeline", app_version=1)
    assert result.files_touched == 3
    expected = {i: f"n{i}" for i in range(30)} | {1: "u1", 15: "u15", 28: "u28", 99: "new99"}
    assert names_by_id(uri) == expected
    assert _spark_rows(delta_spark, uri) == expected
    changes = delta_spark.sql(f"SELECT _change_type, id, name FROM table_changes_by_path('{uri}', "
                              f"{result.version}, {result.version})").collect()
    assert sorted(tuple(row) for row in changes) == sorted(
        [("insert", 99, "new99")] + [("update_postimage", i, f"u{i}") for i in (1, 15, 28)]
        + [("update_preimage", i, f"n{i}") for i in (1, 15, 28)])

    delta_spark.sql(f"DELETE FROM delta.`{uri}` WHERE id IN (2, 15)")
    delta_spark.sql(f"UPDATE delta.`{uri}` SET name = 'spark' WHERE id = 28")
    delta_spark.sql(f"OPTIMIZE delta.`{uri}`")
    expected = {i: n for i, n in expected.items() if i not in (2, 15)} | {28: "spark"}
    assert _spark_rows(delta_spark, uri) == expected
    assert names_by_id(uri) == expected
    # OPTIMIZE rewrote the files that carried DVs; the app's txn survives Spark's commits.
    assert not any(add.get("deletionVector") for add in dv.active_files(Path(uri)).values())
    assert DeltaTable(uri).transaction_version("pipeline") == 1


def test_we_read_and_extend_a_table_whose_deletion_vectors_spark_wrote(delta_spark, tmp_path):
    uri = str(tmp_path / "spark")
    delta_spark.sql(f"CREATE TABLE delta.`{uri}` (id BIGINT, name STRING) USING delta "
                    "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    delta_spark.range(0, 40).selectExpr("id", "concat('s', CAST(id AS STRING)) AS name").repartition(2) \
        .write.format("delta").mode("append").save(uri)
    delta_spark.sql(f"DELETE FROM delta.`{uri}` WHERE id % 10 = 3")
    files = dv.active_files(Path(uri)).values()
    spark_dvs = [add["deletionVector"] for add in files if add.get("deletionVector")]
    assert spark_dvs, "delta-spark should have written deletion vectors, not rewritten the files"
    deleted = sum(len(dv.read_deletion_vector(Path(uri), descriptor)) for descriptor in spark_dvs)
    assert deleted == sum(int(descriptor["cardinality"]) for descriptor in spark_dvs) == 4
    expected = {i: f"s{i}" for i in range(40) if i % 10 != 3}
    assert names_by_id(uri) == expected
    # The embedded engine's own read path (DuckDB's Parquet scan less the deleted rows) agrees.
    table = DeltaTable(uri)
    ours = parquet_reads.read_files(duckdb.connect(), table.file_uris(), None, parquet_reads.deleted_rows(table))
    assert ours is not None
    assert dict(zip(ours.column("id").to_pylist(), ours.column("name").to_pylist(), strict=True)) == expected

    # Our DVs on top of Spark's: the deleted rows stay deleted, the updated ones are replaced.
    updates = pa.table({"id": pa.array([0, 13, 21], pa.int64()), "name": ["u0", "back13", "u21"]})
    dv.upsert_with_deletion_vectors(uri, updates, ["id"])
    expected |= {0: "u0", 13: "back13", 21: "u21"}
    assert names_by_id(uri) == expected
    assert _spark_rows(delta_spark, uri) == expected


def test_spark_reads_a_pipeline_merge_by_deletion_vectors_and_its_change_feed(delta_spark, tmp_path):
    """The MergePlan path the pipeline uses (update, delete and insert in one commit), read by delta-spark."""
    import duckdb as duck

    from lakehouse.core.merge_plan import MergePlan
    from lakehouse.engines.embedded.deletion_vectors.merge import merge_with_deletion_vectors

    uri = str(tmp_path / "merged")
    for part in range(2):
        ids = list(range(part * 10, part * 10 + 10))
        write_deltalake(uri, pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]}),
                        mode="append", configuration={"delta.enableChangeDataFeed": "true"} if part == 0 else None)
    source = pa.table({"id": pa.array([2, 12, 5, 30], pa.int64()), "name": ["u2", "u12", None, "new30"],
                       "gone": [False, False, True, False]})
    plan = MergePlan(on="t.id = s.id", update_condition="t.name IS DISTINCT FROM s.name",
                     update_set={"id": "s.id", "name": "s.name"}, insert_values={"id": "s.id", "name": "s.name"},
                     delete_condition="s.gone")
    result = merge_with_deletion_vectors(duck.connect(), uri, source, plan, app_id="pipeline", app_version=7)
    assert (result.rows_updated, result.rows_deleted, result.rows_inserted, result.files_touched) == (2, 1, 1, 2)
    expected = {i: f"n{i}" for i in range(20) if i != 5} | {2: "u2", 12: "u12", 30: "new30"}
    assert _spark_rows(delta_spark, uri) == expected
    changes = delta_spark.sql(f"SELECT id, name, _change_type FROM table_changes_by_path('{uri}', {result.version})")
    assert sorted((r["id"], r["name"], r["_change_type"]) for r in changes.collect()) == [
        (2, "n2", "update_preimage"), (2, "u2", "update_postimage"), (5, "n5", "delete"),
        (12, "n12", "update_preimage"), (12, "u12", "update_postimage"), (30, "new30", "insert")]
    assert DeltaTable(uri).transaction_version("pipeline") == 7
