"""Small builders shared by the catalog tests."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from lakehouse.config import Settings

REPO_CATALOG_SPEC = Path(__file__).resolve().parents[2] / "catalog"

CUSTOMER = pa.table({
    "c_custkey": pa.array([1, 2], pa.int64()),
    "c_name": ["Customer#1", "Customer#2"],
    "c_address": ["a", "b"],
    "c_nationkey": pa.array([1, 2], pa.int64()),
    "c_phone": ["1", "2"],
    "c_acctbal": pa.array([Decimal("10.50"), Decimal("-3.25")], pa.decimal128(15, 2)),
    "c_mktsegment": ["BUILDING", "MACHINERY"],
    "c_comment": ["x", "y"],
})


def write_table(settings: Settings, schema: str, name: str, data: pa.Table = CUSTOMER, *,
                cdf: bool = False, mode: str = "error", schema_mode: str | None = None) -> str:
    """Write a Delta table at the warehouse contract's location and return that location."""
    location = settings.table_uri(schema, name)
    options = settings.s3.delta_storage_options() if location.startswith("s3://") else None
    write_deltalake(location, data, mode=mode, schema_mode=schema_mode, storage_options=options,
                    configuration={"delta.enableChangeDataFeed": "true"} if cdf else None)
    return location


def write_spec_tables(settings: Settings) -> None:
    """Delta tables for every table in the repository's catalog spec (customer pipeline columns)."""
    bronze = CUSTOMER.append_column("date_added", pa.array([datetime(2024, 1, 1, tzinfo=timezone.utc)] * 2))
    write_table(settings, "bronze", "customer_raw", bronze.append_column("source_filename", pa.array(["f.csv"] * 2)),
                cdf=True)
    write_table(settings, "silver", "customer", CUSTOMER.append_column("hash_value", pa.array(["a", "b"])), cdf=True)
    gold = CUSTOMER.append_column("dim_customer_id", pa.array([1, 2], pa.int64()))
    for column, values in (("start_date", [date(2024, 1, 1)] * 2), ("end_date", [None, None]), ("is_current", [True, True])):
        gold = gold.append_column(column, pa.array(values, pa.date32() if column.endswith("date") else None))
    write_table(settings, "gold", "dim_customer", gold)
