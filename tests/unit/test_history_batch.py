"""The SCD2-with-effective-time batch: max surrogate from file statistics, and a MERGE that keeps the
attributes of stored versions the batch did not read."""

import datetime as dt

import pyarrow as pa
import pytest

import lakehouse.kinds.registry  # noqa: F401 (every kind registered before the strategies are used)
from lakehouse.core.config import Settings
from lakehouse.core.dialects import DUCKDB
from lakehouse.engines.base import EngineAdapter, Transaction
from lakehouse.engines.embedded.engine import EmbeddedEngine
from lakehouse.kinds.scd2 import history_sql as scd2_history
from lakehouse.kinds.scd2.strategy import max_surrogate, process_history_batch
from lakehouse.spec.model import TableRef
from lakehouse.spec.pipelines import DIM_CUSTOMER

REF = TableRef("gold", "keys")
WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def engine(tmp_path):
    return EmbeddedEngine(Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse")))


def append(engine, keys, batch_id):
    engine.append(REF, pa.table({"sk": pa.array(keys, pa.int64())}), Transaction("test", batch_id), properties={},
                  evolve_schema=False)


def test_max_surrogate_from_file_statistics_matches_a_scan(engine):
    append(engine, [1, 2, 3], 1)
    append(engine, [12, None, 10], 2)
    append(engine, [None], 3)  # a file whose key column is all NULL has no maximum, and is no reason to scan
    assert engine.max_value(REF, "sk") == 12
    assert EngineAdapter.max_value(engine, REF, "sk") == 12  # the scan every engine has
    assert max_surrogate(engine, REF, "sk") == 12


def test_a_file_without_statistics_means_a_scan(engine, monkeypatch):
    append(engine, [3, 1], 1)
    append(engine, [7, 5], 2)
    without_max = pa.table({"num_records": [2, 2], "null_count.sk": [0, None], "max.sk": pa.array([3, None], pa.int64())})
    monkeypatch.setattr(engine, "_file_statistics", lambda ref, version=None: without_max)
    assert engine.max_value(REF, "sk") == 7


def test_merge_plan_keeps_unread_attributes_of_stored_versions_only():
    plan = scd2_history.merge_plan(DUCKDB, DIM_CUSTOMER, ["dim_customer_id", "c_custkey", "c_name", "end_date"],
                                   kept_columns=["c_name"])
    assert plan.update_set["c_name"] == f'CASE WHEN s.{scd2_history.FROM_STORED} THEN t."c_name" ELSE s."c_name" END'
    assert plan.update_set["end_date"] == 's."end_date"'
    assert "dim_customer_id" not in plan.update_set
    assert plan.insert_values["c_name"] == 's."c_name"'


def feed(rows):
    """A bronze change feed of customers: (key, name, address, effective time or None)."""
    n = len(rows)
    return pa.table({
        "c_custkey": pa.array([r[0] for r in rows], pa.int64()), "c_name": [r[1] for r in rows],
        "c_address": [r[2] for r in rows],
        "c_updated_at": pa.array([r[3] for r in rows], pa.timestamp("us", tz="UTC")),
        "date_added": [WHEN] * n, "source_filename": ["f.csv"] * n, "source_file_modified": [WHEN] * n,
        "source_row": list(range(2, n + 2)), "_change_type": ["insert"] * n, "_commit_version": [1] * n,
    })


UPSTREAM = [("c_custkey", "bigint"), ("c_name", "string"), ("c_address", "string"), ("c_updated_at", "timestamp"),
            ("date_added", "timestamp"), ("source_filename", "string"), ("source_file_modified", "timestamp"),
            ("source_row", "bigint")]


def test_corrected_stored_versions_keep_their_attributes(engine):
    import dataclasses

    spec = dataclasses.replace(DIM_CUSTOMER, tracked_columns=("c_name", "c_address"))
    # The initial load has no effective time column at all (added as NULL in the events query).
    undated = feed([(1, "Ann", "Old Street", None), (2, "Bob", "Elm Road", None)]).drop_columns(["c_updated_at"])
    no_time = [c for c in UPSTREAM if c[0] != "c_updated_at"]
    process_history_batch(engine, spec, undated, no_time, 1)
    process_history_batch(engine, spec, feed([(1, "Ann", "New Avenue", dt.datetime(2025, 1, 1))]), UPSTREAM, 2)
    # Arrives late: between the two stored versions, whose ends and starts are corrected in place.
    result = process_history_batch(engine, spec, feed([(1, "Ann", "Late Lane", dt.datetime(2024, 6, 1))]),
                                   UPSTREAM, 3)
    assert result.details == {"events": 1, "versions_added": 1, "versions_corrected": 1}
    rows = sorted(engine.read_table(spec.ref).to_pylist(), key=lambda r: r["dim_customer_id"])
    assert [(r["dim_customer_id"], r["c_custkey"], r["c_name"], r["c_address"], r["is_current"]) for r in rows] == [
        (1, 1, "Ann", "Old Street", False),
        (2, 2, "Bob", "Elm Road", True),
        (3, 1, "Ann", "New Avenue", True),
        (4, 1, "Ann", "Late Lane", False),
    ]
    assert rows[0]["end_date"] == rows[3]["start_date"]
    assert rows[3]["end_date"] == rows[2]["start_date"]
    assert "__from_stored" not in engine.read_table(spec.ref).column_names
    # A replay of the last batch is skipped by its app transaction.
    assert process_history_batch(engine, spec, feed([(1, "Ann", "Late Lane", dt.datetime(2024, 6, 1))]),
                                 UPSTREAM, 3).skipped_as_replay


def silver_feed(rows):
    """A silver change feed of customers: (key, name, address, day silver wrote it, commit version)."""
    return pa.table({
        "c_custkey": pa.array([r[0] for r in rows], pa.int64()), "c_name": [r[1] for r in rows],
        "c_address": [r[2] for r in rows],
        "date_added": pa.array([dt.datetime(2026, 1, r[3], tzinfo=dt.UTC) for r in rows], pa.timestamp("us", tz="UTC")),
        "_change_type": ["update_postimage"] * len(rows), "_commit_version": [r[4] for r in rows],
    })


SILVER_UPSTREAM = [("c_custkey", "bigint"), ("c_name", "string"), ("c_address", "string"),
                   ("date_added", "timestamp")]


def processing_time_spec(**options):
    import dataclasses

    from lakehouse.kinds.scd2.options import Scd2Options

    return dataclasses.replace(DIM_CUSTOMER, tracked_columns=("c_name", "c_address"), sequence_by=None,
                               options=Scd2Options(**options) if options else None)


def history(engine, spec):
    rows = sorted(engine.read_table(spec.ref).to_pylist(), key=lambda r: r["dim_customer_id"])
    return [(r["dim_customer_id"], r["c_custkey"], r["c_address"], r["start_date"].day, r["start_date"].year,
             r["end_date"] and r["end_date"].day, r["is_current"]) for r in rows]


def test_without_effective_time_versions_follow_commits_and_start_when_silver_wrote_them(engine):
    spec = processing_time_spec()
    process_history_batch(engine, spec, silver_feed([(1, "Ann", "Old Street", 1, 1), (2, "Bob", "Elm", 1, 1)]),
                          SILVER_UPSTREAM, 1)
    result = process_history_batch(engine, spec, silver_feed([
        (1, "Ann", "New Avenue", 2, 2), (1, "Ann", "Last Lane", 3, 3), (2, "Bob", "Elm", 3, 3)]), SILVER_UPSTREAM, 2)
    assert result.details == {"events": 3, "versions_added": 2, "versions_corrected": 1}
    # No low date declared: a key's first version starts when silver wrote it, too.
    assert history(engine, spec) == [
        (1, 1, "Old Street", 1, 2026, 2, False), (2, 2, "Elm", 1, 2026, None, True),
        (3, 1, "New Avenue", 2, 2026, 3, False), (4, 1, "Last Lane", 3, 2026, None, True),
    ]
    assert "is_inferred" in engine.read_table(spec.ref).column_names  # the one SCD2 layout


def test_a_declared_low_date_starts_first_versions_only(engine):
    spec = processing_time_spec(low_date="1900-01-01")
    process_history_batch(engine, spec, silver_feed([(1, "Ann", "Old Street", 1, 1)]), SILVER_UPSTREAM, 1)
    process_history_batch(engine, spec, silver_feed([(1, "Ann", "New Avenue", 2, 2)]), SILVER_UPSTREAM, 2)
    assert history(engine, spec) == [(1, 1, "Old Street", 1, 1900, 2, False), (2, 1, "New Avenue", 2, 2026, None, True)]


def test_without_a_low_date_a_taken_over_inferred_member_keeps_its_start(engine):
    spec = processing_time_spec()
    process_history_batch(engine, spec, silver_feed([(1, "Ann", "Old Street", 1, 1)]), SILVER_UPSTREAM, 1)
    # What a fact writes for a key the dimension lacks: valid from the fact's low date, linked from then on.
    member = engine.read_table(spec.ref).slice(0, 1).to_pylist()[0] | {
        "dim_customer_id": 2, "c_custkey": 9, "c_name": None, "c_address": None, "hash_value": None,
        "start_date": dt.datetime(1900, 1, 1, tzinfo=dt.UTC), "is_inferred": True}
    engine.append(spec.ref, pa.Table.from_pylist([member], schema=engine.read_table(spec.ref).schema),
                  Transaction("fact", 1), properties={}, evolve_schema=False)
    process_history_batch(engine, spec, silver_feed([(9, "Ivy", "Far Field", 2, 2)]), SILVER_UPSTREAM, 2)
    assert history(engine, spec)[1] == (2, 9, "Far Field", 1, 1900, None, True)
