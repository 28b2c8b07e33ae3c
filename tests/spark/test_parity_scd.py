"""SCD1 dedup/change detection and the SCD2 history rebuild without effective time give identical rows on Spark
and DuckDB."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lakehouse.core.change_feed import CHANGE_TYPE, COMMIT_VERSION
from lakehouse.core.dialects import DUCKDB, SPARK
from lakehouse.core.hashing import row_hash
from lakehouse.kinds.scd1 import sql as scd1
from lakehouse.kinds.scd2 import history_sql as scd2_history
from lakehouse.kinds.scd2.sql import TARGET_ID
from lakehouse.spec.model import (
    DATE_ADDED,
    END_DATE,
    HASH_VALUE,
    IS_CURRENT,
    SOURCE_FILE_MODIFIED,
    SOURCE_FILENAME,
    SOURCE_ROW,
    START_DATE,
    Kind,
    TableRef,
    TableSpec,
)
from tests.spark.parity import assert_same_rows, both

pytestmark = pytest.mark.spark

UTC = dt.UTC
NOW = "2024-05-02T00:00:00+00:00"
BUSINESS = [("c_custkey", "bigint"), ("c_name", "string"), ("c_acctbal", "decimal(15,2)")]
SILVER = TableSpec(ref=TableRef("silver", "customer"), kind=Kind.SCD1_UPSERT, upstream=(TableRef("bronze", "raw"),),
                   keys=("c_custkey",), tracked_columns=("c_name", "c_acctbal"), change_data_feed=True)
GOLD = TableSpec(ref=TableRef("gold", "dim"), kind=Kind.SCD2_FROM_CHANGES, upstream=(SILVER.ref,),
                 keys=("c_custkey",), tracked_columns=("c_name", "c_acctbal"), surrogate_key="dim_id")


def at(day, hour=0):
    return dt.datetime(2024, 1, day, hour, tzinfo=UTC)


def h(name, balance):
    return row_hash([name, balance], ["string", "decimal(15,2)"])


CHANGE_COLUMNS = BUSINESS + [(SOURCE_FILENAME, "string"), (SOURCE_FILE_MODIFIED, "timestamp"),
                             (SOURCE_ROW, "bigint"), (COMMIT_VERSION, "bigint")]
CHANGES = [
    # Key 1: three rows across two files; the later file wins.
    (1, "a", Decimal("1.00"), "f1.csv", at(1), 2, 0),
    (1, "b", Decimal("2.00"), "f2.csv", at(2), 2, 0),
    (1, "c", Decimal("3.00"), "f1.csv", at(1), 3, 0),
    # Key 2: duplicates within one file; the later row wins.
    (2, "x", None, "f1.csv", at(1), 4, 0),
    (2, "y", Decimal("0.00"), "f1.csv", at(1), 5, 0),
    # Key 3: a later commit beats a later file time.
    (3, "old", Decimal("1.00"), "f9.csv", at(9), 2, 0),
    (3, "new", Decimal("1.00"), "f1.csv", at(1), 2, 1),
    # Same modification time: the later file name wins.
    (4, "", Decimal("-0.50"), "a.csv", at(3), 9, 0),
    (4, None, Decimal("-0.50"), "b.csv", at(3), 2, 0),
    # NULL keys are dropped; an unchanged key; a key whose stored hash is NULL.
    (None, "nokey", None, "f1.csv", at(1), 6, 0),
    (5, "same", Decimal("5.00"), "f1.csv", at(1), 7, 0),
    (6, "was-null-hash", Decimal("6.00"), "f1.csv", at(1), 8, 0),
]
TARGET = [(1, h("a", Decimal("1.00"))), (5, h("same", Decimal("5.00"))), (6, None), (7, h("gone", None))]


def test_dedup_and_changed_rows_match(spark, duck_engine, spark_engine):
    arrow, frame = both(spark, CHANGE_COLUMNS, CHANGES)
    duck_dedup = duck_engine.sql(scd1.dedup_sql(DUCKDB, SILVER, BUSINESS, NOW), {"changes": arrow})
    spark_dedup = spark_engine.sql(scd1.dedup_sql(SPARK, SILVER, BUSINESS, NOW), {"changes": frame})
    rows = assert_same_rows(duck_dedup, spark_dedup)
    winners = {row[0]: row[1] for row in rows}
    assert winners == {1: "b", 2: "y", 3: "new", 4: None, 5: "same", 6: "was-null-hash"}

    target_arrow, target_frame = both(spark, [("c_custkey", "bigint"), (HASH_VALUE, "string")], TARGET)
    duck_changed = duck_engine.sql(scd1.changed_rows_sql(DUCKDB, SILVER, "batch", "target"),
                                   {"batch": duck_dedup, "target": target_arrow})
    spark_changed = spark_engine.sql(scd1.changed_rows_sql(SPARK, SILVER, "batch", "target"),
                                     {"batch": spark_dedup, "target": target_frame})
    changed = assert_same_rows(duck_changed, spark_changed)
    # 5 is unchanged; 6 differs from a NULL stored hash (NULL-safe comparison), 2-4 are new.
    assert sorted(row[0] for row in changed) == [1, 2, 3, 4, 6]


FEED_COLUMNS = BUSINESS + [(HASH_VALUE, "string"), (DATE_ADDED, "timestamp"), (CHANGE_TYPE, "string"),
                           (COMMIT_VERSION, "bigint")]


def feed(key, name, balance, version, change_type="update_postimage"):
    # Silver writes commit n on day n + 1: a version starts at its processing time (date_added).
    return (key, name, balance, h(name, balance), at(version + 1), change_type, version)


FEED = [
    feed(10, "new", Decimal("1.00"), 1, "insert"),  # a new key: starts at its date_added, no low date
    feed(11, "changed", Decimal("2.00"), 1),  # a changed key
    feed(11, "before", Decimal("1.00"), 1, "update_preimage"),  # preimages carry no new state
    feed(12, "v1", Decimal("1.00"), 1),  # several versions in one batch, in commit order
    feed(12, "v2", Decimal("2.00"), 2),
    feed(12, "v3", Decimal("3.00"), 3),
    feed(13, "same", Decimal("1.00"), 1),  # unchanged: equal to the current row
    feed(14, "B", Decimal("1.00"), 1),  # A -> B -> A
    feed(14, "A", Decimal("1.00"), 2),
    feed(15, "again", None, 1),  # the same state twice in a row
    feed(15, "again", None, 2),
    feed(16, "x1", Decimal("1.00"), 1),  # back to an older stored state: a new version all the same
    feed(17, "arrived", Decimal("1.00"), 1, "insert"),  # takes over its inferred member
]
LOW = dt.datetime(1900, 1, 1, tzinfo=UTC)
DIM_COLUMNS = scd2_history.history_columns(GOLD, BUSINESS)
EXISTING = [
    (1, 11, "orig", Decimal("9.00"), h("orig", Decimal("9.00")), at(1), None, True, False),
    (2, 12, "v0", None, h("v0", None), at(1), None, True, False),
    (3, 13, "same", Decimal("1.00"), h("same", Decimal("1.00")), at(1), None, True, False),
    (4, 14, "A", Decimal("1.00"), h("A", Decimal("1.00")), at(1), None, True, False),
    (5, 16, "x1", Decimal("1.00"), h("x1", Decimal("1.00")), at(1), at(1, 12), False, False),
    (6, 16, "x2", Decimal("2.00"), h("x2", Decimal("2.00")), at(1, 12), None, True, False),
    (7, 17, None, None, None, LOW, None, True, True),
]


def test_processing_time_history_matches(spark, duck_engine, spark_engine):
    """Without sequence_by every event is undated: versions follow commit order and start at date_added."""
    changes_arrow, changes_frame = both(spark, FEED_COLUMNS, FEED)
    arrival = [COMMIT_VERSION]
    duck_events = duck_engine.sql(scd2_history.events_sql(DUCKDB, GOLD, BUSINESS, arrival, DATE_ADDED),
                                  {"changes": changes_arrow})
    spark_events = spark_engine.sql(scd2_history.events_sql(SPARK, GOLD, BUSINESS, arrival, DATE_ADDED),
                                    {"changes": changes_frame})
    existing_arrow, existing_frame = both(spark, DIM_COLUMNS, EXISTING)
    duck = duck_engine.sql(scd2_history.rebuild_sql(DUCKDB, GOLD, BUSINESS, 100),
                           {"events": duck_events, "existing": existing_arrow})
    sparks = spark_engine.sql(scd2_history.rebuild_sql(SPARK, GOLD, BUSINESS, 100),
                              {"events": spark_events, "existing": existing_frame})
    rows = assert_same_rows(duck, sparks)
    staged = {(r["dim_id"], r["c_custkey"], r["c_name"], r[START_DATE], r[END_DATE], r[IS_CURRENT], r[TARGET_ID])
              for r in (dict(zip(sparks.columns, row)) for row in rows)}
    n = lambda value: value.replace(tzinfo=None) if value else value  # noqa: E731
    assert staged == {
        (101, 10, "new", n(at(2)), None, True, None),
        (1, 11, "orig", n(at(1)), n(at(2)), False, 1), (102, 11, "changed", n(at(2)), None, True, None),
        (2, 12, "v0", n(at(1)), n(at(2)), False, 2), (103, 12, "v1", n(at(2)), n(at(3)), False, None),
        (104, 12, "v2", n(at(3)), n(at(4)), False, None), (105, 12, "v3", n(at(4)), None, True, None),
        (4, 14, "A", n(at(1)), n(at(2)), False, 4), (106, 14, "B", n(at(2)), n(at(3)), False, None),
        (107, 14, "A", n(at(3)), None, True, None),
        (108, 15, "again", n(at(2)), None, True, None),
        (6, 16, "x2", n(at(1, 12)), n(at(2)), False, 6), (109, 16, "x1", n(at(2)), None, True, None),
        # No low date declared: the taken-over inferred member keeps its start, so linked facts stay in it.
        (7, 17, "arrived", n(LOW), None, True, 7),
    }


@pytest.mark.parametrize("keys, expected", [([1, 2, 3], False), ([1, 2, 2], True), ([3, 1, 3], True),
                                            ([1, None, None], False)])
def test_duplicate_key_check_agrees_between_engines(spark, spark_engine, duck_engine, keys, expected):
    arrow, frame = both(spark, [("k", "bigint")], [(k,) for k in keys])
    assert duck_engine.has_duplicate_keys(arrow, ["k"]) is expected
    assert spark_engine.has_duplicate_keys(frame, ["k"]) is expected


def test_cluster_puts_rows_in_key_order_on_both_engines(spark, spark_engine, duck_engine):
    rows = [(3, "c"), (1, "a"), (2, "b")]
    arrow, frame = both(spark, [("k", "bigint"), ("v", "string")], rows)
    assert duck_engine.cluster(arrow, ["k"]).column("v").to_pylist() == ["a", "b", "c"]
    assert [r["v"] for r in spark_engine.cluster(frame, ["k"]).collect()] == ["a", "b", "c"]
