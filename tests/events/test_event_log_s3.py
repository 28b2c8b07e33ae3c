"""The event log on an S3 warehouse (versitygw, a real S3 server): written, read, queried, pruned."""

from __future__ import annotations

import pytest

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.ops.events import read_events
from lakehouse.ops.inspection import Inspector
from lakehouse.runtime.runner import Runner
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE

from .support import FILE_1

pytestmark = pytest.mark.integration


def test_the_event_log_lives_in_an_s3_warehouse(s3_env):
    settings = Settings.load(landing=f"{s3_env}/landing", warehouse=f"{s3_env}/warehouse")
    storage = Storage(settings.s3)
    storage.write_bytes(f"{settings.landing}/customer/c1.csv", FILE_1.encode())
    Runner(settings, storage).run(CUSTOMER_PIPELINE)
    Runner(settings, storage).run(CUSTOMER_PIPELINE)  # nothing new; prunes (nothing old) once
    rows = read_events(settings, storage).to_pylist()
    assert len({r["run_id"] for r in rows}) == 2
    assert [(r["table"], r["rows_written"]) for r in rows if r["event_type"] == "batch" and r["outcome"] == "succeeded"] \
        == [("bronze.customer_raw", 2), ("silver.customer", 2), ("gold.dim_customer", 2)]
    assert storage.list_files(f"{settings.warehouse}/_lakehouse/event_log/_delta_log")
    counted = Inspector(settings, storage).sql("SELECT count(*) AS n FROM _lakehouse.event_log").to_pylist()
    assert counted == [{"n": len(rows)}]
