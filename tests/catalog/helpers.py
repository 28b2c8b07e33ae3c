"""Small builders shared by the catalog tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from deltalake import write_deltalake

from lakehouse.catalog.spec import load_catalog_spec
from lakehouse.core.config import Settings

REPO_CATALOG_SPEC = Path(__file__).resolve().parents[2] / "catalog"
CDF_PROPERTY = "delta.enableChangeDataFeed"
CUSTOMER_PIPELINE_TABLES = (("bronze", "customer_raw"), ("silver", "customer"), ("gold", "dim_customer"))

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
    """Delta tables for the customer pipeline's tables as the repository's catalog spec describes
    them: the TPC-H customer columns plus every other column the spec comments on (as text; the
    catalog does not care about values), Change Data Feed on where the spec says so. `apply` then
    registers them and has nothing left to report about them."""
    spec = load_catalog_spec(REPO_CATALOG_SPEC)
    for schema, name in CUSTOMER_PIPELINE_TABLES:
        entry = spec.table(schema, name)
        data = CUSTOMER
        for column in entry.column_comments:
            if column not in data.column_names:
                data = data.append_column(column, pa.array(["x"] * data.num_rows))
        write_table(settings, schema, name, data, cdf=entry.properties.get(CDF_PROPERTY) == "true")


# Two TPC-H customers as a landed CSV file: enough for the customer pipeline to create its tables.
CUSTOMER_CSV = (
    "c_custkey,c_name,c_address,c_nationkey,c_phone,c_acctbal,c_mktsegment,c_comment\n"
    "1,Customer#000000001,IVhzIApeRb,15,25-989-741-2988,711.56,BUILDING,regular deposits\n"
    "2,Customer#000000002,XSTf4NCwDVaW,13,23-768-687-3665,121.65,AUTOMOBILE,furiously final\n"
)


def land_customer_csv(landing: Path, name: str = "customer.1.csv", text: str = CUSTOMER_CSV) -> None:
    """Land a customer CSV file under a local landing folder."""
    (landing / "customer").mkdir(parents=True, exist_ok=True)
    (landing / "customer" / name).write_text(text)
