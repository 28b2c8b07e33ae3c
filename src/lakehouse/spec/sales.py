"""The sales tables: TPC-H orders, lineitem and the small tables, through bronze and silver, and
gold.fact_sales (one row per lineitem, customer resolved as of the order date).

Defined here rather than in pipelines.py to keep each file readable; pipelines.py assembles them.
"""

from __future__ import annotations

from lakehouse.kinds.fact.options import DEFAULT_LOW_DATE, DimensionLookup, FactColumn, FactRules
from lakehouse.spec.model import Kind, LandingSource, TableRef, TableSpec

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
