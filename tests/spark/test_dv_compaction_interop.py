"""Compaction of deletion vectors against delta-spark 4.0, both ways: Spark reads, lists and merges
into a table our compaction rewrote; the Spark engine's optimize (REORG ... APPLY (PURGE)) purges
the DVs delta-spark wrote. Row contents are compared, not counts."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse.engines.embedded import deletion_vectors as dv
from lakehouse.spec.model import TableRef
from tests.delta_readers import names_by_id

pytestmark = pytest.mark.spark


def _spark_rows(spark, uri: str) -> dict[int, str]:
    return {row["id"]: row["name"] for row in spark.sql(f"SELECT id, name FROM delta.`{uri}`").collect()}


def _dv_files(uri: str) -> list[dict]:
    return [add for add in dv.active_files(Path(uri)).values() if add.get("deletionVector")]


def test_spark_reads_lists_and_merges_into_a_table_we_compacted(delta_spark, tmp_path):
    uri = str(tmp_path / "ours")
    for part in range(2):
        ids = list(range(part * 10, part * 10 + 10))
        write_deltalake(uri, pa.table({"id": pa.array(ids, pa.int64()), "name": [f"n{i}" for i in ids]}),
                        mode="append")
    changed = [1, 2, 3, *range(10, 20)]
    dv.upsert_with_deletion_vectors(uri, pa.table({"id": pa.array(changed, pa.int64()),
                                                   "name": [f"u{i}" for i in changed]}), ["id"])
    expected = {i: f"n{i}" for i in range(20)} | {i: f"u{i}" for i in changed}

    result = dv.compact_deleted_files(uri, min_deleted_share=0)
    assert (result.files_rewritten, result.rows_purged, result.rows_kept) == (2, 13, 7)
    assert not _dv_files(uri)
    assert _spark_rows(delta_spark, uri) == names_by_id(uri) == expected
    latest = delta_spark.sql(f"DESCRIBE HISTORY delta.`{uri}` LIMIT 1").first()
    assert (latest["version"], latest["operation"]) == (result.version, "OPTIMIZE")
    assert latest["operationParameters"]["minDeletedShare"] == "0"
    assert latest["operationMetrics"]["numRemovedFiles"] == "2"

    delta_spark.createDataFrame([(2, "m2"), (50, "m50")], "id BIGINT, name STRING").createOrReplaceTempView("batch")
    delta_spark.sql(f"MERGE INTO delta.`{uri}` t USING batch s ON t.id = s.id "
                    "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")
    expected |= {2: "m2", 50: "m50"}
    assert _spark_rows(delta_spark, uri) == names_by_id(uri) == expected


def test_spark_engine_optimize_purges_the_deletion_vectors_spark_wrote(delta_spark, spark_engine, settings):
    ref = TableRef("silver", "purged")
    uri = settings.table_uri(ref.schema, ref.name)
    delta_spark.sql(f"CREATE TABLE delta.`{uri}` (id BIGINT, name STRING) USING delta "
                    "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')")
    delta_spark.range(0, 20).selectExpr("id", "concat('s', CAST(id AS STRING)) AS name").repartition(2) \
        .write.format("delta").mode("append").save(uri)
    delta_spark.sql(f"DELETE FROM delta.`{uri}` WHERE id % 10 = 3")
    assert _dv_files(uri), "delta-spark should have written deletion vectors"
    expected = {i: f"s{i}" for i in range(20) if i % 10 != 3}

    done = spark_engine.optimize(ref, min_deleted_share=0.2)
    assert done["version"] is not None and done["operation"] == "REORG" and done["files_rewritten"] >= 1
    assert done["threshold_applied"] is False
    assert not _dv_files(uri)
    assert _spark_rows(delta_spark, uri) == names_by_id(uri) == expected
    # Nothing left to purge: no commit.
    assert spark_engine.optimize(ref, min_deleted_share=0.2)["version"] is None
