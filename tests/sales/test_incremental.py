"""Incremental fact loads: appends, updates, reconciliation with silver, idle reruns and replays."""

from __future__ import annotations

from decimal import Decimal

from tests.sales.sales_data import (
    LINEITEM_HEADER,
    ORDERS_HEADER,
    customer,
    land_customer_changes,
    land_initial,
    line,
)


def test_fact_measures_reconcile_with_silver(lake):
    land_initial(lake)
    lake.run()
    fact = lake.table("gold.fact_sales").to_pylist()
    lines = lake.table("silver.lineitem").to_pylist()
    assert len(fact) == len(lines) == 5
    assert sum(r["quantity"] for r in fact) == sum(r["l_quantity"] for r in lines) == Decimal("12.00")
    expected_revenue = sum(r["l_extendedprice"] * (1 - r["l_discount"]) for r in lines)
    # 100*0.90 + 20 + 200*0.95 + 50*0.80 + 30
    assert sum(r["net_revenue"] for r in fact) == expected_revenue == Decimal("370.0000")
    line_10_1 = next(r for r in fact if (r["order_key"], r["line_number"]) == (10, 1))
    assert (line_10_1["extended_price"], line_10_1["discount"], line_10_1["tax"], line_10_1["net_revenue"],
            str(line_10_1["order_date"]), line_10_1["order_date_key"], line_10_1["part_key"],
            line_10_1["supplier_key"], line_10_1["customer_key"]) == (
        Decimal("100.00"), Decimal("0.10"), Decimal("0.05"), Decimal("90.0000"), "2024-03-01", 20240301, 1001, 7, 1)


def test_new_orders_append_and_a_changed_order_updates_only_its_rows(lake):
    land_initial(lake)
    lake.run()
    before = {(r["order_key"], r["line_number"]): r for r in lake.table("gold.fact_sales").to_pylist()}
    lake.land("orders", "orders_changes_0001.csv", ORDERS_HEADER, [
        "10,1,F,125.00,2024-03-01,1-URGENT,Clerk#1,0,status and price changed",
        "14,2,O,80.00,2025-02-02,4-NOT SPECIFIED,Clerk#5,0,new order",
    ])
    lake.land("lineitem", "lineitem_changes_0001.csv", LINEITEM_HEADER, [
        line(10, 1, "2", "105.00", "0.10", "0.05"),
        line(14, 1, "4", "80.00", "0.00", "0.02"),
    ])
    report = lake.run()
    written = {t.table: t.rows_written for t in report.tables}
    # Order 10's two lines (status; line 1 also price) and order 14's new line.
    assert written["gold.fact_sales"] == 3
    after = {(r["order_key"], r["line_number"]): r for r in lake.table("gold.fact_sales").to_pylist()}
    assert sorted(after) == [(10, 1), (10, 2), (11, 1), (12, 1), (13, 1), (14, 1)]
    assert (after[(10, 1)]["order_status"], after[(10, 1)]["net_revenue"]) == ("F", Decimal("94.5000"))
    assert after[(10, 2)]["order_status"] == "F"
    assert (after[(14, 1)]["dim_customer_id"], after[(14, 1)]["net_revenue"]) == (2, Decimal("80.0000"))
    for untouched in ((11, 1), (12, 1), (13, 1)):
        assert after[untouched] == before[untouched]


def test_a_line_arriving_before_its_order_waits_for_it(lake):
    land_initial(lake)
    lake.run()
    lake.land("lineitem", "lineitem_changes_0001.csv", LINEITEM_HEADER, [line(15, 1, "1", "10.00", "0.00", "0.00")])
    lake.run()
    assert (15, 1) not in {(r["order_key"], r["line_number"]) for r in lake.table("gold.fact_sales").to_pylist()}
    lake.land("orders", "orders_changes_0001.csv", ORDERS_HEADER, ["15,2,O,10.00,2025-03-03,5-LOW,Clerk#6,0,late"])
    lake.run()
    fact = {(r["order_key"], r["line_number"]): r["dim_customer_id"] for r in lake.table("gold.fact_sales").to_pylist()}
    assert fact[(15, 1)] == 2


def test_an_idle_rerun_writes_nothing(lake):
    land_initial(lake)
    lake.run()
    land_customer_changes(lake, "customer_changes_0001.csv", [customer(1, "New Avenue 9", "2024-06-01 00:00:00")])
    lake.run()
    lake.run()  # settles the fact's follow-up of its own inferred-member commit
    versions = lake.versions()
    report = lake.run()
    assert all(t.batches == [] for t in report.tables)
    assert lake.versions() == versions


def test_a_replayed_batch_and_a_resent_change_add_nothing(lake):
    land_initial(lake)
    lake.run()
    land_customer_changes(lake, "customer_changes_0001.csv", [customer(1, "New Avenue 9", "2024-06-01 00:00:00")])
    lake.run()
    versions = lake.versions()
    dimension_rows = lake.table("gold.dim_customer").num_rows

    # As after a crash between the Delta commit and the offset log's commit: the batch is replayed.
    for table in ("gold.dim_customer", "gold.fact_sales"):
        lake.forget_last_commit(table)
    report = lake.run()
    replayed = {t.table: [b["skipped_as_replay"] for b in t.batches] for t in report.tables}
    assert replayed["gold.dim_customer"][0] is True
    assert replayed["gold.fact_sales"][0] is True
    assert lake.versions() == versions

    # The same change sent again in a new file: bronze keeps it, nothing downstream changes.
    land_customer_changes(lake, "customer_changes_0002.csv", [customer(1, "New Avenue 9", "2024-06-01 00:00:00")])
    report = lake.run()
    written = {t.table: t.rows_written for t in report.tables}
    assert (written["silver.customer"], written["gold.dim_customer"], written["gold.fact_sales"]) == (0, 0, 0)
    assert lake.table("gold.dim_customer").num_rows == dimension_rows
