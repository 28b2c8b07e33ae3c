"""The customer pipeline's scenarios, with exact table contents, on every engine and storage."""

from __future__ import annotations

import dataclasses

import pytest

from lakehouse.core.hashing import row_hash
from lakehouse.ops.inspection import Inspector
from lakehouse.spec import get_pipeline
from tests.scenarios import customer_batches as scenario

pytestmark = pytest.mark.integration

BUSINESS = scenario.COLUMNS
TRACKED_TYPES = ["string", "string", "bigint", "string", "decimal(15,2)", "string", "string"]


def business_rows(table, sort_keys=("c_custkey",)):
    rows = [{c: r[c] for c in BUSINESS} for r in table.to_pylist()]
    return sorted(rows, key=lambda r: tuple(r[k] for k in sort_keys))


def land_batch(lakehouse, index):
    for name, lines in scenario.BATCHES[index]:
        lakehouse.land(name, scenario.csv_bytes(lines))


def gold_history(lakehouse):
    rows = sorted(lakehouse.table("gold.dim_customer").to_pylist(), key=lambda r: (r["c_custkey"], r["start_date"]))
    history = {}
    for r in rows:
        history.setdefault(r["c_custkey"], []).append(r)
    return history


def test_batches_give_exact_silver_rows_and_gold_histories(lakehouse):
    for index in range(len(scenario.BATCHES)):
        land_batch(lakehouse, index)
        report = lakehouse.run()
        written = {t.table: t.rows_written for t in report.tables}
        assert written["silver.customer"] == scenario.SILVER_WRITES[index]
        assert lakehouse.table("bronze.customer_raw").num_rows == scenario.BRONZE_ROWS_AFTER[index]
        assert business_rows(lakehouse.table("silver.customer")) == scenario.SILVER_AFTER[index]

    history = gold_history(lakehouse)
    assert {key: [{c: r[c] for c in BUSINESS} for r in versions] for key, versions in history.items()} \
        == scenario.GOLD_HISTORY
    ids = [r["dim_customer_id"] for versions in history.values() for r in versions]
    assert len(ids) == len(set(ids)), "surrogate keys are unique"
    for versions in history.values():
        assert [r["is_current"] for r in versions] == [False] * (len(versions) - 1) + [True]
        assert versions[-1]["end_date"] is None
        for older, newer in zip(versions, versions[1:]):
            assert older["end_date"] == newer["start_date"], "each version ends where the next starts"
            assert older["dim_customer_id"] < newer["dim_customer_id"], "keys are never reused"

    checked, violations = Inspector(lakehouse.settings, lakehouse.storage).validate(get_pipeline("customer"))
    assert len(checked) == 3 and violations == []


def test_silver_hash_is_the_engine_independent_reference(lakehouse):
    land_batch(lakehouse, 0)
    lakehouse.run()
    for r in lakehouse.table("silver.customer").to_pylist():
        assert r["hash_value"] == row_hash([r[c] for c in BUSINESS[1:]], TRACKED_TYPES)


def test_idle_rerun_creates_no_table_versions(lakehouse):
    land_batch(lakehouse, 0)
    lakehouse.run()
    versions = {name: lakehouse.version(name) for name in ("bronze.customer_raw", "silver.customer", "gold.dim_customer")}
    report = lakehouse.run()
    assert all(t.batches == [] for t in report.tables)
    assert {name: lakehouse.version(name) for name in versions} == versions


def test_unchanged_resend_writes_nothing_to_silver_or_gold(lakehouse):
    land_batch(lakehouse, 0)
    lakehouse.run()
    silver_version = lakehouse.version("silver.customer")
    gold_version = lakehouse.version("gold.dim_customer")
    lakehouse.land("customer_resend.csv", scenario.csv_bytes(scenario.BATCHES[0][1][1]))
    lakehouse.run()
    assert lakehouse.table("bronze.customer_raw").num_rows == scenario.BRONZE_ROWS_AFTER[0] + 2
    assert lakehouse.version("silver.customer") == silver_version
    assert lakehouse.version("gold.dim_customer") == gold_version


