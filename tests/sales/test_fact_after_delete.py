"""A fact dated at or after its customer's delete (docs/cdc.md, facts): gold.dim_customer with
apply_as_deletes, and orders before the delete, in the gap after it, and after the key's new insert."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from lakehouse.runtime.runner import Runner
from lakehouse.spec import get_pipeline
from lakehouse.spec.model import Pipeline
from lakehouse.spec.sales import DIM_CUSTOMER_REF
from tests.sales.sales_data import (
    CUSTOMER_DATED_HEADER,
    LINEITEM_HEADER,
    LINES,
    ORDERS,
    ORDERS_HEADER,
    customer,
    line,
)

HEADER = CUSTOMER_DATED_HEADER + ",op"
LOW = datetime(1900, 1, 1, tzinfo=UTC)


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
