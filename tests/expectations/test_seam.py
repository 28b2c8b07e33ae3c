"""The seam on its own, over an Arrow batch on the embedded engine: which change rows are judged, what
the strategy receives, and what a failure names."""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pytest

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError, ExpectationFailedError
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.kinds.base import BatchResult
from lakehouse.kinds.expectations.screen import screened
from lakehouse.spec.pipelines import CUSTOMER

from .support import expect

CHANGES = pa.table({
    "c_custkey": [1, 2, 2, 3, 4],
    "c_acctbal": [5.0, -1.0, -2.0, None, -3.0],
    "op": ["upsert", "upsert", "upsert", "upsert", "DELETE"],
    "_change_type": ["insert", "update_preimage", "update_postimage", "insert", "insert"],
})


@pytest.fixture
def engine(tmp_path) -> EmbeddedEngine:
    return EmbeddedEngine(Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"),
                                        engine="embedded", env={}))


def run(engine, spec, rows=CHANGES) -> tuple[BatchResult, list[dict]]:
    received: list[dict] = []

    def process(kept) -> BatchResult:
        received.extend(kept.to_pylist())
        return BatchResult(str(spec.ref), 0)  # not committed: nothing is recorded for status

    return screened(engine, spec, 0, rows, process), received


def test_deletes_and_pre_images_are_not_judged_and_reach_the_strategy(engine):
    spec = replace(CUSTOMER, apply_as_deletes="op = 'DELETE'",
                   expectations=(expect("balance_not_negative", "c_acctbal >= 0", "drop"),))
    result, received = run(engine, spec)
    # Judged: 1 (passes), 2's post-image and 3 (NULL) fail; 2's pre-image and the delete of 4 pass through.
    assert result.details["expectations"] == [{"name": "balance_not_negative", "on_violation": "drop",
                                               "passed_rows": 1, "failed_rows": 2}]
    assert [(r["c_custkey"], r["_change_type"]) for r in received] == [
        (1, "insert"), (2, "update_preimage"), (4, "insert")]


def test_a_null_apply_as_deletes_is_not_a_delete(engine):
    rows = CHANGES.set_column(2, "op", pa.array([None] * 5, pa.string()))
    spec = replace(CUSTOMER, apply_as_deletes="op = 'DELETE'",
                   expectations=(expect("balance_not_negative", "c_acctbal >= 0", "warn"),))
    result, received = run(engine, spec, rows)
    assert result.details["expectations"][0]["failed_rows"] == 3 and len(received) == 5


def test_fail_names_the_expectation_the_table_and_a_row(engine):
    spec = replace(CUSTOMER, expectations=(expect("has_balance", "c_acctbal IS NOT NULL", "fail"),))
    with pytest.raises(ExpectationFailedError) as failed:
        run(engine, spec)
    assert failed.value.table == "silver.customer" and failed.value.expectation == "has_balance"
    assert failed.value.failed_rows == 1 and failed.value.sample["c_custkey"] == 3
    assert failed.value.hint and "run again" in failed.value.hint
    assert failed.value.counts == [{"name": "has_balance", "on_violation": "fail", "passed_rows": 3, "failed_rows": 1}]


def test_a_table_without_expectations_gets_its_rows_untouched(engine):
    result, received = run(engine, CUSTOMER)
    assert "expectations" not in result.details and received == CHANGES.to_pylist()


def test_an_expression_the_engine_cannot_run_is_named_with_the_columns(engine):
    spec = replace(CUSTOMER, expectations=(expect("fine", "c_acctbal > 0", "warn"),
                                           expect("typo", "c_acctbl > 0", "drop")))
    with pytest.raises(ConfigError, match="expectation 'typo' \\(c_acctbl > 0\\)") as refused:
        run(engine, spec)
    assert refused.value.hint and "c_acctbal" in refused.value.hint and "silver.customer" in str(refused.value)
