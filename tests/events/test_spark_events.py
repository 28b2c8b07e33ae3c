"""Both engines write the same event log: the same schema, and for the same landing the same rows but
for timing, ids, the engine's name and how each engine names a batch's input."""

from __future__ import annotations

import pytest
from deltalake import DeltaTable

from lakehouse.core.storage import Storage
from lakehouse.runtime import runner as runner_module
from lakehouse.runtime.events import event_log_uri
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE
from tests.spark.conftest import delta_spark, on_test_session, spark  # noqa: F401  (the one shared session)

from .support import FILE_1, FILE_2, comparable, events, land, settings_in

pytestmark = pytest.mark.spark



def test_embedded_and_spark_log_the_same_events(tmp_path, on_test_session):  # noqa: F811
    logged = {}
    for engine in ("embedded", "spark"):
        settings = settings_in(tmp_path / engine, engine=engine)
        runner = runner_module.Runner(settings, Storage(settings.s3))
        land(settings, "c1.csv", FILE_1)
        land(settings, "c2.csv", FILE_2)
        runner.run(CUSTOMER_PIPELINE)
        logged[engine] = events(settings)
        assert {row["engine"] for row in logged[engine]} == {engine}
        schema = DeltaTable(event_log_uri(settings)).schema().to_arrow()
        logged[f"{engine} schema"] = schema
    assert logged["embedded schema"] == logged["spark schema"]
    embedded, spark_rows = logged["embedded"], logged["spark"]
    assert len(embedded) == len(spark_rows) == 2 + 3 * 2 + 3 * 2
    assert comparable(embedded) == comparable(spark_rows)
    batches = [(r["table"], r["batch_id"], r["rows_in"], r["rows_written"]) for r in spark_rows
               if r["event_type"] == "batch" and r["outcome"] == "succeeded"]
    # Key 1 arrives twice in one batch: silver and gold keep its last version.
    assert batches == [("bronze.customer_raw", 0, 4, 4), ("silver.customer", 0, 4, 3), ("gold.dim_customer", 0, 4, 3)]
