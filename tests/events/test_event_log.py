"""The pipeline event log on the embedded engine: what a run writes, how failures show, what reads it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable, write_deltalake

from lakehouse.cli.main import cli
from lakehouse.core.errors import ConfigError, LakehouseError
from lakehouse.core.storage import Storage
from lakehouse.kinds import registry
from lakehouse.kinds.base import BatchResult
from lakehouse.ops.events import last_batches, parse_since, read_events
from lakehouse.ops.inspection import Inspector
from lakehouse.runtime.events import EVENT_SCHEMA, EventLog, event_log_uri
from lakehouse.runtime.runner import Runner
from lakehouse.spec.model import Kind
from lakehouse.spec.pipelines import CUSTOMER_PIPELINE

from .support import FILE_1, FILE_2, events, land, settings_in

TABLES = [str(spec.ref) for spec in CUSTOMER_PIPELINE.tables]


def run(settings, progress=None):
    return Runner(settings, Storage(settings.s3), progress=progress).run(CUSTOMER_PIPELINE)


def final(rows, event_type):
    return [r for r in rows if r["event_type"] == event_type and r["outcome"] != "started"]


def test_a_run_logs_run_flows_and_batches_with_started_and_outcome_rows(tmp_path):
    settings = settings_in(tmp_path)
    land(settings, "c1.csv", FILE_1)
    report = run(settings)
    rows = events(settings)
    assert DeltaTable(event_log_uri(settings)).schema().to_arrow() == pa.schema(EVENT_SCHEMA)
    assert {r["run_id"] for r in rows} == {rows[0]["run_id"]}
    assert {r["engine"] for r in rows} == {"embedded"} and {r["pipeline"] for r in rows} == {"customer"}
    # Every run, flow and batch is a 'started' row and one outcome row under the same event_id.
    by_id: dict[str, list[str]] = {}
    for row in rows:
        by_id.setdefault(row["event_id"], []).append(row["outcome"])
    assert sorted(by_id.values()) == [["started", "succeeded"]] * (1 + 3 + 3)
    batches = final(rows, "batch")
    written = {t.table: t.rows_written for t in report.tables}
    assert [(b["table"], b["batch_id"], b["rows_written"]) for b in batches] == [(t, 0, written[t]) for t in TABLES]
    assert batches[0]["input"] == "1 file(s): c1.csv" and batches[1]["input"] == "0..0"
    assert all(b["rows_in"] == 2 and b["seconds"] > 0 and b["error"] is None for b in batches)
    assert json.loads(batches[0]["details"])["committed"] is True
    (run_row,) = final(rows, "run")
    assert run_row["table"] is None and run_row["batch_id"] is None and run_row["rows_written"] == sum(written.values())
    flows = final(rows, "flow")
    assert [(f["table"], f["rows_written"], json.loads(f["details"])["batches"]) for f in flows] == \
        [(t, written[t], 1) for t in TABLES]


def test_appends_are_one_commit_per_batch_plus_one_per_run(tmp_path):
    settings = settings_in(tmp_path)
    land(settings, "c1.csv", FILE_1)
    run(settings)  # 3 batches: 3 + 1 commits, versions 0..3
    assert DeltaTable(event_log_uri(settings)).version() == 3
    run(settings)  # nothing new: no batch, the run's rows in one commit
    assert DeltaTable(event_log_uri(settings)).version() == 4
    second = [r for r in events(settings) if r["run_id"] != events(settings)[0]["run_id"]]
    assert [(r["event_type"], r["outcome"]) for r in final(second, "flow")] == [("flow", "succeeded")] * 3
    assert not [r for r in second if r["event_type"] == "batch"]


def test_a_failing_batch_is_logged_as_failed_with_its_error_and_the_run_fails(tmp_path, monkeypatch):
    settings = settings_in(tmp_path)
    land(settings, "c1.csv", FILE_1)
    run(settings)
    land(settings, "c2.csv", FILE_2)

    def broken(*args, **kwargs):
        raise LakehouseError("silver.customer: the merge broke", hint="look at the stand-in")

    monkeypatch.setattr(registry.STRATEGIES[Kind.SCD1_UPSERT], "process_batch", broken)
    with pytest.raises(LakehouseError, match="the merge broke"):
        run(settings)
    rows = [r for r in events(settings) if r["run_id"] == events(settings)[-1]["run_id"]]
    silver = [(r["event_type"], r["outcome"]) for r in rows if r["table"] == "silver.customer"]
    assert silver == [("flow", "started"), ("batch", "started"), ("error", "failed"), ("batch", "failed"),
                      ("flow", "failed")]
    (error,) = [r for r in rows if r["event_type"] == "error"]
    assert error["error"] == "silver.customer: the merge broke (hint: look at the stand-in)"
    assert error["batch_id"] == 1 and json.loads(error["details"])["type"] == "LakehouseError"
    assert final(rows, "run")[0]["outcome"] == "failed"
    assert not [r for r in rows if r["table"] == "gold.dim_customer"]
    assert last_batches(settings, Storage(settings.s3))["silver.customer"]["outcome"] == "failed"
    status = {row["table"]: row for row in Inspector(settings, Storage(settings.s3)).status(CUSTOMER_PIPELINE)}
    assert status["silver.customer"]["outcome"] == "failed"
    assert status["bronze.customer_raw"]["outcome"] == "succeeded"
    assert status["silver.customer"]["last_event"]["batch_id"] == 1
    text = CliRunner().invoke(cli, ["--landing", settings.landing, "--warehouse", settings.warehouse, "status"]).stdout
    assert "FAILED silver.customer: batch 1 at " in text and ": silver.customer: the merge broke (hint:" in text


def test_an_unwritable_event_log_never_fails_the_pipeline(tmp_path):
    settings = settings_in(tmp_path)
    land(settings, "c1.csv", FILE_1)
    Path(settings.warehouse).mkdir(parents=True)
    # A file where the log's folder must go: every append fails, as on a full or read-only disk.
    (Path(settings.warehouse) / "_lakehouse").write_text("not a folder")
    messages: list[str] = []
    report = run(settings, messages.append)
    assert [t.rows_written for t in report.tables] == [2, 2, 2]
    rows = Inspector(settings, Storage(settings.s3)).read("gold.dim_customer")
    assert rows.num_rows == 2
    warnings = [m for m in messages if m.startswith("event log: could not append")]
    assert warnings and "no more events are written in this run" in warnings[-1]
    assert read_events(settings, Storage(settings.s3)).num_rows == 0


def test_expectation_results_become_expectation_events(tmp_path):
    settings = settings_in(tmp_path)
    log = EventLog(settings, "customer", "embedded")
    result = BatchResult("silver.customer", 4, rows_in=10, rows_written=7, committed=True, details={"expectations": [
        {"name": "valid_key", "on_violation": "drop", "passed_rows": 7, "failed_rows": 3},
        {"name": "has_name", "on_violation": "warn", "passed_rows": 9, "failed_rows": 1},
        {"name": "positive", "on_violation": "fail", "passed_rows": 10, "failed_rows": 0},
    ]})
    with log.batch("silver.customer", 4, "3..5") as event:
        event.result = result
    log.flush()
    rows = events(settings)
    (batch,) = final(rows, "batch")
    assert (batch["rows_in"], batch["rows_written"], batch["rows_dropped"]) == (10, 7, 3)
    assert "expectations" not in json.loads(batch["details"])
    checks = [(r["outcome"], r["rows_in"], r["rows_written"], r["rows_dropped"], json.loads(r["details"])["name"])
              for r in rows if r["event_type"] == "expectation"]
    assert checks == [("skipped", 10, 7, 3, "valid_key"), ("skipped", 10, 9, 0, "has_name"),
                      ("succeeded", 10, 10, 0, "positive")]
    assert {json.loads(r["details"])["parent_event_id"] for r in rows if r["event_type"] == "expectation"} == \
        {batch["event_id"]}
    assert {r["batch_id"] for r in rows} == {4}


def _old_rows(settings, days_ago: float, count: int, configuration: dict[str, str] | None = None) -> None:
    stamp = datetime.now(UTC) - timedelta(days=days_ago)
    rows = [{"event_id": f"old-{i}", "run_id": "old", "timestamp": stamp, "pipeline": "customer",
             "table": "bronze.customer_raw", "engine": "embedded", "event_type": "batch", "batch_id": i,
             "input": None, "rows_in": 0, "rows_written": 0, "rows_dropped": 0, "seconds": 0.0,
             "outcome": "succeeded", "error": None, "details": "{}"} for i in range(count)]
    write_deltalake(event_log_uri(settings), pa.Table.from_pylist(rows, schema=EVENT_SCHEMA), mode="append",
                    configuration=configuration)


def test_a_log_without_old_rows_is_not_rewritten_by_the_prune(tmp_path):
    settings = settings_in(tmp_path, LAKEHOUSE_EVENT_RETENTION_DAYS="7")
    _old_rows(settings, 6, 2)
    land(settings, "c1.csv", FILE_1)
    run(settings)
    operations = [entry["operation"] for entry in DeltaTable(event_log_uri(settings)).history()]
    assert "DELETE" not in operations and len([r for r in events(settings) if r["run_id"] == "old"]) == 2


def test_files_without_timestamp_statistics_are_still_pruned(tmp_path):
    settings = settings_in(tmp_path, LAKEHOUSE_EVENT_RETENTION_DAYS="7")
    # No column statistics in the log: the prune cannot tell from it and must read the timestamps.
    _old_rows(settings, 8, 3, configuration={"delta.dataSkippingNumIndexedCols": "0"})
    assert "min.timestamp" not in pa.table(DeltaTable(event_log_uri(settings)).get_add_actions(flatten=True)).column_names
    land(settings, "c1.csv", FILE_1)
    run(settings)
    assert not [r for r in events(settings) if r["run_id"] == "old"] and events(settings)


def test_a_run_prunes_rows_older_than_the_retention(tmp_path):
    settings = settings_in(tmp_path, LAKEHOUSE_EVENT_RETENTION_DAYS="7")
    assert settings.event_retention_days == 7
    _old_rows(settings, 8, 3)
    _old_rows(settings, 6, 2)
    land(settings, "c1.csv", FILE_1)
    run(settings)
    kept = {r["run_id"]: 0 for r in events(settings)}
    for row in events(settings):
        kept[row["run_id"]] += 1
    assert kept.pop("old") == 2 and list(kept.values()) == [14]


def test_retention_zero_keeps_everything_and_a_bad_value_is_refused(tmp_path):
    settings = settings_in(tmp_path, LAKEHOUSE_EVENT_RETENTION_DAYS="0")
    _old_rows(settings, 400, 2)
    land(settings, "c1.csv", FILE_1)
    run(settings)
    assert len([r for r in events(settings) if r["run_id"] == "old"]) == 2
    with pytest.raises(ConfigError, match="LAKEHOUSE_EVENT_RETENTION_DAYS must be a whole number of days, got 'a'"):
        settings_in(tmp_path, LAKEHOUSE_EVENT_RETENTION_DAYS="a")


def test_read_events_filters_by_table_time_and_limit(tmp_path):
    settings = settings_in(tmp_path)
    storage = Storage(settings.s3)
    empty = read_events(settings, storage)
    assert empty.num_rows == 0 and empty.schema == EVENT_SCHEMA
    _old_rows(settings, 2, 2)
    land(settings, "c1.csv", FILE_1)
    run(settings)
    every = read_events(settings, storage)
    assert every.schema == EVENT_SCHEMA and every.num_rows == 16
    assert every.column("timestamp").to_pylist() == sorted(every.column("timestamp").to_pylist())
    assert set(read_events(settings, storage, table="silver.customer").column("table").to_pylist()) == \
        {"silver.customer"}
    assert read_events(settings, storage, since="1h").num_rows == 14
    assert read_events(settings, storage, since=(datetime.now(UTC) - timedelta(days=3)).isoformat()).num_rows == 16
    newest = read_events(settings, storage, limit=3)
    assert newest.to_pylist() == every.slice(13).to_pylist()
    assert read_events(settings, storage, table="bronze.customer_raw", since="1d").num_rows == 4


def test_parse_since_reads_iso_times_and_durations():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert parse_since("90m", now) == datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    assert parse_since("2d", now) == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert parse_since("2026-12-01T08:00:00Z") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert parse_since("2026-12-01 08:00") == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with pytest.raises(ConfigError, match="--since 'yesterday' is neither an ISO 8601 time nor a duration"):
        parse_since("yesterday")


def test_sql_sees_the_event_log_as_lakehouse_event_log(tmp_path):
    settings = settings_in(tmp_path)
    inspector = Inspector(settings, Storage(settings.s3))
    with pytest.raises(LakehouseError, match="The query failed"):
        inspector.sql("SELECT * FROM _lakehouse.event_log")
    land(settings, "c1.csv", FILE_1)
    run(settings)
    result = inspector.sql('SELECT "table", sum(rows_written) AS written FROM _lakehouse.event_log '
                           "WHERE event_type = 'batch' AND outcome = 'succeeded' GROUP BY 1 ORDER BY 1")
    assert result.to_pylist() == [{"table": t, "written": 2} for t in sorted(TABLES)]


class StandInExpectationFailed(LakehouseError):
    """Shaped as core.errors.ExpectationFailedError: it names the expectation and its failed rows."""

    def __init__(self) -> None:
        super().__init__("silver.customer: expectation 'valid_key' failed on 2 row(s)", hint="fix the data")
        self.expectation = "valid_key"
        self.failed_rows = 2


def test_a_failing_fail_expectation_is_logged_from_its_error(tmp_path):
    settings = settings_in(tmp_path)
    log = EventLog(settings, "customer", "embedded")
    with pytest.raises(StandInExpectationFailed), log.batch("silver.customer", 2, "1..1"):
        raise StandInExpectationFailed()
    rows = events(settings)
    assert [(r["event_type"], r["outcome"]) for r in rows] == [
        ("batch", "started"), ("error", "failed"), ("expectation", "failed"), ("batch", "failed")]
    expectation = rows[2]
    assert json.loads(expectation["details"])["name"] == "valid_key" and expectation["rows_in"] == 2
    assert expectation["error"] == "silver.customer: expectation 'valid_key' failed on 2 row(s) (hint: fix the data)"


def test_a_pipeline_with_expectations_logs_each_result(tmp_path):
    from tests.expectations.support import ROWS, Place, expect, pipeline

    place = Place(tmp_path)
    place.land("c1.csv", ROWS)
    spec = pipeline(silver=(expect("has_balance", "c_acctbal IS NOT NULL", "drop"),),
                    gold=(expect("positive_balance", "c_acctbal > 0", "warn"),))
    place.run(spec)
    place.land("c2.csv", ROWS[:2])
    with pytest.raises(LakehouseError):
        place.run(pipeline(silver=(expect("small_keys", "c_custkey < 0", "fail"),)))
    rows = events(place.settings())
    checks = [(r["table"], r["outcome"], r["rows_in"], r["rows_written"], r["rows_dropped"],
               json.loads(r["details"])["name"]) for r in rows if r["event_type"] == "expectation"]
    # Gold reads bronze's feed, so it judges all four rows: a negative and a NULL balance warn.
    assert checks[:2] == [("silver.customer", "skipped", 4, 3, 1, "has_balance"),
                          ("gold.dim_customer", "skipped", 4, 2, 0, "positive_balance")]
    # The second run: both new rows break silver's fail expectation, so its batch commits nothing.
    assert checks[2:] == [("silver.customer", "failed", 2, 0, 0, "small_keys")]
    silver = [r for r in final(rows, "batch") if r["table"] == "silver.customer"]
    assert [(b["outcome"], b["rows_dropped"]) for b in silver] == [("succeeded", 1), ("failed", 0)]
    first_run = [r for r in rows if r["run_id"] == rows[0]["run_id"]]
    assert [(r["table"], r["rows_dropped"]) for r in final(first_run, "flow") + final(first_run, "run")] == [
        ("bronze.customer_raw", 0), ("silver.customer", 1), ("gold.dim_customer", 0), (None, 1)]


def _write_batches(warehouse: str) -> list[str]:
    from lakehouse.core.config import Settings

    settings = Settings.load(landing=warehouse, warehouse=warehouse, env={})
    warnings: list[str] = []
    log = EventLog(settings, "customer", "embedded", progress=warnings.append)
    for batch_id in range(5):
        with log.batch("bronze.customer_raw", batch_id, "x"):
            pass
    log.flush()
    return warnings


@pytest.mark.slow
def test_runs_in_parallel_processes_all_land_their_events(tmp_path):
    import multiprocessing

    # Four runs racing, the first appends of each creating the log: one creates, the others append.
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        warnings = pool.map(_write_batches, [str(tmp_path)] * 4)
    assert warnings == [[], [], [], []]
    rows = events(settings_in(tmp_path).with_overrides(warehouse=str(tmp_path)))
    assert len(rows) == 4 * 5 * 2 and len({r["run_id"] for r in rows}) == 4
