"""`lakehouse validate` on tables broken by hand: each kind's invariants, and exactly what they report."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.ops.inspection import Inspector
from lakehouse.spec import get_pipeline

UTC = dt.UTC


def at(year: int, month: int = 1, day: int = 1) -> dt.datetime:
    return dt.datetime(year, month, day, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "wh"), env={})


def write(settings: Settings, name: str, columns: dict[str, pa.Array]) -> None:
    schema, table = name.split(".")
    write_deltalake(f"{settings.warehouse}/{schema}/{table}", pa.table(columns))


def dimension(rows: list[tuple[int | None, int, dt.datetime | None, dt.datetime | None, bool | None]]) -> dict:
    ids, keys, starts, ends, current = zip(*rows, strict=True)
    ts = pa.timestamp("us", tz="UTC")
    return {"dim_customer_id": pa.array(ids, pa.int64()), "c_custkey": pa.array(keys, pa.int64()),
            "start_date": pa.array(starts, ts), "end_date": pa.array(ends, ts),
            "is_current": pa.array(current, pa.bool_())}


def validate(settings: Settings, pipeline: str) -> tuple[list[str], list[dict[str, str]]]:
    checked, violations = Inspector(settings, Storage()).validate(get_pipeline(pipeline))
    # The order of violations within one check is not part of the contract.
    return checked, sorted((v.__dict__ for v in violations), key=lambda v: (v["table"], v["rule"], v["detail"]))


def test_the_customer_pipeline_invariants(settings):
    write(settings, "bronze.customer_raw", {"c_custkey": pa.array([1, 2], pa.int64()),
                                            "source_filename": pa.array(["s3://l/customer/a.csv"] * 2)})
    write(settings, "silver.customer", {"c_custkey": pa.array([1, 1, 2], pa.int64())})
    write(settings, "gold.dim_customer", dimension([
        (1, 1, at(2020), at(2021), False), (2, 1, at(2020, 6), None, True),  # overlap
        (3, 2, at(2020), None, True), (3, 2, at(2021), None, True),  # two current, one surrogate twice
        (4, 3, at(2020), None, False),  # the last version is not current
        (5, 4, at(2021), at(2020), False), (6, 4, at(2022), None, True),  # ends before it starts
        (7, 5, at(2020), at(2021), True),  # current but ended
    ]))
    checked, violations = validate(settings, "customer")
    assert checked == [
        "bronze.customer_raw: rows equal records landed in ingested files",
        "silver.customer: one row per key",
        "gold.dim_customer: one current row per key; intervals do not overlap; surrogate keys unique",
    ]
    dim = "gold.dim_customer"
    overlap = "intervals do not overlap"
    assert violations == [
        {"table": "bronze.customer_raw", "rule": "bronze rows equal rows landed",
         "detail": "s3://l/customer/a.csv: 2 row(s) in the table from a file no batch planned"},
        {"table": dim, "rule": overlap, "detail": "key c_custkey=1: [2020-01-01 00:00:00+00:00, "
         "2021-01-01 00:00:00+00:00) current=False next starts 2020-06-01 00:00:00+00:00"},
        {"table": dim, "rule": overlap, "detail": "key c_custkey=2: [2020-01-01 00:00:00+00:00, None) "
         "current=True next starts 2021-01-01 00:00:00+00:00"},
        {"table": dim, "rule": overlap,
         "detail": "key c_custkey=3: [2020-01-01 00:00:00+00:00, None) current=False next starts None"},
        {"table": dim, "rule": overlap, "detail": "key c_custkey=4: [2021-01-01 00:00:00+00:00, "
         "2020-01-01 00:00:00+00:00) current=False next starts 2022-01-01 00:00:00+00:00"},
        {"table": dim, "rule": overlap, "detail": "key c_custkey=5: [2020-01-01 00:00:00+00:00, "
         "2021-01-01 00:00:00+00:00) current=True next starts None"},
        {"table": dim, "rule": "one current row per key", "detail": "key c_custkey=2 has 2 rows"},
        {"table": dim, "rule": "surrogate key unique", "detail": "dim_customer_id=3 used 2 times"},
        {"table": "silver.customer", "rule": "one row per key", "detail": "key c_custkey=1 has 2 rows"},
    ]


def test_the_fact_invariants(settings):
    write(settings, "gold.dim_customer", dimension([
        (1, 1, at(1900), at(2020, 6), False), (2, 1, at(2020, 6), None, True), (3, 2, at(1900), None, True)]))
    write(settings, "gold.fact_sales", {
        "order_key": pa.array([10, 10, 11, 12, 13, 14], pa.int64()),
        "line_number": pa.array([1, 1, 1, 1, 1, 1], pa.int64()),
        "customer_key": pa.array([1, 1, 1, None, 2, 2], pa.int64()),
        "order_date": pa.array([dt.date(2020, 3, 1)] * 4 + [dt.date(2020, 5, 1)] * 2, pa.date32()),
        # 10: the version after the order date; 11: no such version; 12: no member; 13: fine;
        # 14: another member's version.
        "dim_customer_id": pa.array([2, 2, 99, None, 3, 1], pa.int64()),
    })
    checked, violations = validate(settings, "sales")
    assert checked == [
        "gold.fact_sales: one row per key; each dimension key is the version valid at the row's date"]
    fact, rule = "gold.fact_sales", "point-in-time dimension key"
    assert violations == [
        {"table": fact, "rule": "one row per key", "detail": "key order_key=10, line_number=1 has 2 rows"},
        *[{"table": fact, "rule": rule, "detail": "key order_key=10, line_number=1: dim_customer_id=2 for "
           "customer_key=1 at 2020-03-01, but that version is member 1 valid [2020-06-01 00:00:00+00:00, None)"}] * 2,
        {"table": fact, "rule": rule, "detail": "key order_key=11, line_number=1: dim_customer_id=99 for "
         "customer_key=1 at 2020-03-01, but that version is member None valid [None, None)"},
        {"table": fact, "rule": rule, "detail": "key order_key=14, line_number=1: dim_customer_id=1 for "
         "customer_key=2 at 2020-05-01, but that version is member 1 valid "
         "[1900-01-01 00:00:00+00:00, 2020-06-01 00:00:00+00:00)"},
    ]


def test_without_tables_nothing_is_checked(settings):
    assert validate(settings, "tpch") == ([], [])


def test_a_null_is_a_violation_not_a_pass(settings):
    write(settings, "bronze.customer_raw", {"c_custkey": pa.array([1], pa.int64()),
                                            "source_filename": pa.array([None], pa.string())})
    write(settings, "gold.dim_customer", dimension([
        (1, 1, None, None, True),  # no start
        (2, 2, at(2020), None, None),  # neither current nor not
        (None, 3, at(2020), None, True),  # no surrogate key
    ]))
    _, violations = validate(settings, "customer")
    dim, overlap = "gold.dim_customer", "intervals do not overlap"
    assert violations == [
        {"table": "bronze.customer_raw", "rule": "bronze rows equal rows landed",
         "detail": "1 row(s) in the table without a source_filename"},
        {"table": dim, "rule": overlap, "detail": "key c_custkey=1: [None, None) current=True next starts None"},
        {"table": dim, "rule": overlap,
         "detail": "key c_custkey=2: [2020-01-01 00:00:00+00:00, None) current=None next starts None"},
        {"table": dim, "rule": "surrogate key unique", "detail": "dim_customer_id=None used 1 times"},
    ]


def test_a_fact_row_linked_to_a_version_without_member_or_start_is_caught(settings):
    write(settings, "gold.dim_customer", dimension([(1, None, at(1900), None, True), (2, 2, None, None, True)]))
    write(settings, "gold.fact_sales", {
        "order_key": pa.array([10, 11], pa.int64()), "line_number": pa.array([1, 1], pa.int64()),
        "customer_key": pa.array([1, 2], pa.int64()),
        "order_date": pa.array([dt.date(2020, 3, 1)] * 2, pa.date32()),
        "dim_customer_id": pa.array([1, 2], pa.int64()),
    })
    _, violations = validate(settings, "sales")
    assert [v["detail"] for v in violations] == [
        "key order_key=10, line_number=1: dim_customer_id=1 for customer_key=1 at 2020-03-01, but that version "
        "is member None valid [1900-01-01 00:00:00+00:00, None)",
        "key order_key=11, line_number=1: dim_customer_id=2 for customer_key=2 at 2020-03-01, but that version "
        "is member 2 valid [None, None)",
    ]
