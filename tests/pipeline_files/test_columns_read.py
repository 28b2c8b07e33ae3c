"""Which upstream columns a table reads, for the check against written tables (spec/files/columns.py)."""

from __future__ import annotations

from lakehouse.spec.files.columns import columns_read, missing_columns
from lakehouse.spec.model import TableRef
from lakehouse.spec.pipelines import CUSTOMER, CUSTOMER_RAW, DIM_CUSTOMER
from lakehouse.spec.sales import FACT_SALES

ORDERS, LINEITEM, DIM = TableRef("silver", "orders"), TableRef("silver", "lineitem"), TableRef("gold", "dim_customer")


def test_an_scd_table_reads_its_keys_from_its_upstream():
    assert columns_read(CUSTOMER) == {CUSTOMER_RAW.ref: [("keys", "c_custkey")]}
    assert columns_read(DIM_CUSTOMER) == {CUSTOMER_RAW.ref: [("keys", "c_custkey")]}
    assert columns_read(CUSTOMER_RAW) == {}


def test_the_fact_reads_join_keys_and_expression_columns_from_each_input():
    read = columns_read(FACT_SALES)
    assert read[ORDERS][:3] == [("header.key", "o_orderkey"), ("dimension.fact_key", "o_custkey"),
                                ("dimension.as_of", "o_orderdate")]
    assert ("columns", "o_orderstatus") in read[ORDERS] and ("columns", "l_shipdate") not in read[ORDERS]
    assert read[LINEITEM][0] == ("lines.header_key", "l_orderkey") and ("columns", "l_discount") in read[LINEITEM]
    assert read[DIM] == [("dimension.business_key", "c_custkey"), ("dimension.surrogate_key", "dim_customer_id")]


def test_missing_columns_skips_tables_not_written_yet():
    columns = {ORDERS: ["o_orderkey", "o_custkey", "o_orderdate", "o_orderstatus", "o_orderpriority"],
               LINEITEM: None}
    found = missing_columns(FACT_SALES, columns.get)
    assert found == []
    columns[ORDERS] = ["o_orderkey", "o_orderdate", "o_orderstatus", "o_orderpriority"]
    assert [(field, column) for field, column, _, _ in missing_columns(FACT_SALES, columns.get)] == [
        ("dimension.fact_key", "o_custkey")]
