"""The shipped pipelines as they were declared in Python before they became YAML files (spec/sales.py
and spec/pipelines.py at f614afa), kept as the reference the loaded files must equal."""

from __future__ import annotations

from lakehouse.kinds.fact.options import DimensionLookup, FactColumn, FactRules
from lakehouse.kinds.scd1.options import Scd1Options
from lakehouse.kinds.scd2.options import DEFAULT_LOW_DATE, Scd2Options
from lakehouse.spec.model import Kind, LandingSource, Pipeline, TableRef, TableSpec

MONEY = "decimal(15,2)"
DIM_CUSTOMER_REF = TableRef("gold", "dim_customer")

# Keys and money columns are hinted so a first file with odd values cannot mis-type them.
_SOURCES = {
    "nation": ({"n_nationkey": "bigint", "n_regionkey": "bigint"}, ("n_nationkey",)),
    "region": ({"r_regionkey": "bigint"}, ("r_regionkey",)),
    "part": ({"p_partkey": "bigint", "p_size": "bigint", "p_retailprice": MONEY}, ("p_partkey",)),
    "supplier": ({"s_suppkey": "bigint", "s_nationkey": "bigint", "s_acctbal": MONEY}, ("s_suppkey",)),
    "orders": (
        {"o_orderkey": "bigint", "o_custkey": "bigint", "o_totalprice": MONEY, "o_orderdate": "date",
         "o_shippriority": "bigint"},
        ("o_orderkey",),
    ),
    "lineitem": (
        {"l_orderkey": "bigint", "l_partkey": "bigint", "l_suppkey": "bigint", "l_linenumber": "bigint",
         "l_quantity": MONEY, "l_extendedprice": MONEY, "l_discount": MONEY, "l_tax": MONEY,
         "l_shipdate": "date", "l_commitdate": "date", "l_receiptdate": "date"},
        ("l_orderkey", "l_linenumber"),
    ),
}


def _bronze(table: str) -> TableSpec:
    hints, _ = _SOURCES[table]
    return TableSpec(
        ref=TableRef("bronze", f"{table}_raw"),
        kind=Kind.APPEND_INGEST,
        source=LandingSource(name=table, folder=table, schema_hints=hints),
        change_data_feed=True,
    )


def _silver(table: str, bronze: TableSpec) -> TableSpec:
    _, keys = _SOURCES[table]
    return TableSpec(
        ref=TableRef("silver", table),
        kind=Kind.SCD1_UPSERT,
        upstream=(bronze.ref,),
        keys=keys,
        change_data_feed=True,
        # Sorted by key on first write, so a later MERGE of a few keys rewrites few files.
        cluster_by=keys,
    )


BRONZE = {table: _bronze(table) for table in _SOURCES}
SILVER = {table: _silver(table, BRONZE[table]) for table in _SOURCES}

FACT_SALES = TableSpec(
    ref=TableRef("gold", "fact_sales"),
    kind=Kind.FACT,
    upstream=(SILVER["orders"].ref, SILVER["lineitem"].ref, DIM_CUSTOMER_REF),
    keys=("order_key", "line_number"),
    cluster_by=("order_key", "line_number"),
    options=FactRules(
        header=SILVER["orders"].ref,
        header_key="o_orderkey",
        lines=SILVER["lineitem"].ref,
        line_header_key="l_orderkey",
        dimension=DimensionLookup(
            table=DIM_CUSTOMER_REF,
            surrogate_key="dim_customer_id",
            business_key="c_custkey",
            fact_key="o_custkey",
            as_of="o_orderdate",
            output="dim_customer_id",
            low_date=DEFAULT_LOW_DATE,
        ),
        columns=(
            FactColumn("order_key", "l.l_orderkey", "bigint"),
            FactColumn("line_number", "l.l_linenumber", "bigint"),
            FactColumn("customer_key", "h.o_custkey", "bigint"),
            FactColumn("part_key", "l.l_partkey", "bigint"),
            FactColumn("supplier_key", "l.l_suppkey", "bigint"),
            FactColumn("order_date", "h.o_orderdate", "date"),
            FactColumn("order_date_key",
                       "year(h.o_orderdate) * 10000 + month(h.o_orderdate) * 100 + day(h.o_orderdate)",
                       "int"),
            FactColumn("ship_date", "l.l_shipdate", "date"),
            FactColumn("order_status", "h.o_orderstatus", "string"),
            FactColumn("order_priority", "h.o_orderpriority", "string"),
            FactColumn("quantity", "l.l_quantity", MONEY),
            FactColumn("extended_price", "l.l_extendedprice", MONEY),
            FactColumn("discount", "l.l_discount", MONEY),
            FactColumn("tax", "l.l_tax", MONEY),
            # Four decimals: price (2) times (1 - discount) (2) is exact at scale 4.
            FactColumn("net_revenue", "l.l_extendedprice * (1 - l.l_discount)", "decimal(18,4)"),
        ),
    ),
)

SALES_TABLES = (
    *(BRONZE[t] for t in ("nation", "region", "part", "supplier", "orders", "lineitem")),
    *(SILVER[t] for t in ("nation", "region", "part", "supplier", "orders", "lineitem")),
)
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
