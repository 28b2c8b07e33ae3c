"""The shipped pipelines are YAML files: loaded, they equal the Python definitions they replaced, and
every shipped and starter file passes the format's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

import lakehouse.spec.pipelines as pipelines
import lakehouse.spec.sales as sales
from lakehouse.cli.project import starter_files
from lakehouse.spec import PIPELINES, get_pipeline
from lakehouse.spec.files import SCHEMA_PATH, SHIPPED_DIR, PipelineFiles
from tests.pipeline_files import previous_definitions as previous
from tests.pipeline_files.helpers import PRODUCTS, products, table


def test_loaded_pipelines_equal_the_previous_python_definitions():
    assert sorted(PIPELINES) == ["customer", "sales", "tpch"]
    for name, expected in previous.PIPELINES.items():
        loaded = PIPELINES[name]
        # Table by table first, so a difference names its table.
        for was, now in zip(expected.tables, loaded.tables, strict=True):
            assert now == was, f"{name}: {now.ref}"
        assert loaded == expected


def test_module_level_names_are_the_loaded_tables():
    assert pipelines.CUSTOMER_PIPELINE == previous.CUSTOMER_PIPELINE
    assert pipelines.SALES_PIPELINE == previous.SALES_PIPELINE
    assert pipelines.TPCH_PIPELINE == previous.TPCH_PIPELINE
    assert (pipelines.CUSTOMER_RAW, pipelines.CUSTOMER, pipelines.DIM_CUSTOMER) == (
        previous.CUSTOMER_RAW, previous.CUSTOMER, previous.DIM_CUSTOMER)
    assert pipelines.CUSTOMER_COLUMNS == previous.CUSTOMER_COLUMNS
    assert pipelines.CUSTOMER_EFFECTIVE_TIME == previous.CUSTOMER_EFFECTIVE_TIME == "c_updated_at"
    assert pipelines.CUSTOMER_UNDATED_EFFECTIVE_TIME == previous.CUSTOMER_UNDATED_EFFECTIVE_TIME
    assert sales.FACT_SALES == previous.FACT_SALES
    assert sales.SALES_TABLES == previous.SALES_TABLES
    assert sales.BRONZE == previous.BRONZE and sales.SILVER == previous.SILVER
    assert sales.DIM_CUSTOMER_REF == previous.DIM_CUSTOMER_REF and sales.MONEY == previous.MONEY


def test_get_pipeline_serves_the_shipped_ones():
    assert get_pipeline("tpch") is PIPELINES["tpch"]
    with pytest.raises(Exception, match="Unknown pipeline 'nope'"):
        get_pipeline("nope")


def test_a_project_file_shadows_the_shipped_pipeline_of_its_name(tmp_path):
    data = products(pipeline="customer")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "customer.yaml").write_text(yaml.safe_dump(data))
    files = PipelineFiles(tmp_path)
    assert [str(t.ref) for t in files.get("customer").tables][0] == "bronze.products_raw"
    # The shipped sales pipeline reads gold.dim_customer, which the project's customer.yaml no longer declares.
    with pytest.raises(Exception, match=r"field 'upstream': 'gold.dim_customer' is no table"):
        files.get("sales")
    assert PipelineFiles(tmp_path / "elsewhere").get("sales") == PIPELINES["sales"]


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def shipped_and_starter_files(tmp_path: Path) -> list[tuple[str, str]]:
    shipped = [(str(path), path.read_text()) for path in sorted(SHIPPED_DIR.glob("*.yaml"))]
    starter = [(str(path), text) for path, text in starter_files(tmp_path / "starter").items()
               if path.suffix == ".yaml"]
    return shipped + starter


def test_every_shipped_and_starter_file_passes_the_json_schema(tmp_path):
    files = shipped_and_starter_files(tmp_path)
    assert len(files) == 6
    check = validator()
    for path, text in files:
        errors = [error.message for error in check.iter_errors(yaml.safe_load(text))]
        assert errors == [], path
    assert not list(check.iter_errors(PRODUCTS))


@pytest.mark.parametrize("break_it", [
    lambda data: data.update(tabels=[]),
    lambda data: table(data, "silver.products").update(kind="scd3"),
    lambda data: table(data, "silver.products").update(keys="id"),
    lambda data: table(data, "silver.products").update(surrogate_key="sk"),
    lambda data: table(data, "silver.products").update(name="silver/../x"),
    lambda data: table(data, "bronze.products_raw")["source"].update(format="xml"),
    lambda data: table(data, "gold.dim_products").update(track_history_except_column_list=["price"]),
], ids=["top-level field", "kind", "list", "field of another kind", "name", "format", "both track lists"])
def test_a_bad_file_fails_the_json_schema(break_it):
    data = products()
    break_it(data)
    assert list(validator().iter_errors(data)), "the schema accepted a file the loader refuses"
