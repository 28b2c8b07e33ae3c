"""A fact dated at or after its customer's delete (docs/cdc.md, facts): gold.dim_customer with
apply_as_deletes, and orders before the delete, in the gap after it, and after the key's new insert."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lakehouse.kinds.fact import sql as fact_sql
from lakehouse.runtime.runner import Runner
from lakehouse.spec import get_pipeline
from lakehouse.spec.model import Pipeline
from lakehouse.spec.sales import DIM_CUSTOMER_REF, FACT_SALES
from tests.sales.sales_data import (
    CUSTOMER_DATED_HEADER,
    LINEITEM_HEADER,
    LINES,
    ORDERS,
    ORDERS_HEADER,
    customer,
    line,
)
from tests.spark.conftest import duck_engine, settings, spark  # noqa: F401  (the one shared session)
from tests.spark.parity import assert_same_rows, both

HEADER = CUSTOMER_DATED_HEADER + ",op"
LOW = datetime(1900, 1, 1, tzinfo=UTC)
FACT_KEYS = FACT_SALES.keys


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def with_customer_deletes() -> Pipeline:
    tpch = get_pipeline("tpch")
    tables = tuple(replace(spec, apply_as_deletes="op = 'D'", except_column_list=("op",))
                   if spec.ref == DIM_CUSTOMER_REF else spec for spec in tpch.tables)
    return Pipeline(tpch.name, tables)


def run(lake) -> dict[str, int]:
    report = Runner(lake.settings, lake.storage).run(with_customer_deletes())
    return {t.table: t.rows_written for t in report.tables}


def versions(lake, key: int) -> dict[str, tuple]:
    """Customer `key`'s versions by address: (surrogate, start, end, inferred)."""
    return {r["c_address"]: (r["dim_customer_id"], r["start_date"], r["end_date"], bool(r.get("is_inferred")))
            for r in lake.rows("gold.dim_customer", "dim_customer_id") if r["c_custkey"] == key}


def links(lake) -> dict[tuple[int, int], int | None]:
    return {(r["order_key"], r["line_number"]): r["dim_customer_id"] for r in lake.table("gold.fact_sales").to_pylist()}


def order(key: int, date: str) -> str:
    return f"{key},1,O,10.00,{date},3-MEDIUM,Clerk#9,0,order {key}"


def test_a_fact_dated_after_the_delete_links_to_the_version_the_delete_closed(lake):
    lake.land("customer", "customer_0001.csv", HEADER,
              [customer(1, "Old Street 1", None) + ",I", customer(2, "Lane 2", None) + ",I"])
    lake.land("orders", "orders_0001.csv", ORDERS_HEADER, ORDERS)
    lake.land("lineitem", "lineitem_0001.csv", LINEITEM_HEADER, LINES)
    run(lake)
    first = versions(lake, 1)["Old Street 1"][0]
    assert links(lake)[(11, 1)] == first

    # Deleted on 2024-06-01: order 10 (2024-03-01) is inside the closed interval, order 11 (2024-09-01) after it.
    lake.land("customer", "customer_0002.csv", HEADER, [customer(1, "Old Street 1", "2024-06-01 00:00:00") + ",D"])
    written = run(lake)
    assert versions(lake, 1) == {"Old Street 1": (first, LOW, at("2024-06-01"), False)}
    assert written["gold.fact_sales"] == 0, "order 11 is looked at again and keeps its link"
    assert links(lake)[(10, 1)] == links(lake)[(11, 1)] == first

    # A new order in the gap links to the closed version too, and no member is inferred for a known key.
    lake.land("orders", "orders_0002.csv", ORDERS_HEADER, [order(14, "2024-07-01")])
    lake.land("lineitem", "lineitem_0002.csv", LINEITEM_HEADER, [line(14, 1, "1", "10.00", "0.00", "0.00")])
    run(lake)
    assert links(lake)[(14, 1)] == first and len(versions(lake, 1)) == 1

    # Inserted again on 2025-01-01: a later order links to the new version; the gap's orders stay.
    lake.land("customer", "customer_0003.csv", HEADER, [customer(1, "Return Road", "2025-01-01 00:00:00") + ",I"])
    lake.land("orders", "orders_0003.csv", ORDERS_HEADER, [order(15, "2025-02-01")])
    lake.land("lineitem", "lineitem_0003.csv", LINEITEM_HEADER, [line(15, 1, "1", "10.00", "0.00", "0.00")])
    run(lake)
    returned = versions(lake, 1)["Return Road"][0]
    assert {k: v for k, v in links(lake).items() if k[0] in (10, 11, 14, 15)} == {
        (10, 1): first, (10, 2): first, (11, 1): first, (14, 1): first, (15, 1): returned}

    # A late change older than the delete splits the closed interval: the gap's orders follow the
    # version now current before the delete, though the changed ranges end at the delete.
    lake.land("customer", "customer_0004.csv", HEADER, [customer(1, "Late Lane", "2024-04-01 00:00:00") + ",U"])
    written = run(lake)
    late = versions(lake, 1)["Late Lane"]
    assert late[1:3] == (at("2024-04-01"), at("2024-06-01"))
    assert {k: v for k, v in links(lake).items() if k[0] in (10, 11, 14, 15)} == {
        (10, 1): first, (10, 2): first, (11, 1): late[0], (14, 1): late[0], (15, 1): returned}
    assert written["gold.fact_sales"] == 2


