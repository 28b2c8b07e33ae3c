"""One map from the type names engines report to the DDL names of specs (core.types), used by both
engines; Spark identifiers are quoted by the SPARK dialect, not by hand."""

from __future__ import annotations

import pytest

from lakehouse.core.config import Settings
from lakehouse.core.types import ddl_type_name
from lakehouse.engines.embedded.engine import delta_type_name
from lakehouse.engines.spark.databricks import UnityCatalogNames, schema_hints
from lakehouse.engines.spark.tables import TableLocator
from lakehouse.spec.model import LandingSource, TableRef


@pytest.mark.parametrize("reported, ddl", [
    ("long", "bigint"), ("integer", "int"), ("short", "int"), ("byte", "int"),  # Delta's JSON names
    ("smallint", "int"), ("tinyint", "int"), ("float", "double"), ("timestamp_ntz", "timestamp"),  # Spark's
    ("string", "string"), ("decimal(18,2)", "decimal(18,2)"), ("array<string>", "array<string>"),
])
def test_engine_type_names_become_ddl_names(reported, ddl):
    assert ddl_type_name(reported) == ddl
    assert delta_type_name(reported) == ddl


def test_spark_names_are_quoted_by_the_dialect(tmp_path):
    ref = TableRef("bronze", "odd`name")
    locator = TableLocator(Settings.load(landing=str(tmp_path), warehouse=str(tmp_path / "w`h"), env={}))
    assert locator.sql_name(ref).startswith("delta.`") and "w``h" in locator.sql_name(ref)
    assert UnityCatalogNames("main").name(ref) == "`main`.`bronze`.`odd``name`"
    hints = LandingSource(name="s", folder="s", schema_hints={"a`b": "decimal(15,2)"})
    assert schema_hints(hints) == "`a``b` DECIMAL(15,2)"
