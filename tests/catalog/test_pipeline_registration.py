"""A pipeline run registers its tables exactly as `lakehouse catalog apply` would, from the catalog
spec: after `Runner.run` there is no drift, without an apply (local catalog, embedded engine)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lakehouse.catalog import open_catalog
from lakehouse.catalog.spec import SPEC_DIR_ENV, default_spec_dir, load_catalog_spec
from lakehouse.catalog.sync import UNEXPECTED_TABLE, drift, plan
from lakehouse.core.config import Settings
from lakehouse.core.storage import Storage
from lakehouse.landing.land import land_sample
from lakehouse.runtime.runner import Runner
from lakehouse.spec import get_pipeline
from lakehouse.spec.pipelines import CUSTOMER_COLUMNS, CUSTOMER_EFFECTIVE_TIME
from tests.catalog.helpers import CDF_PROPERTY, REPO_CATALOG_SPEC, land_customer_csv

CATALOG_SPEC = load_catalog_spec(REPO_CATALOG_SPEC)
TPCH = get_pipeline("tpch")
LANDED_TABLES = sorted({spec.source.folder for spec in TPCH.tables if spec.source is not None})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"),
                         engine="embedded", env={})


def test_after_a_tpch_run_the_catalog_matches_the_spec_without_apply(settings, tmp_path):
    storage = Storage(settings.s3)
    land_sample(settings, storage, scale=0.001, chunks=1, tables=LANDED_TABLES, workdir=tmp_path / "tpch")
    catalog = open_catalog(settings)
    runner = Runner(settings, storage, catalog=catalog, catalog_spec=CATALOG_SPEC)

    runner.run(TPCH)
    # Not even a pending table: every table in the spec was created, and registered as apply would.
    assert plan(catalog, CATALOG_SPEC, settings) == []
    gold = catalog.get_schema("gold")
    assert (gold.owner, gold.properties) == ("lakehouse", {"layer": "gold"})
    fact = catalog.get_table("gold", "fact_sales")
    assert fact.comment == CATALOG_SPEC.table("gold", "fact_sales").comment
    assert fact.column_comments["net_revenue"] == "extended_price * (1 - discount)"
    assert CDF_PROPERTY not in fact.properties
    assert catalog.get_table("gold", "dim_customer").properties == {CDF_PROPERTY: "true"}

    # A dated change batch adds c_updated_at to bronze.customer_raw: re-registered, still no drift.
    header = ",".join((*CUSTOMER_COLUMNS, CUSTOMER_EFFECTIVE_TIME))
    land_customer_csv(Path(settings.landing), "customer_changes_0001.csv",
                      f"{header}\n1,Customer#000000001,New Street 1,15,25-989-741-2988,711.56,BUILDING,moved,"
                      "2024-06-01 00:00:00\n")
    runner.run(TPCH)
    assert (CUSTOMER_EFFECTIVE_TIME, "timestamp") in catalog.get_table("bronze", "customer_raw").columns
    assert plan(catalog, CATALOG_SPEC, settings) == []


def test_a_table_missing_from_the_spec_is_still_registered_and_drift_reports_it(settings):
    """The run does not fail for want of an entry (the data is written by then); the table gets its
    change feed flag from the pipeline spec, and `catalog drift` names it."""
    without_dim = replace(CATALOG_SPEC, schemas=tuple(
        replace(schema, tables=tuple(t for t in schema.tables if t.name != "dim_customer"))
        for schema in CATALOG_SPEC.schemas))
    land_customer_csv(Path(settings.landing))
    catalog = open_catalog(settings)

    Runner(settings, Storage(settings.s3), catalog=catalog, catalog_spec=without_dim).run(get_pipeline("customer"))
    assert [(f.action, f.target) for f in drift(catalog, without_dim, settings)] == [
        (UNEXPECTED_TABLE, "gold.dim_customer")]
    dim = catalog.get_table("gold", "dim_customer")
    assert (dim.comment, dim.properties) == ("", {CDF_PROPERTY: "true"})
    assert drift(catalog, CATALOG_SPEC, settings)  # the full spec wants its descriptions: apply adds them


def test_a_run_outside_the_repository_uses_the_checkouts_catalog_spec(tmp_path, monkeypatch):
    """`lakehouse run` and `lakehouse catalog drift` must read the same spec wherever they start."""
    monkeypatch.delenv(SPEC_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_spec_dir() == REPO_CATALOG_SPEC
    (tmp_path / "catalog").mkdir()
    assert default_spec_dir() == Path("catalog")  # a catalog/ where the command runs comes first
    monkeypatch.setenv(SPEC_DIR_ENV, str(tmp_path / "elsewhere"))
    assert default_spec_dir() == tmp_path / "elsewhere"


def test_without_a_catalog_spec_the_run_registers_bare_tables_and_says_so(settings, tmp_path, monkeypatch):
    monkeypatch.setenv(SPEC_DIR_ENV, str(tmp_path / "no-such-dir"))
    land_customer_csv(Path(settings.landing))
    catalog = open_catalog(settings)
    messages: list[str] = []

    Runner(settings, Storage(settings.s3), catalog=catalog, progress=messages.append).run(get_pipeline("customer"))
    assert [m for m in messages if m.startswith("no catalog spec at")] == [
        f"no catalog spec at {tmp_path / 'no-such-dir'}: registering tables without their descriptions"]
    silver = catalog.get_table("silver", "customer")
    assert (silver.comment, silver.column_comments, silver.properties) == ("", {}, {CDF_PROPERTY: "true"})
