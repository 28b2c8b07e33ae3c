"""The Spark engine gives expectations the same outcome as the embedded one: the same rows kept and
quarantined, the same counts, and a failed batch that commits nothing and is retried."""

from __future__ import annotations

import pytest

from lakehouse.core.errors import ExpectationFailedError
from lakehouse.core.storage import Storage
from lakehouse.ops.inspection import Inspector
from tests.spark.conftest import delta_spark, on_test_session, spark  # noqa: F401  (the one shared session)

from .support import BRONZE, ROWS, SILVER, Place, batch_counts, expect, pipeline, quarantine_of

pytestmark = pytest.mark.spark

# Columns whose values depend on when or where a run happened.
VARYING = {"_quarantined_at", "date_added", "source_file_modified", "source_filename", "_commit_timestamp"}



def comparable(rows):
    return [{k: v for k, v in row.items() if k not in VARYING} for row in rows]


def test_drop_and_warn_give_the_same_quarantine_and_counts_on_both_engines(tmp_path, on_test_session):  # noqa: F811
    spec = pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "drop"),
                            expect("known_segment", "c_mktsegment <> 'MACHINERY'", "warn")),
                    silver=(expect("nation_below_five", "c_nationkey < 5", "drop"),), gold=None)
    seen = {}
    for engine in ("embedded", "spark"):
        place = Place(tmp_path / engine, engine=engine)
        place.land("customer_0001.csv", ROWS)
        report = place.run(spec)
        seen[engine] = {
            "bronze": comparable(place.rows(BRONZE)), "silver": [r["c_custkey"] for r in place.rows(SILVER)],
            "bronze quarantine": comparable(place.rows(quarantine_of(BRONZE))),
            "silver quarantine": [(r["c_custkey"], r["_failed_expectations"], r["_batch_id"])
                                  for r in place.rows(quarantine_of(SILVER))],
            "counts": (batch_counts(report, BRONZE), batch_counts(report, SILVER)),
            "quarantine columns": sorted(place.rows(quarantine_of(BRONZE))[0]),
            "status": [row["expectations"] for row in Inspector(place.settings(), Storage()).status(spec)],
        }
    assert seen["spark"] == seen["embedded"]
    assert [(r["c_custkey"], r["_failed_expectations"]) for r in seen["spark"]["bronze quarantine"]] == [
        (2, "balance_not_negative"), (3, "balance_not_negative,known_segment")]
    assert seen["spark"]["silver quarantine"] == [(1, "nation_below_five", 0)]
    assert seen["spark"]["status"][0] == {"batch_id": 0, "expectations": seen["spark"]["counts"][0][0]}
    assert seen["spark"]["counts"][1] == [[{"name": "nation_below_five", "on_violation": "drop",
                                            "passed_rows": 1, "failed_rows": 1}]]


def test_fail_on_spark_commits_nothing_and_the_retried_batch_commits(tmp_path, on_test_session):  # noqa: F811
    place = Place(tmp_path, engine="spark")
    place.land("customer_0001.csv", ROWS)
    with pytest.raises(ExpectationFailedError, match="nation_below_five") as failed:
        place.run(pipeline(silver=(expect("nation_below_five", "c_nationkey < 5", "fail"),), gold=None))
    assert "silver.customer" in str(failed.value) and "'c_custkey': " in str(failed.value)
    assert len(place.rows(BRONZE)) == 4
    assert not place.exists(SILVER) and not place.exists(quarantine_of(SILVER))
    report = place.run(pipeline(silver=(expect("nation_below_ten", "c_nationkey < 10", "fail"),), gold=None))
    assert [r["c_custkey"] for r in place.rows(SILVER)] == [1, 2, 3, 4]
    assert batch_counts(report, SILVER) == [[{"name": "nation_below_ten", "on_violation": "fail",
                                              "passed_rows": 4, "failed_rows": 0}]]


def test_auto_loader_batches_go_through_the_same_seam(tmp_path, delta_spark):  # noqa: F811
    """Databricks' Auto Loader types the rows itself; its batch is judged like any bronze batch."""
    from datetime import datetime
    from decimal import Decimal

    from lakehouse.engines.spark import SparkEngine
    from lakehouse.runtime.drivers.streaming import SparkDriver

    place = Place(tmp_path, engine="spark")
    spec = pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "drop"),), gold=None).tables[0]
    landed = datetime(2024, 1, 1)
    batch = delta_spark.createDataFrame(
        [(1, Decimal("1.00"), "f.csv", landed, None), (2, Decimal("-1.00"), "f.csv", landed, None),
         (3, None, "f.csv", landed, None)],
        "c_custkey bigint, c_acctbal decimal(15,2), __file_path string, __file_modified timestamp, _rescued_data string")
    settings = place.settings()
    result = SparkDriver(SparkEngine(settings, Storage(settings.s3), spark=delta_spark))._auto_loader_batch(spec, batch, 0)
    assert result.committed and (result.rows_in, result.rows_written) == (3, 1)
    assert [r["c_custkey"] for r in place.rows(BRONZE)] == [1]
    assert [(r["c_custkey"], r["source_row"]) for r in place.rows(quarantine_of(BRONZE))] == [(2, 3), (3, 4)]
    assert result.details["expectations"][0]["failed_rows"] == 2
