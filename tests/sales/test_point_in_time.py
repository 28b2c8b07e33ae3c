"""Customer history on the business timeline, and the fact keys that follow it."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from lakehouse.ops.inspection import Inspector
from tests.sales.sales_data import customer, land_customer_changes, land_initial

LOW = datetime(1900, 1, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def history(lake, key: int) -> list[tuple]:
    rows = [r for r in lake.rows("gold.dim_customer", "start_date", "dim_customer_id") if r["c_custkey"] == key]
    return [(r["dim_customer_id"], r["c_address"], r["start_date"], r["end_date"], r["is_current"]) for r in rows]


def fact_links(lake) -> dict[tuple[int, int], int]:
    return {(r["order_key"], r["line_number"]): r["dim_customer_id"] for r in lake.table("gold.fact_sales").to_pylist()}


def test_orders_link_to_the_customer_version_valid_on_the_order_date(lake):
    land_initial(lake)
    lake.run()
    assert history(lake, 1) == [(1, "Old Street 1", LOW, None, True)]
    assert fact_links(lake) == {(10, 1): 1, (10, 2): 1, (11, 1): 1, (12, 1): 2, (13, 1): 3}

    # The customer moved on 2024-06-01: order 10 (2024-03-01) was placed before, order 11 (2024-09-01) after.
    land_customer_changes(lake, "customer_changes_0001.csv", [customer(1, "New Avenue 9", "2024-06-01 00:00:00")])
    report = lake.run()
    assert history(lake, 1) == [
        (1, "Old Street 1", LOW, at("2024-06-01"), False),
        (4, "New Avenue 9", at("2024-06-01"), None, True),
    ]
    assert fact_links(lake) == {(10, 1): 1, (10, 2): 1, (11, 1): 4, (12, 1): 2, (13, 1): 3}
    written = {t.table: t.rows_written for t in report.tables}
    assert written["gold.fact_sales"] == 1, "only order 11's line is re-pointed"


def test_a_change_arriving_out_of_order_is_placed_in_its_position_in_history(lake):
    land_initial(lake)
    lake.run()
    land_customer_changes(lake, "customer_changes_0001.csv", [customer(1, "New Avenue 9", "2024-06-01 00:00:00")])
    lake.run()
    land_customer_changes(lake, "customer_changes_0002.csv", [customer(1, "Third Road", "2025-01-01 00:00:00")])
    lake.run()
    # Effective 2024-07-01, but it arrives after the 2025 change.
    land_customer_changes(lake, "customer_changes_0003.csv", [customer(1, "Late Lane", "2024-07-01 00:00:00")])
    lake.run()

    assert history(lake, 1) == [
        (1, "Old Street 1", LOW, at("2024-06-01"), False),
        (4, "New Avenue 9", at("2024-06-01"), at("2024-07-01"), False),
        (6, "Late Lane", at("2024-07-01"), at("2025-01-01"), False),
        (5, "Third Road", at("2025-01-01"), None, True),
    ]
    # Silver keeps the newest by effective time: the late change did not overwrite it.
    silver = {r["c_custkey"]: r["c_address"] for r in lake.table("silver.customer").to_pylist()}
    assert silver[1] == "Third Road"
    # Order 11 (2024-09-01) falls in the late version's interval.
    assert fact_links(lake)[(11, 1)] == 6
    assert fact_links(lake)[(10, 1)] == 1


def test_a_late_event_equal_to_the_next_version_moves_its_start_back(lake):
    land_initial(lake)
    lake.run()
    land_customer_changes(lake, "customer_changes_0001.csv", [customer(1, "New Avenue 9", "2024-08-01 00:00:00")])
    lake.run()
    # The same address was in fact effective earlier: no new version, the existing one starts sooner.
    land_customer_changes(lake, "customer_changes_0002.csv", [customer(1, "New Avenue 9", "2024-06-01 00:00:00")])
    lake.run()
    assert history(lake, 1) == [
        (1, "Old Street 1", LOW, at("2024-06-01"), False),
        (4, "New Avenue 9", at("2024-06-01"), None, True),
    ]


def test_a_late_arriving_customer_gets_an_inferred_member_completed_in_place(lake):
    land_initial(lake)
    lake.run()
    inferred = [r for r in lake.table("gold.dim_customer").to_pylist() if r["c_custkey"] == 3]
    assert [(r["dim_customer_id"], r["c_name"], r["c_address"], r["is_inferred"], r["is_current"], r["start_date"],
             r["end_date"]) for r in inferred] == [(3, None, None, True, True, LOW, None)]
    assert fact_links(lake)[(13, 1)] == 3
    fact_version = lake.version("gold.fact_sales")

    land_customer_changes(lake, "customer_changes_0001.csv", [customer(3, "Arrival Street 3", "2024-01-01 00:00:00")])
    lake.run()
    rows = [r for r in lake.table("gold.dim_customer").to_pylist() if r["c_custkey"] == 3]
    assert [(r["dim_customer_id"], r["c_name"], r["c_address"], r["is_inferred"], r["is_current"], r["start_date"],
             r["end_date"]) for r in rows] == [(3, "Customer#3", "Arrival Street 3", False, True, LOW, None)]
    assert fact_links(lake)[(13, 1)] == 3, "the fact keeps its link; the row behind it is now complete"
    assert lake.version("gold.fact_sales") == fact_version, "nothing in the fact had to change"
    assert lake.table("gold.dim_customer").num_rows == 3


def test_a_change_stamped_before_the_initial_load_took_effect_is_late(lake):
    """The landing's initial load has no c_updated_at and took effect on 2024-01-01: a change stamped
    2023-12-30 that arrives afterwards is older than it (the landing's out-of-order case in batch 1)."""
    land_initial(lake)
    lake.run()
    land_customer_changes(lake, "customer_changes_0001.csv", [customer(1, "Earlier Street", "2023-12-30 00:00:00")])
    report = lake.run()
    assert {t.table: t.rows_written for t in report.tables}["silver.customer"] == 0
    assert history(lake, 1) == [
        (4, "Earlier Street", LOW, at("2024-01-01"), False),
        (1, "Old Street 1", at("2024-01-01"), None, True),
    ]
    # Orders of 2024 were placed after 2024-01-01: they keep the initial version.
    assert fact_links(lake)[(10, 1)] == 1


def test_the_undated_effective_time_is_the_landing_contract():
    from lakehouse.landing.state import INITIAL_EFFECTIVE_TIME, format_time
    from lakehouse.spec.pipelines import CUSTOMER_UNDATED_EFFECTIVE_TIME

    assert format_time(INITIAL_EFFECTIVE_TIME) == CUSTOMER_UNDATED_EFFECTIVE_TIME


def test_validate_checks_the_fact_links_and_catches_a_wrong_one(lake):
    import pyarrow.compute as pc
    from deltalake import write_deltalake

    from lakehouse.spec import get_pipeline

    land_initial(lake)
    lake.run()
    land_customer_changes(lake, "customer_changes_0001.csv", [customer(1, "New Avenue 9", "2024-06-01 00:00:00")])
    lake.run()
    inspector = Inspector(lake.settings, lake.storage)
    checked, violations = inspector.validate(get_pipeline("tpch"))
    assert any(c.startswith("gold.fact_sales") for c in checked)
    assert violations == []
    # Point order 10 (placed 2024-03-01, before the move) at the customer's new version.
    fact = lake.table("gold.fact_sales")
    wrong = pc.if_else(pc.equal(fact["order_key"], 10), pa.scalar(4, pa.int64()), fact["dim_customer_id"])
    fact = fact.set_column(fact.schema.get_field_index("dim_customer_id"), "dim_customer_id", wrong)
    write_deltalake(f"{lake.settings.warehouse}/gold/fact_sales", fact, mode="overwrite")
    _, violations = inspector.validate(get_pipeline("tpch"))
    assert {(v.table, v.rule) for v in violations} == {("gold.fact_sales", "point-in-time dimension key")}
    assert len(violations) == 2 and all("order_key=10" in v.detail for v in violations)
