"""A process killed mid-batch leaves its batch 'started' in the event log, never succeeded; the rerun
that finishes the batch logs it succeeded. Crashes are injected as in tests/robustness (core/faults.py)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from lakehouse.core.storage import Storage
from lakehouse.ops.events import final_rows, last_batches
from lakehouse.ops.inspection import Inspector
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE
from tests.conftest import env_without_lakehouse_settings
from tests.robustness.support import REPO

from .support import FILE_1, FILE_2, events, land, settings_in

pytestmark = pytest.mark.slow


def lakehouse_run(settings, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = env_without_lakehouse_settings()
    env.update({"LAKEHOUSE_LANDING": settings.landing, "LAKEHOUSE_WAREHOUSE": settings.warehouse})
    if crash_at:
        env["LAKEHOUSE_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "lakehouse", "run"], env=env, capture_output=True, text=True,
                          timeout=120, cwd=str(REPO))


@pytest.mark.parametrize("point", ["silver.customer:during-commit@0", "silver.customer:after-commit"])
def test_a_crashed_batch_shows_unfinished_and_its_rerun_succeeded(tmp_path, point):
    settings = settings_in(tmp_path)
    land(settings, "c1.csv", FILE_1)
    assert lakehouse_run(settings).returncode == 0
    land(settings, "c2.csv", FILE_2)
    crashed = lakehouse_run(settings, point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    crashed_run = events(settings)[-1]["run_id"]
    rows = [r for r in events(settings) if r["run_id"] == crashed_run]
    silver = [(r["event_type"], r["batch_id"], r["outcome"]) for r in rows if r["table"] == "silver.customer"]
    assert silver == [("flow", None, "started"), ("batch", 1, "started")]
    assert {r["outcome"] for r in final_rows(rows) if r["event_type"] == "run"} == {"started"}
    assert last_batches(settings, Storage(settings.s3))["silver.customer"]["outcome"] == "started"
    status = {row["table"]: row for row in Inspector(settings, Storage(settings.s3)).status(CUSTOMER_PIPELINE)}
    assert status["silver.customer"]["outcome"] == "started"
    text = subprocess.run([sys.executable, "-m", "lakehouse", "--landing", settings.landing, "--warehouse",
                           settings.warehouse, "status"], capture_output=True, text=True, timeout=120).stdout
    assert "UNFINISHED silver.customer: batch 1 started at " in text

    assert lakehouse_run(settings).returncode == 0
    rerun = [r for r in events(settings) if r["run_id"] not in (crashed_run, events(settings)[0]["run_id"])]
    done = [(r["table"], r["batch_id"], r["outcome"], r["rows_written"])
            for r in final_rows(rerun) if r["event_type"] == "batch"]
    # after-commit: the data landed before the kill, so the replay writes nothing and says so.
    landed = point.endswith("after-commit")
    assert done == [("silver.customer", 1, "skipped" if landed else "succeeded", 0 if landed else 2),
                    ("gold.dim_customer", 1, "succeeded", 3)]
    assert last_batches(settings, Storage(settings.s3))["silver.customer"]["outcome"] in ("succeeded", "skipped")