def test_time_travel_reads_earlier_silver_versions(lakehouse):
    for index in range(2):
        land_batch(lakehouse, index)
        lakehouse.run()
    assert business_rows(lakehouse.table("silver.customer", version=0)) == scenario.SILVER_AFTER[0]
    assert business_rows(lakehouse.table("silver.customer")) == scenario.SILVER_AFTER[1]


def test_reset_then_full_reprocess_gives_the_final_state_in_one_batch(lakehouse):
    for index in range(len(scenario.BATCHES)):
        land_batch(lakehouse, index)
        lakehouse.run()
    dropped = lakehouse.runner.reset(get_pipeline("customer"))
    assert sorted(dropped) == ["bronze.customer_raw", "gold.dim_customer", "silver.customer"]
    assert lakehouse.version("silver.customer") is None
    report = lakehouse.run()
    assert [len(t.batches) for t in report.tables] == [1, 1, 1]
    assert lakehouse.table("bronze.customer_raw").num_rows == scenario.BRONZE_ROWS_AFTER[-1]
    assert business_rows(lakehouse.table("silver.customer")) == scenario.SILVER_AFTER[-1]
    gold = lakehouse.table("gold.dim_customer").to_pylist()
    assert sorted(({c: r[c] for c in BUSINESS} for r in gold), key=lambda r: r["c_custkey"]) \
        == scenario.SILVER_AFTER[-1]
    assert all(r["is_current"] and r["end_date"] is None for r in gold)


def test_reset_of_one_table_reprocesses_it_from_upstream(lakehouse):
    for index in range(2):
        land_batch(lakehouse, index)
        lakehouse.run()
    dropped = lakehouse.runner.reset(get_pipeline("customer"), "gold.dim_customer")
    assert dropped == ["gold.dim_customer"]
    assert lakehouse.version("silver.customer") is not None
    lakehouse.run()
    history = gold_history(lakehouse)
    # Rebuilt from silver's full change feed: every silver version is replayed in order.
    assert [{c: r[c] for c in BUSINESS} for r in history[1]] == [scenario.C1_OLD, scenario.C1_NEW]
    assert [{c: r[c] for c in BUSINESS} for r in history[3]] == [scenario.C3_EMPTY, scenario.C3_NULL]


def processing_time_pipeline():
    """The customer pipeline without effective time: gold is fed from silver's change feed, as in the
    source project, and versions start when silver wrote them."""
    from lakehouse.spec.pipelines import CUSTOMER, CUSTOMER_PIPELINE, CUSTOMER_RAW, DIM_CUSTOMER

    silver = dataclasses.replace(CUSTOMER, sequence_by=None, options=None)
    gold = dataclasses.replace(DIM_CUSTOMER, upstream=(silver.ref,), sequence_by=None, options=None)
    return dataclasses.replace(CUSTOMER_PIPELINE, name="customer-processing-time", tables=(CUSTOMER_RAW, silver, gold))


def test_processing_time_dimension_fed_from_silver_change_feed(lakehouse):
    pipeline = processing_time_pipeline()
    silver_write_times = []
    for index in range(len(scenario.BATCHES)):
        land_batch(lakehouse, index)
        lakehouse.run(pipeline)
        assert business_rows(lakehouse.table("silver.customer")) == scenario.SILVER_AFTER[index]
        silver_write_times.append({r["c_custkey"]: r["date_added"] for r in lakehouse.table("silver.customer").to_pylist()})
    history = gold_history(lakehouse)
    assert {key: [{c: r[c] for c in BUSINESS} for r in versions] for key, versions in history.items()} \
        == scenario.GOLD_HISTORY
    # A version starts when silver wrote it: key 1's three versions start at the three runs' silver writes.
    assert [r["start_date"] for r in history[1]] == [times[1] for times in silver_write_times]
    for versions in history.values():
        for older, newer in zip(versions, versions[1:]):
            assert older["end_date"] == newer["start_date"] and not older["is_current"]
