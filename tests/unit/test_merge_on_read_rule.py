"""Which MERGEs write deletion vectors, the rule both engines follow: the plan's choice (the spec's
merge_on_read, which every kind's plan carries), else the table's delta.enableDeletionVectors, else
the engine's default."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lakehouse.core.dialects import DUCKDB
from lakehouse.core.merge_plan import DELETION_VECTORS_PROPERTY, MergePlan, merges_on_read
from lakehouse.kinds.scd1 import deletes
from lakehouse.kinds.scd1 import sql as scd1
from lakehouse.kinds.scd2 import history_sql
from lakehouse.spec.pipelines import CUSTOMER, DIM_CUSTOMER, FACT_SALES


def _plan(choice: bool | None) -> MergePlan:
    return MergePlan(on="t.id = s.id", update_condition=None, update_set={}, insert_values={}, deletion_vectors=choice)


@pytest.mark.parametrize(("choice", "property_value", "default", "expected"), [
    (True, "false", False, True),
    (False, "true", True, False),
    (None, "true", False, True),
    (None, "FALSE", True, False),
    (None, None, True, True),
    (None, None, False, False),
])
def test_the_plan_then_the_table_then_the_engine_decide(choice, property_value, default, expected):
    properties = {} if property_value is None else {DELETION_VECTORS_PROPERTY: property_value}
    assert merges_on_read(_plan(choice), properties, default) is expected


@pytest.mark.parametrize("choice", [True, False, None])
def test_every_kinds_plan_carries_the_tables_option(choice):
    scd1_spec = replace(CUSTOMER, merge_on_read=choice)
    assert scd1.merge_plan(DUCKDB, scd1_spec, ["c_custkey"]).deletion_vectors is choice
    assert deletes.merge_plan(DUCKDB, scd1_spec, ["c_custkey", deletes.IS_DELETE]).deletion_vectors is choice
    dimension = replace(DIM_CUSTOMER, merge_on_read=choice)
    assert history_sql.merge_plan(DUCKDB, dimension, ["dim_customer_id", "c_custkey"]).deletion_vectors is choice
    # The fact merges by the scd1 plan.
    fact = replace(FACT_SALES, merge_on_read=choice)
    assert scd1.merge_plan(DUCKDB, fact, list(fact.keys)).deletion_vectors is choice
