"""The pipelines this project ships: TPC-H customer, sales (orders/lineitem -> fact) and tpch (both)."""

from __future__ import annotations

from lakehouse.core.errors import ConfigError
from lakehouse.kinds.scd1.options import Scd1Options
from lakehouse.kinds.scd2.options import DEFAULT_LOW_DATE, Scd2Options
from lakehouse.spec.model import Kind, LandingSource, Pipeline, TableRef, TableSpec
from lakehouse.spec.sales import DIM_CUSTOMER_REF, FACT_SALES, SALES_TABLES

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
# Change batches made with `lakehouse landing changes --effective-time` carry when a change took
# effect; the initial TPC-H load has no such column (its rows count as valid since the low date).
CUSTOMER_EFFECTIVE_TIME = "c_updated_at"
# The landing contract (landing/state.py INITIAL_EFFECTIVE_TIME): the initial load, which has no
# c_updated_at, took effect at this time; change batches are stamped after it (or, out of order, before).
CUSTOMER_UNDATED_EFFECTIVE_TIME = "2024-01-01 00:00:00"

CUSTOMER_SOURCE = LandingSource(
    name="customer",
    folder="customer",
    schema_hints={"c_custkey": "bigint", "c_nationkey": "bigint", "c_acctbal": "decimal(15,2)",
                  CUSTOMER_EFFECTIVE_TIME: "timestamp"},
)

CUSTOMER_RAW = TableSpec(
    ref=TableRef("bronze", "customer_raw"),
    kind=Kind.APPEND_INGEST,
    source=CUSTOMER_SOURCE,
    change_data_feed=True,
)

CUSTOMER = TableSpec(
    ref=TableRef("silver", "customer"),
    kind=Kind.SCD1_UPSERT,
    upstream=(CUSTOMER_RAW.ref,),
    keys=("c_custkey",),
    tracked_columns=CUSTOMER_COLUMNS[1:],
    # The newest change by effective time wins; an older one arriving late does not overwrite it.
    sequence_by=CUSTOMER_EFFECTIVE_TIME,
    change_data_feed=True,
    cluster_by=("c_custkey",),
    options=Scd1Options(undated_effective_time=CUSTOMER_UNDATED_EFFECTIVE_TIME),
)

DIM_CUSTOMER = TableSpec(
    ref=DIM_CUSTOMER_REF,
    kind=Kind.SCD2_FROM_CHANGES,
    # With effective time the dimension is fed every change event (bronze's feed), not silver's:
    # silver rightly ignores a change older than its current row, but history must still get it.
    # See docs/sales.md.
    upstream=(CUSTOMER_RAW.ref,),
    keys=("c_custkey",),
    tracked_columns=CUSTOMER_COLUMNS[1:],
    sequence_by=CUSTOMER_EFFECTIVE_TIME,
    surrogate_key="dim_customer_id",
    # gold.fact_sales follows it: a corrected history can re-point an order to another version.
    change_data_feed=True,
    cluster_by=("c_custkey",),
    # Declared: a customer's first version is valid from the low date, so an order older than the
    # first recorded change (TPC-H orders are from 1992-1998) still finds a version.
    options=Scd2Options(low_date=DEFAULT_LOW_DATE, undated_effective_time=CUSTOMER_UNDATED_EFFECTIVE_TIME),
)

CUSTOMER_PIPELINE = Pipeline(
    name="customer",
    tables=(CUSTOMER_RAW, CUSTOMER, DIM_CUSTOMER),
    description="landing/customer -> bronze.customer_raw -> silver.customer -> gold.dim_customer",
)

SALES_PIPELINE = Pipeline(
    name="sales",
    tables=(*SALES_TABLES, FACT_SALES),
    description="landing/{nation,region,part,supplier,orders,lineitem} -> bronze -> silver -> gold.fact_sales "
                "(needs gold.dim_customer from the customer pipeline)",
)

# Everything in dependency order: gold.dim_customer exists before gold.fact_sales looks customers up.
TPCH_PIPELINE = Pipeline(
    name="tpch",
    tables=(*CUSTOMER_PIPELINE.tables, *SALES_TABLES, FACT_SALES),
    description="the customer and sales pipelines in one run",
)

PIPELINES: dict[str, Pipeline] = {p.name: p for p in (CUSTOMER_PIPELINE, SALES_PIPELINE, TPCH_PIPELINE)}


def get_pipeline(name: str) -> Pipeline:
    try:
        return PIPELINES[name]
    except KeyError:
        raise ConfigError(
            f"Unknown pipeline '{name}'.", hint="valid pipelines: " + ", ".join(sorted(PIPELINES))
        ) from None
