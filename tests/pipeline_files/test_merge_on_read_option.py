"""The table option merge_on_read: true or false on the tables written by MERGE (scd1, scd2, fact),
unset by default; refused on an append_ingest table and for any other value, naming file, table and
field; the JSON Schema agrees with the loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.cli.main import main
from lakehouse.core.errors import ConfigError
from lakehouse.spec.model import Kind, LandingSource, TableRef, TableSpec
from tests.pipeline_files.helpers import PRODUCTS, products, table
from tests.pipeline_files.test_file_errors import error_of, fact_file, load
from tests.pipeline_files.test_products_json_project import FIRST, PIPELINE_FILE, SECOND, _land
from tests.pipeline_files.test_shipped_files import validator


def test_unset_means_the_engines_default(tmp_path):
    _, pipeline = load(tmp_path, PRODUCTS)
    assert all(spec.merge_on_read is None for spec in pipeline.tables)


@pytest.mark.parametrize("value", [True, False])
def test_scd1_and_scd2_tables_take_it(tmp_path, value):
    data = products()
    table(data, "silver.products")["merge_on_read"] = value
    table(data, "gold.dim_products")["merge_on_read"] = not value
    _, pipeline = load(tmp_path, data)
    assert pipeline.table("silver.products").merge_on_read is value
    assert pipeline.table("gold.dim_products").merge_on_read is (not value)
    assert not list(validator().iter_errors(data))


def test_a_fact_table_takes_it(tmp_path):
    data = fact_file("l.price")
    table(data, "gold.fact_sales")["merge_on_read"] = True
    _, pipeline = load(tmp_path, data, "shop")
    assert pipeline.table("gold.fact_sales").merge_on_read is True
    assert not list(validator().iter_errors(data))


@pytest.mark.parametrize("value", ["maybe", "true", 1])
def test_a_value_that_is_not_true_or_false_is_refused(tmp_path, value):
    data = products()
    table(data, "silver.products")["merge_on_read"] = value
    path, error = error_of(tmp_path, data)
    assert f"{path}: table 'silver.products': field 'merge_on_read': must be true or false" in error.message
    assert error.hint == "valid values: true, false"
    assert list(validator().iter_errors(data)), "the schema accepted a value the loader refuses"


def test_an_append_ingest_table_does_not_take_it(tmp_path):
    data = products()
    table(data, "bronze.products_raw")["merge_on_read"] = True
    _, error = error_of(tmp_path, data)
    assert "table 'bronze.products_raw': field 'merge_on_read': does not apply to a append_ingest table" in error.message
    assert list(validator().iter_errors(data))


def test_a_spec_built_in_python_is_checked_too():
    source = LandingSource(name="products", folder="products")
    with pytest.raises(ConfigError, match="merge_on_read applies to tables written by MERGE"):
        TableSpec(ref=TableRef("bronze", "p"), kind=Kind.APPEND_INGEST, source=source, merge_on_read=True)
    with pytest.raises(ConfigError, match="merge_on_read must be true or false, not 'yes'") as caught:
        TableSpec(ref=TableRef("silver", "p"), kind=Kind.SCD1_UPSERT, upstream=(TableRef("bronze", "p"),),
                  keys=("id",), merge_on_read="yes")  # type: ignore[arg-type]
    assert caught.value.hint.startswith("valid values: true, false")


@pytest.mark.slow
def test_a_run_merges_each_table_as_its_option_says(tmp_path, monkeypatch):
    """Silver (and its tombstones) by deletion vectors, the dimension by rewriting files against the
    engine's default (on): the option reaches the engine through every kind's plan."""
    for name in ("LAKEHOUSE_PROJECT", "LAKEHOUSE_ENGINE", "LAKEHOUSE_CATALOG", "LAKEHOUSE_MERGE_ON_READ"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAKEHOUSE_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("LAKEHOUSE_WAREHOUSE", str(tmp_path / "warehouse"))
    text = PIPELINE_FILE.replace("    change_data_feed: true\n    expectations:",
                                 "    change_data_feed: true\n    merge_on_read: true\n    expectations:")
    (tmp_path / "shop" / "pipelines").mkdir(parents=True)
    (tmp_path / "shop" / "pipelines" / "products.yaml").write_text(text + "    merge_on_read: false\n")
    monkeypatch.chdir(tmp_path / "shop")
    for index, batch in enumerate((FIRST, SECOND, SECOND.replace("2024-0", "2025-0"))):
        _land(tmp_path, f"products_{index:04d}.json", batch)
        main(["run", "--pipeline", "products"])

    def merged_by(table: str) -> set[str]:
        log = Path(tmp_path, "warehouse", *table.split("."), "_delta_log")
        infos = [json.loads(line)["commitInfo"] for path in sorted(log.glob("*.json"))
                 for line in path.read_text().splitlines() if '"commitInfo"' in line]
        return {info["engineInfo"] for info in infos if info["operation"] == "MERGE"}

    assert merged_by("silver.products") == {"local-lakehouse merge-on-read"}
    assert merged_by("silver.products__tombstones") == {"local-lakehouse merge-on-read"}
    assert merged_by("gold.dim_products") and "local-lakehouse merge-on-read" not in merged_by("gold.dim_products")
