"""Expectations on the embedded engine: warn keeps and counts, drop leaves out and quarantines, fail
commits nothing and the batch is retried; a NULL verdict is a violation (docs/expectations.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import deltalake
import duckdb
import polars
import pytest
from click.testing import CliRunner

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.errors import ExpectationFailedError
from lakehouse.core.storage import Storage
from lakehouse.ops.inspection import Inspector

from .support import BRONZE, GOLD, ROWS, SILVER, Place, batch_counts, expect, pipeline, quarantine_of

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def place(tmp_path) -> Place:
    place = Place(tmp_path)
    place.land("customer_0001.csv", ROWS)
    return place


def keys(rows) -> list[int]:
    return sorted(row["c_custkey"] for row in rows)


def test_warn_keeps_every_row_and_counts_null_as_a_violation(place):
    report = place.run(pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "warn"),)))
    assert keys(place.rows(BRONZE)) == [1, 2, 3, 4]
    assert keys(place.rows(SILVER)) == [1, 2, 3, 4]
    # Customer 2 is negative, customer 3's balance is NULL: neither expression is true.
    assert batch_counts(report, BRONZE) == [[{"name": "balance_not_negative", "on_violation": "warn",
                                              "passed_rows": 2, "failed_rows": 2}]]
    assert not place.exists(quarantine_of(BRONZE))


def test_null_passes_only_when_the_expression_allows_it(place):
    report = place.run(pipeline(bronze=(expect("balance", "c_acctbal IS NULL OR c_acctbal >= 0", "drop"),)))
    assert keys(place.rows(BRONZE)) == [1, 3, 4]
    assert batch_counts(report, BRONZE)[0][0]["failed_rows"] == 1


def test_drop_at_bronze_quarantines_the_rows_readable_by_other_readers(place):
    report = place.run(pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "drop"),
                                        expect("known_segment", "c_mktsegment <> 'MACHINERY'", "warn"))))
    assert keys(place.rows(BRONZE)) == [1, 4]
    assert keys(place.rows(SILVER)) == [1, 4]
    quarantine = place.rows(quarantine_of(BRONZE))
    assert [(r["c_custkey"], r["_failed_expectations"], r["_batch_id"]) for r in quarantine] == [
        (2, "balance_not_negative", 0), (3, "balance_not_negative,known_segment", 0)]
    assert all(r["_quarantined_at"] is not None and r["source_filename"].endswith("customer_0001.csv")
               for r in quarantine)
    assert batch_counts(report, BRONZE)[0] == [
        {"name": "balance_not_negative", "on_violation": "drop", "passed_rows": 2, "failed_rows": 2},
        {"name": "known_segment", "on_violation": "warn", "passed_rows": 3, "failed_rows": 1}]
    uri = place.table_uri(quarantine_of(BRONZE))
    assert polars.read_delta(uri).sort("c_custkey")["c_custkey"].to_list() == [2, 3]
    connection = duckdb.connect()
    connection.register("quarantine", deltalake.DeltaTable(uri).to_pyarrow_dataset())
    assert connection.sql("SELECT count(*), min(_batch_id) FROM quarantine").fetchall() == [(2, 0)]


def test_drop_at_silver_and_warn_at_gold(place):
    report = place.run(pipeline(silver=(expect("nation_below_five", "c_nationkey < 5", "drop"),),
                                gold=(expect("has_name", "c_name LIKE 'Customer#%'", "warn"),)))
    assert keys(place.rows(BRONZE)) == [1, 2, 3, 4]
    assert keys(place.rows(SILVER)) == [3, 4]
    assert keys(place.rows(quarantine_of(SILVER))) == [1, 2]
    assert {r["_failed_expectations"] for r in place.rows(quarantine_of(SILVER))} == {"nation_below_five"}
    assert batch_counts(report, SILVER)[0] == [{"name": "nation_below_five", "on_violation": "drop",
                                                "passed_rows": 2, "failed_rows": 2}]
    assert batch_counts(report, GOLD)[0] == [{"name": "has_name", "on_violation": "warn",
                                              "passed_rows": 4, "failed_rows": 0}]


def test_a_second_batch_appends_to_the_quarantine_with_its_batch_id(place):
    spec = pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "drop"),))
    place.run(spec)
    place.land("customer_0002.csv", ["5,Customer#5,Addr 5,3,25-500,-5.00,FURNITURE,negative"])
    place.run(spec)
    assert [(r["c_custkey"], r["_batch_id"]) for r in place.rows(quarantine_of(BRONZE))] == [(2, 0), (3, 0), (5, 1)]
    assert keys(place.rows(BRONZE)) == [1, 4]


def test_fail_commits_nothing_and_a_rerun_after_fixing_the_data_succeeds(place):
    spec = pipeline(bronze=(expect("has_balance", "c_acctbal IS NOT NULL", "fail"),
                            expect("balance_not_negative", "c_acctbal >= 0", "drop")))
    with pytest.raises(ExpectationFailedError) as failed:
        place.run(spec)
    message = str(failed.value)
    assert "has_balance" in message and "bronze.customer_raw" in message and "'c_custkey': 3" in message
    assert not place.exists(BRONZE) and not place.exists(quarantine_of(BRONZE))
    log = CheckpointLog(Storage(place.settings().s3), place.settings().checkpoint_uri("bronze", "customer_raw"))
    assert log.last_committed() is None
    place.land("customer_0001.csv", [row.replace(",,", ",3.00,") for row in ROWS])
    report = place.run(spec)
    assert keys(place.rows(BRONZE)) == [1, 3, 4]
    assert keys(place.rows(quarantine_of(BRONZE))) == [2]
    # The failed batch 0 is retried first: its file changed since it was planned, so it is deferred to
    # batch 1, which reads the fixed file.
    assert batch_counts(report, BRONZE)[-1][0] == {"name": "has_balance", "on_violation": "fail",
                                                   "passed_rows": 4, "failed_rows": 0}
    assert [r["_batch_id"] for r in place.rows(quarantine_of(BRONZE))] == [len(batch_counts(report, BRONZE)) - 1]


def test_fail_at_silver_leaves_silver_uncommitted(place):
    spec = pipeline(silver=(expect("nation_below_five", "c_nationkey < 5", "fail"),))
    with pytest.raises(ExpectationFailedError, match="silver.customer"):
        place.run(spec)
    assert keys(place.rows(BRONZE)) == [1, 2, 3, 4]
    assert not place.exists(SILVER) and not place.exists(quarantine_of(SILVER))
    # The spec fixed (the rule was wrong): the same planned batch is retried and commits.
    place.run(pipeline(silver=(expect("nation_below_ten", "c_nationkey < 10", "fail"),)))
    assert keys(place.rows(SILVER)) == [1, 2, 3, 4]


def test_counts_in_status_and_in_run_json(place, monkeypatch):
    spec = pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "drop"),))
    # The CLI finds pipelines by name; this one is made here, so both ways of finding one answer it.
    monkeypatch.setattr("lakehouse.spec.get_pipeline", lambda name: spec)
    monkeypatch.setattr("lakehouse.cli.context.LakehouseContext.pipeline", lambda self, name: spec, raising=False)
    from lakehouse.cli.main import cli

    env = {"LAKEHOUSE_LANDING": place.landing, "LAKEHOUSE_WAREHOUSE": place.warehouse}
    ran = CliRunner().invoke(cli, ["--json", "run"], env=env, catch_exceptions=False)
    printed = json.loads(ran.output[ran.output.index("{"):])
    bronze = next(t for t in printed["tables"] if t["table"] == "bronze.customer_raw")
    assert bronze["batches"][0]["details"]["expectations"][0]["failed_rows"] == 2
    settings = place.settings()
    status = {row["table"]: row for row in Inspector(settings, Storage(settings.s3)).status(spec)}
    assert status["bronze.customer_raw"]["expectations"] == {
        "batch_id": 0, "expectations": [{"name": "balance_not_negative", "on_violation": "drop",
                                         "passed_rows": 2, "failed_rows": 2}]}
    assert status["silver.customer"]["expectations"] is None
    shown = CliRunner().invoke(cli, ["status"], env=env, catch_exceptions=False)
    assert "EXPECTATION bronze.customer_raw: balance_not_negative (drop) in batch 0: 2 passed, 2 failed" in shown.output


def test_reset_drops_the_quarantine_so_a_rebuild_quarantines_again(place):
    spec = pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "drop"),))
    place.run(spec)
    settings = place.settings()
    from lakehouse.runtime.runner import Runner

    Runner(settings, Storage(settings.s3)).reset(spec)
    assert not place.exists(quarantine_of(BRONZE))
    place.run(spec)
    assert keys(place.rows(quarantine_of(BRONZE))) == [2, 3] and keys(place.rows(BRONZE)) == [1, 4]


def test_drop_at_an_scd2_dimension(place):
    report = place.run(pipeline(gold=(expect("nation_below_five", "c_nationkey < 5", "drop"),)))
    assert keys(place.rows(GOLD)) == [3, 4] and keys(place.rows(SILVER)) == [1, 2, 3, 4]
    assert keys(place.rows(quarantine_of(GOLD))) == [1, 2]
    assert batch_counts(report, GOLD)[0][0]["failed_rows"] == 2


def test_a_crash_after_the_quarantine_write_does_not_quarantine_twice(place):
    # Killed after the quarantine append, before bronze's commit; the rerun replays the batch.
    script = ("import sys; from tests.expectations.support import Place, expect, pipeline; "
              "Place(__import__('pathlib').Path(sys.argv[1]))"
              ".run(pipeline(bronze=(expect('balance_not_negative', 'c_acctbal >= 0', 'drop'),)))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    killed = subprocess.run([sys.executable, "-c", script, str(place.root)], cwd=str(REPO), capture_output=True,
                            env={**env, "LAKEHOUSE_CRASH_AT": "bronze.customer_raw:after-read"}, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert keys(place.rows(quarantine_of(BRONZE))) == [2, 3] and not place.exists(BRONZE)
    place.run(pipeline(bronze=(expect("balance_not_negative", "c_acctbal >= 0", "drop"),)))
    assert keys(place.rows(BRONZE)) == [1, 4]
    assert keys(place.rows(quarantine_of(BRONZE))) == [2, 3]
