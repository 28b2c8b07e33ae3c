"""The pipelines this project ships: TPC-H customer (and, with the sales fact, orders/lineitem)."""

from __future__ import annotations

from lakehouse.errors import ConfigError
from lakehouse.spec.model import Kind, LandingSource, Pipeline, TableRef, TableSpec

CUSTOMER_COLUMNS = (
    "c_custkey",
    "c_name",
    "c_address",
    "c_nationkey",
    "c_phone",
    "c_acctbal",
    "c_mktsegment",
    "c_comment",
)

CUSTOMER_SOURCE = LandingSource(
    name="customer",
    folder="customer",
    schema_hints={"c_custkey": "bigint", "c_nationkey": "bigint", "c_acctbal": "decimal(15,2)"},
)

CUSTOMER_RAW = TableSpec(
    ref=TableRef("bronze", "customer_raw"),
    kind=Kind.APPEND_INGEST,
    source=CUSTOMER_SOURCE,
    change_data_feed=True,
    comment="TPC-H customer rows as landed, one row per CSV line, with lineage columns.",
)

CUSTOMER = TableSpec(
    ref=TableRef("silver", "customer"),
    kind=Kind.SCD1_UPSERT,
    upstream=(CUSTOMER_RAW.ref,),
    keys=("c_custkey",),
    tracked_columns=CUSTOMER_COLUMNS[1:],
    change_data_feed=True,
    cluster_by=("c_custkey",),
    comment="Current customer, one row per c_custkey (3NF). Change Data Feed on.",
)

DIM_CUSTOMER = TableSpec(
    ref=TableRef("gold", "dim_customer"),
    kind=Kind.SCD2_FROM_CHANGES,
    upstream=(CUSTOMER.ref,),
    keys=("c_custkey",),
    tracked_columns=CUSTOMER_COLUMNS[1:],
    surrogate_key="dim_customer_id",
    cluster_by=("c_custkey",),
    comment="Customer dimension, SCD type 2, fed from silver.customer's change feed.",
)

CUSTOMER_PIPELINE = Pipeline(
    name="customer",
    tables=(CUSTOMER_RAW, CUSTOMER, DIM_CUSTOMER),
    description="landing/customer -> bronze.customer_raw -> silver.customer -> gold.dim_customer",
)

PIPELINES: dict[str, Pipeline] = {CUSTOMER_PIPELINE.name: CUSTOMER_PIPELINE}


def get_pipeline(name: str) -> Pipeline:
    try:
        return PIPELINES[name]
    except KeyError:
        raise ConfigError(
            f"Unknown pipeline '{name}'.", hint="valid pipelines: " + ", ".join(sorted(PIPELINES))
        ) from None