@pytest.mark.spark
def test_the_gap_after_a_delete_is_linked_and_re_pointed_alike_on_spark(spark, duck_engine):  # noqa: F811
    """The two queries behind the behaviour above, on a dimension with a delete's gap, in both dialects."""
    from tests.spark.test_fact_parity import (
        DIMENSION_COLUMNS,
        HEADER_COLUMNS,
        HEADERS,
        LINE_COLUMNS,
        LINES,
        RULES,
        day,
        run_both,
    )

    # Key 1: version 1 until 1996-06, deleted 1996-06 .. 1997-01, version 4 from 1997-01 (re-inserted).
    dimension = [(1, 1, LOW, day(1996, 6)), (4, 1, day(1997, 1), None)]
    views = {"headers": both(spark, HEADER_COLUMNS, HEADERS), "lines": both(spark, LINE_COLUMNS, LINES),
             "dimension": both(spark, DIMENSION_COLUMNS, dimension)}
    rows = run_both(spark, duck_engine, lambda d: fact_sql.fact_rows_sql(d, RULES, FACT_KEYS), views)
    names = rows[0].column_names
    linked = {(r[names.index("order_key")], r[names.index("dim_customer_id")]) for r in assert_same_rows(*rows)}
    # Order 10 (1995-03) is in version 1's interval; 11 (1997-06) after the re-insert; 13's member is unknown.
    assert linked == {(10, 1), (11, 4), (13, None)}

    headers = [(20, 1, "O", dt.date(1996, 8, 1), "3-MEDIUM")]
    views["headers"] = both(spark, HEADER_COLUMNS, headers)
    views["lines"] = both(spark, LINE_COLUMNS, [(20, *LINES[0][1:])])
    gap = run_both(spark, duck_engine, lambda d: fact_sql.fact_rows_sql(d, RULES, FACT_KEYS), views)
    assert [r[names.index("dim_customer_id")] for r in assert_same_rows(*gap)] == [1]

    range_columns = [(RULES.dimension.fact_key, "bigint"), ("__from", "timestamp"), ("__until", "timestamp")]
    views["ranges"] = both(spark, range_columns, [(1, day(1996, 1), day(1996, 6)), (1, day(1995, 1), day(1995, 6))])
    ranges = run_both(spark, duck_engine, lambda d: fact_sql.ranges_across_deletes_sql(d, RULES), views)
    naive = lambda value: value.replace(tzinfo=None)  # noqa: E731
    # The range ending at the delete reaches over the gap to the re-insert; the other is as it was.
    assert sorted(assert_same_rows(*ranges)) == [(1, naive(day(1995, 1)), naive(day(1995, 6))),
                                                 (1, naive(day(1996, 1)), naive(day(1997, 1)))]
