"""The pipelines this project ships: TPC-H customer, sales (orders/lineitem -> fact) and tpch (both).

Declared in lakehouse/pipelines/*.yaml (docs/pipelines.md); these names are the loaded pipelines and
tables, for code that names them.
"""

from __future__ import annotations

from lakehouse.kinds.scd1.options import Scd1Options
from lakehouse.spec.files import shipped_pipelines
from lakehouse.spec.model import Pipeline
from lakehouse.spec.sales import FACT_SALES, SALES_TABLES

__all__ = ["CUSTOMER", "CUSTOMER_COLUMNS", "CUSTOMER_EFFECTIVE_TIME", "CUSTOMER_PIPELINE", "CUSTOMER_RAW",
           "CUSTOMER_UNDATED_EFFECTIVE_TIME", "DIM_CUSTOMER", "FACT_SALES", "PIPELINES", "SALES_PIPELINE",
           "SALES_TABLES", "TPCH_PIPELINE", "get_pipeline"]

PIPELINES: dict[str, Pipeline] = shipped_pipelines()
CUSTOMER_PIPELINE = PIPELINES["customer"]
SALES_PIPELINE = PIPELINES["sales"]
TPCH_PIPELINE = PIPELINES["tpch"]

CUSTOMER_RAW = CUSTOMER_PIPELINE.table("bronze.customer_raw")
CUSTOMER = CUSTOMER_PIPELINE.table("silver.customer")
DIM_CUSTOMER = CUSTOMER_PIPELINE.table("gold.dim_customer")


def _customer_contract() -> tuple[tuple[str, ...], str, str]:
    """The landed customer columns, the effective-time column change batches carry, and when the
    initial load (which has none) took effect: landing/ makes files that fit silver.customer."""
    undated = Scd1Options.of(CUSTOMER).undated_effective_time
    if CUSTOMER.tracked_columns is None or CUSTOMER.sequence_by is None or undated is None:
        raise RuntimeError("silver.customer in pipelines/customer.yaml lost its tracked columns, sequence_by "
                           "or undated_effective_time, which landing/ relies on")
    return (*CUSTOMER.keys, *CUSTOMER.tracked_columns), CUSTOMER.sequence_by, undated


CUSTOMER_COLUMNS, CUSTOMER_EFFECTIVE_TIME, CUSTOMER_UNDATED_EFFECTIVE_TIME = _customer_contract()


def get_pipeline(name: str) -> Pipeline:
    """A shipped pipeline by name. Commands that serve a project resolve through
    lakehouse.spec.files.PipelineFiles, which also finds the project's own files."""
    from lakehouse.spec.files import PipelineFiles

    return PipelineFiles().get(name) if name not in PIPELINES else PIPELINES[name]
