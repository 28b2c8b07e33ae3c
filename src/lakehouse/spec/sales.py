"""The sales tables: TPC-H orders, lineitem and the small tables, through bronze and silver, and
gold.fact_sales (one row per lineitem, customer resolved as of the order date).

Declared in lakehouse/pipelines/sales.yaml; these names are the loaded tables, for code that names them.
"""

from __future__ import annotations

from lakehouse.spec.files import shipped_pipelines
from lakehouse.spec.model import Kind, TableRef, TableSpec

MONEY = "decimal(15,2)"
DIM_CUSTOMER_REF = TableRef("gold", "dim_customer")

_SALES = shipped_pipelines()["sales"]
BRONZE: dict[str, TableSpec] = {spec.ref.name.removesuffix("_raw"): spec for spec in _SALES.tables
                                if spec.kind is Kind.APPEND_INGEST}
SILVER: dict[str, TableSpec] = {spec.ref.name: spec for spec in _SALES.tables if spec.ref.schema == "silver"}
FACT_SALES = _SALES.table("gold.fact_sales")
SALES_TABLES = tuple(spec for spec in _SALES.tables if spec.ref != FACT_SALES.ref)
