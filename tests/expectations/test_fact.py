"""Expectations on a fact table (gold.fact_sales over the handmade sales rows of tests/sales): the fact
rows are judged before anything is written, so a drop also leaves out the inferred member only a
dropped row needed, and a fail leaves the fact, its dimension and its quarantine as they were."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lakehouse.core.checkpoints import CheckpointLog
from lakehouse.core.config import Settings
from lakehouse.core.errors import ExpectationFailedError
from lakehouse.core.storage import Storage
from lakehouse.runtime.runner import Runner, RunReport
from lakehouse.spec import get_pipeline
from lakehouse.spec.expectations import Expectation
from lakehouse.spec.model import Pipeline
from lakehouse.spec.sales import FACT_SALES
from tests.sales.conftest import SalesLakehouse
from tests.sales.sales_data import LINEITEM_HEADER, land_initial, line
from tests.spark.conftest import delta_spark, on_test_session, spark  # noqa: F401  (the one shared session)

from .support import batch_counts, expect

FACT = str(FACT_SALES.ref)
QUARANTINE = f"{FACT}_quarantine"
# Lines' quantities: 10-1: 2, 10-2: 1, 11-1: 5, 12-1: 3, 13-1: 1 (order 13's customer 3 is not landed).
MORE_THAN_ONE = "quantity > 1"


@pytest.fixture
def lake(tmp_path: Path) -> SalesLakehouse:
    settings = Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"),
                             engine="embedded", env={})
    lake = SalesLakehouse(settings, Storage(settings.s3))
    land_initial(lake)
    return lake


def with_fact_expectations(*expectations: Expectation) -> Pipeline:
    tpch = get_pipeline("tpch")
    tables = tuple(replace(spec, expectations=expectations) if spec.ref == FACT_SALES.ref else spec
                   for spec in tpch.tables)
    return Pipeline(tpch.name, tables)


def run(lake: SalesLakehouse, pipeline: Pipeline) -> RunReport:
    return Runner(lake.settings, lake.storage).run(pipeline)


def lines_of(rows) -> list[tuple[int, int]]:
    return sorted((row["order_key"], row["line_number"]) for row in rows)


def customer_keys(lake: SalesLakehouse) -> list[int]:
    return sorted(row["c_custkey"] for row in lake.rows("gold.dim_customer", "dim_customer_id"))


def test_warn_keeps_every_fact_row_and_counts(lake):
    report = run(lake, with_fact_expectations(expect("more_than_one", MORE_THAN_ONE, "warn")))
    assert lines_of(lake.rows(FACT)) == [(10, 1), (10, 2), (11, 1), (12, 1), (13, 1)]
    assert batch_counts(report, FACT_SALES.ref) == [[{"name": "more_than_one", "on_violation": "warn", "passed_rows": 3,
                                     "failed_rows": 2}]]
    assert customer_keys(lake) == [1, 2, 3], "order 13's customer is inferred as without expectations"
    assert lake.version(QUARANTINE) is None


def test_drop_quarantines_fact_rows_and_infers_only_the_members_kept_rows_need(lake):
    report = run(lake, with_fact_expectations(expect("more_than_one", MORE_THAN_ONE, "drop"),
                                              expect("cheap", "extended_price < 150", "warn")))
    assert lines_of(lake.rows(FACT)) == [(10, 1), (11, 1), (12, 1)]
    quarantined = lake.rows(QUARANTINE, "order_key", "line_number")
    assert [(r["order_key"], r["line_number"], r["_failed_expectations"], r["_batch_id"]) for r in quarantined] == [
        (10, 2, "more_than_one", 0), (13, 1, "more_than_one", 0)]
    assert batch_counts(report, FACT_SALES.ref) == [[
        {"name": "more_than_one", "on_violation": "drop", "passed_rows": 3, "failed_rows": 2},
        {"name": "cheap", "on_violation": "warn", "passed_rows": 4, "failed_rows": 1}]]
    # Customer 3 is referenced only by the dropped line 13-1: no inferred member is written for it.
    assert customer_keys(lake) == [1, 2]

    # A later line of order 13 that passes brings the member in, linked as any late member is.
    lake.land("lineitem", "lineitem_0002.csv", LINEITEM_HEADER, [line(13, 2, "4", "40.00", "0.00", "0.00")])
    run(lake, with_fact_expectations(expect("more_than_one", MORE_THAN_ONE, "drop")))
    assert customer_keys(lake) == [1, 2, 3]
    links = {(r["order_key"], r["line_number"]): r["dim_customer_id"] for r in lake.rows(FACT, "order_key")}
    inferred = next(r for r in lake.rows("gold.dim_customer", "dim_customer_id") if r["c_custkey"] == 3)
    assert inferred["is_inferred"] and links[(13, 2)] == inferred["dim_customer_id"]
    # Line 13-1 is not in the table, so the batch that recomputes order 13 judges (and drops) it again.
    assert (13, 1) not in links
    assert [(r["order_key"], r["line_number"], r["_batch_id"]) for r in lake.rows(QUARANTINE, "_batch_id", "order_key")] == [
        (10, 2, 0), (13, 1, 0), (13, 1, 1)]


def test_fail_commits_no_fact_rows_no_inferred_member_no_quarantine_and_no_checkpoint(lake):
    pipeline = with_fact_expectations(expect("more_than_one", MORE_THAN_ONE, "fail"),
                                      expect("not_order_12", "order_key <> 12", "drop"))
    with pytest.raises(ExpectationFailedError) as failed:
        run(lake, pipeline)
    message = str(failed.value)
    assert f"{FACT}: expectation 'more_than_one' ({MORE_THAN_ONE}) failed on 2 row(s)" in message
    assert failed.value.sample["quantity"] == 1 and failed.value.sample["order_key"] in (10, 13)
    assert lake.version(FACT) is None and lake.version(QUARANTINE) is None
    assert customer_keys(lake) == [1, 2], "customer 3's inferred member waits for the fact rows"
    log = CheckpointLog(lake.storage, lake.settings.checkpoint_uri(FACT_SALES.ref.schema, FACT_SALES.ref.name))
    assert log.last_committed() is None

    # The rule fixed: the same planned batch is retried and commits, with its drop and its member.
    run(lake, with_fact_expectations(expect("positive", "quantity > 0", "fail"),
                                     expect("not_order_12", "order_key <> 12", "drop")))
    assert lines_of(lake.rows(FACT)) == [(10, 1), (10, 2), (11, 1), (13, 1)]
    assert [(r["order_key"], r["_batch_id"]) for r in lake.rows(QUARANTINE, "order_key")] == [(12, 0)]
    assert customer_keys(lake) == [1, 2, 3]



def test_a_batch_that_stops_after_its_member_and_quarantine_commits_is_replayed_without_duplicates(lake, monkeypatch):
    from lakehouse.kinds.fact import strategy

    pipeline = with_fact_expectations(expect("not_order_12", "order_key <> 12", "drop"))

    def stopped(*args, **kwargs):
        raise RuntimeError("stopped before the fact commit")

    monkeypatch.setattr(strategy, "write_batch", stopped)
    with pytest.raises(RuntimeError, match="before the fact commit"):
        run(lake, pipeline)
    assert lake.version(FACT) is None
    assert customer_keys(lake) == [1, 2, 3] and lines_of(lake.rows(QUARANTINE)) == [(12, 1)]

    monkeypatch.undo()
    run(lake, pipeline)
    assert customer_keys(lake) == [1, 2, 3], "the replay reuses the member, it infers no second one"
    assert [(r["order_key"], r["_batch_id"]) for r in lake.rows(QUARANTINE, "order_key")] == [(12, 0)]
    member = next(r["dim_customer_id"] for r in lake.rows("gold.dim_customer", "c_custkey") if r["c_custkey"] == 3)
    assert {(r["order_key"], r["dim_customer_id"]) for r in lake.rows(FACT, "order_key")} == {
        (10, 1), (11, 1), (13, member)}

SPARK_TABLES = ("bronze.customer_raw", "silver.customer", "gold.dim_customer", "bronze.orders_raw",
                "bronze.lineitem_raw", "silver.orders", "silver.lineitem", FACT)


@pytest.mark.spark
def test_drop_on_a_fact_gives_the_same_outcome_on_spark(tmp_path, on_test_session):  # noqa: F811
    """The tables the fact needs, on both engines: the same fact rows, quarantine, counts and members."""
    full = with_fact_expectations(expect("more_than_one", MORE_THAN_ONE, "drop"),
                                  expect("cheap", "extended_price < 150", "warn"))
    pipeline = Pipeline("fact-expectations", tuple(full.table(name) for name in SPARK_TABLES))
    seen = {}
    for engine in ("embedded", "spark"):
        settings = Settings.load(landing=str(tmp_path / engine / "landing"),
                                 warehouse=str(tmp_path / engine / "warehouse"), engine=engine, env={})
        lake = SalesLakehouse(settings, Storage(settings.s3))
        land_initial(lake)
        report = run(lake, pipeline)
        seen[engine] = {
            "fact": lines_of(lake.rows(FACT)),
            "quarantine": sorted((r["order_key"], r["line_number"], r["_failed_expectations"], r["_batch_id"])
                                 for r in lake.rows(QUARANTINE)),
            "counts": batch_counts(report, FACT_SALES.ref),
            "members": customer_keys(lake),
        }
    assert seen["spark"] == seen["embedded"]
    assert seen["spark"]["quarantine"] == [(10, 2, "more_than_one", 0), (13, 1, "more_than_one", 0)]
    assert seen["spark"]["members"] == [1, 2]
