"""A bad pipeline file fails with a ConfigError that names the file, the table entry and the field,
and says what is valid."""

from __future__ import annotations

import re

import pytest

from lakehouse.core.errors import ConfigError
from lakehouse.spec.files import PipelineFiles
from lakehouse.spec.model import Kind
from tests.pipeline_files.helpers import PRODUCTS, products, table, write_pipeline


def load(tmp_path, data, name="products"):
    path = write_pipeline(tmp_path, data, name)
    return path, PipelineFiles(tmp_path).get(name)


def error_of(tmp_path, data, name="products") -> tuple[str, ConfigError]:
    path = write_pipeline(tmp_path, data, name)
    with pytest.raises(ConfigError) as caught:
        PipelineFiles(tmp_path).get(name)
    assert str(path) in caught.value.message, caught.value.message
    return str(path), caught.value


def test_the_products_file_loads(tmp_path):
    _, pipeline = load(tmp_path, PRODUCTS)
    assert [str(t.ref) for t in pipeline.tables] == ["bronze.products_raw", "silver.products", "gold.dim_products"]
    dim = pipeline.table("gold.dim_products")
    assert dim.kind is Kind.SCD2_FROM_CHANGES and dim.surrogate_key == "dim_products_id"
    assert dim.tracked_columns == ("name", "price") and dim.options is None
    assert pipeline.table("bronze.products_raw").source.schema_hints["price"] == "decimal(10,2)"


def test_yaml_syntax_error_names_the_line(tmp_path):
    text = "pipeline: products\ntables:\n  - name: bronze.products_raw\n    kind: [append_ingest\n"
    _, error = error_of(tmp_path, text)
    assert "not valid YAML at line 5" in error.message


def test_a_key_given_twice_is_refused_with_its_line(tmp_path):
    text = "pipeline: products\npipeline: other\ntables: []\n"
    _, error = error_of(tmp_path, text)
    assert "line 2" in error.message and "'pipeline' appears twice" in error.message


def test_unknown_top_level_field_lists_the_valid_ones(tmp_path):
    _, error = error_of(tmp_path, products(tabels=[]))
    assert "field 'tabels'" in error.message
    assert error.hint == "valid fields: pipeline, description, include, tables"


def test_unknown_table_field_names_the_table_and_the_valid_fields(tmp_path):
    data = products()
    table(data, "silver.products")["sequence"] = "updated_at"
    _, error = error_of(tmp_path, data)
    assert ("table 'silver.products': field 'sequence': a scd1 table has no field 'sequence' "
            "(did you mean 'sequence_by'?)") in error.message
    assert error.hint == ("valid fields: name, kind, change_data_feed, cluster_by, expectations, upstream, keys, "
                          "sequence_by, track_history_column_list, apply_as_deletes, except_column_list, "
                          "undated_effective_time, merge_on_read")


def test_a_field_of_another_kind_says_which_fields_the_kind_takes(tmp_path):
    data = products()
    table(data, "silver.products")["surrogate_key"] = "sk"
    _, error = error_of(tmp_path, data)
    assert "field 'surrogate_key': does not apply to a scd1 table" in error.message
    assert error.hint.startswith("fields of a scd1 table: name, kind")


def test_unknown_kind_lists_the_kinds(tmp_path):
    data = products()
    table(data, "silver.products")["kind"] = "scd3"
    _, error = error_of(tmp_path, data)
    assert "table 'silver.products': field 'kind': 'scd3' is not one of the valid values" in error.message
    assert error.hint == "valid values: append_ingest, scd1, scd2, fact"


def test_a_table_without_a_name_is_named_by_its_position(tmp_path):
    data = products()
    del data["tables"][1]["name"]
    _, error = error_of(tmp_path, data)
    assert "table #2: field 'name': is required and missing" in error.message


def test_upstream_that_does_not_exist_lists_the_tables(tmp_path):
    data = products()
    table(data, "silver.products")["upstream"] = ["bronze.prodcts_raw"]
    _, error = error_of(tmp_path, data)
    assert "table 'silver.products': field 'upstream': 'bronze.prodcts_raw' is no table" in error.message
    assert "bronze.products_raw" in error.hint


def test_an_upstream_without_change_feed_is_refused(tmp_path):
    data = products()
    table(data, "bronze.products_raw")["change_data_feed"] = False
    _, error = error_of(tmp_path, data)
    assert "'bronze.products_raw' keeps no change data feed" in error.message
    assert error.hint == "set `change_data_feed: true` on bronze.products_raw"


def test_a_cycle_is_refused_and_shown(tmp_path):
    data = products()
    table(data, "silver.products")["upstream"] = ["gold.dim_products"]
    table(data, "gold.dim_products")["upstream"] = ["silver.products"]
    table(data, "gold.dim_products")["change_data_feed"] = True
    _, error = error_of(tmp_path, data)
    assert "cycle: silver.products -> gold.dim_products -> silver.products" in error.message


def test_tables_run_in_dependency_order_whatever_the_file_order(tmp_path):
    data = products()
    data["tables"].reverse()
    _, pipeline = load(tmp_path, data)
    assert [str(t.ref) for t in pipeline.tables] == ["bronze.products_raw", "gold.dim_products", "silver.products"]


def test_a_duplicate_table_name_is_refused(tmp_path):
    data = products()
    data["tables"].append(dict(table(data, "silver.products")))
    _, error = error_of(tmp_path, data)
    assert "table 'silver.products': is declared more than once" in error.message


@pytest.mark.parametrize(("field", "expr"), [
    ("apply_as_deletes", "op = "),
    ("apply_as_deletes", "1) OR (1"),
    ("apply_as_deletes", "op = 'D'; DROP TABLE x"),
    ("expectation", "price > 0 banana"),
    ("measure", "l.price * (1 - l.discount"),
])
def test_bad_sql_is_refused_where_it_is_written(tmp_path, field, expr):
    data = products()
    silver = table(data, "silver.products")
    if field == "apply_as_deletes":
        silver["apply_as_deletes"] = expr
        expected = "table 'silver.products': field 'apply_as_deletes'"
    elif field == "expectation":
        silver["expectations"] = [{"name": "has_price", "expr": expr, "on_violation": "drop"}]
        expected = "table 'silver.products': field 'expectations[0].expr'"
    else:
        data = fact_file(expr)
        expected = "table 'gold.fact_sales': field 'columns[1].expr'"
    _, error = error_of(tmp_path, data, data["pipeline"])
    assert expected in error.message and f"'{expr}' is not a valid SQL expression" in error.message


def test_good_sql_passes(tmp_path):
    data = products()
    silver = table(data, "silver.products")
    silver.update(apply_as_deletes="op = 'D'", except_column_list=["op"],
                  expectations=[{"name": "has_price", "expr": "price IS NOT NULL AND name IN ('a', ')')",
                                 "on_violation": "drop"}])
    _, pipeline = load(tmp_path, data)
    spec = pipeline.table("silver.products")
    assert spec.apply_as_deletes == "op = 'D'" and spec.except_column_list == ("op",)
    assert spec.expectations[0].on_violation.value == "drop"


def test_unknown_on_violation_lists_the_values(tmp_path):
    data = products()
    table(data, "silver.products")["expectations"] = [{"name": "has_price", "expr": "price > 0", "on_violation": "x"}]
    _, error = error_of(tmp_path, data)
    assert "field 'expectations[0].on_violation'" in error.message
    assert error.hint == "valid values: warn, drop, fail"


@pytest.mark.parametrize(("field", "value", "problem"), [
    ("keys", "id", "must be a list, not a string"),
    ("upstream", "bronze.products_raw", "must be a list, not a string"),
    ("change_data_feed", "yes", "must be true or false"),
    ("cluster_by", {"id": 1}, "must be a list, not a mapping"),
    ("expectations", "price > 0", "must be a list of mappings, not a string"),
])
def test_wrong_types_name_the_field(tmp_path, field, value, problem):
    data = products()
    table(data, "silver.products")[field] = value
    _, error = error_of(tmp_path, data)
    assert f"table 'silver.products': field '{field}': {problem}" in error.message


@pytest.mark.parametrize("name", ["bronze/../x", "../etc.passwd", "bronze.a/b", "bronze..x", "Bronze.X", "x"])
def test_table_names_that_could_escape_are_refused(tmp_path, name):
    data = products()
    table(data, "silver.products")["name"] = name
    _, error = error_of(tmp_path, data)
    assert "table #2: field 'name'" in error.message and "is not a table name of the form schema.table" in error.message


def test_a_landing_folder_that_escapes_is_refused(tmp_path):
    data = products()
    table(data, "bronze.products_raw")["source"]["folder"] = "../secrets"
    _, error = error_of(tmp_path, data)
    assert "field 'source.folder': '../secrets' leaves the landing zone" in error.message


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("format", "xml", "valid values: csv, json, parquet"),
    ("evolution_mode", "merge", "valid values: addNewColumns, rescue, failOnNewColumns, none"),
])
def test_source_choices_list_the_valid_values(tmp_path, field, value, expected):
    data = products()
    table(data, "bronze.products_raw")["source"][field] = value
    _, error = error_of(tmp_path, data)
    assert f"field 'source.{field}'" in error.message and error.hint == expected


def test_json_and_parquet_formats_are_accepted(tmp_path):
    data = products()
    table(data, "bronze.products_raw")["source"]["format"] = "json"
    _, pipeline = load(tmp_path, data)
    assert pipeline.table("bronze.products_raw").source.format == "json"


def test_a_schema_hint_of_an_unknown_type_is_refused(tmp_path):
    data = products()
    table(data, "bronze.products_raw")["source"]["schema_hints"]["price"] = "money"
    _, error = error_of(tmp_path, data)
    assert "field 'source.schema_hints.price': Unsupported column type 'money'" in error.message
    assert "decimal(p,s)" in error.hint


@pytest.mark.parametrize("field", ["keys", "sequence_by", "track_history_column_list", "cluster_by"])
def test_a_column_left_out_by_except_column_list_cannot_be_used(tmp_path, field):
    data = products()
    dim = table(data, "gold.dim_products")
    column = {"keys": "id", "sequence_by": "updated_at", "track_history_column_list": "price",
              "cluster_by": "name"}[field]
    dim["except_column_list"] = [column]
    if field == "cluster_by":
        dim["cluster_by"] = ["name"]
        dim["track_history_column_list"] = ["price"]
    _, error = error_of(tmp_path, data)
    assert f"table 'gold.dim_products': field '{field}': names {column}, which except_column_list leaves out" \
        in error.message


def test_track_history_except_with_a_key_is_refused(tmp_path):
    data = products()
    dim = table(data, "gold.dim_products")
    del dim["track_history_column_list"]
    dim["track_history_except_column_list"] = ["id"]
    _, error = error_of(tmp_path, data)
    assert "field 'track_history_except_column_list': names key column(s) id" in error.message


def test_both_track_history_lists_are_refused(tmp_path):
    data = products()
    table(data, "gold.dim_products")["track_history_except_column_list"] = ["updated_at"]
    _, error = error_of(tmp_path, data)
    assert "is given with track_history_column_list" in error.message


def test_spec_rules_keep_their_message_with_the_place(tmp_path):
    data = products()
    del table(data, "gold.dim_products")["surrogate_key"]
    _, error = error_of(tmp_path, data)
    assert re.search(r"products\.yaml: table 'gold\.dim_products': an SCD2 table needs a surrogate_key", error.message)


def test_the_file_name_must_match_the_pipeline(tmp_path):
    path = write_pipeline(tmp_path, products(pipeline="items"))
    with pytest.raises(ConfigError, match="declares pipeline 'items', but the file is named products.yaml"):
        PipelineFiles(tmp_path).get("products")
    assert path.exists()


def test_pipelines_that_include_each_other_are_refused(tmp_path):
    write_pipeline(tmp_path, {"pipeline": "a", "include": ["b"]}, "a")
    write_pipeline(tmp_path, {"pipeline": "b", "include": ["a"]}, "b")
    with pytest.raises(ConfigError, match=r"include each other in a cycle: a -> b -> a"):
        PipelineFiles(tmp_path).get("a")


def fact_file(measure: str) -> dict:
    """A fact over two silver tables and a dimension, all in one file."""
    def bronze(name):
        return {"name": f"bronze.{name}", "kind": "append_ingest", "change_data_feed": True,
                "source": {"folder": name}}

    def silver(name, keys):
        return {"name": f"silver.{name}", "kind": "scd1", "upstream": [f"bronze.{name}"], "keys": keys,
                "change_data_feed": True}

    return {"pipeline": "shop", "tables": [
        bronze("orders"), bronze("lines"), bronze("customers"),
        silver("orders", ["id"]), silver("lines", ["order_id", "line"]),
        {"name": "gold.dim_customers", "kind": "scd2", "upstream": ["bronze.customers"], "keys": ["id"],
         "surrogate_key": "dim_customers_id", "change_data_feed": True},
        {"name": "gold.fact_sales", "kind": "fact", "keys": ["order_id", "line"],
         "header": {"table": "silver.orders", "key": "id"},
         "lines": {"table": "silver.lines", "header_key": "order_id"},
         "dimension": {"table": "gold.dim_customers", "surrogate_key": "dim_customers_id", "business_key": "id",
                       "fact_key": "customer_id", "as_of": "ordered_on", "output": "dim_customers_id"},
         "columns": [{"name": "order_id", "expr": "l.order_id", "type": "bigint"},
                     {"name": "revenue", "expr": measure, "type": "decimal(18,4)"},
                     {"name": "line", "expr": "l.line", "type": "bigint"}]},
    ]}


def test_a_fact_file_loads_with_its_inputs_as_upstream(tmp_path):
    _, pipeline = load(tmp_path, fact_file("l.price * (1 - l.discount)"), "shop")
    fact = pipeline.table("gold.fact_sales")
    assert [str(ref) for ref in fact.upstream] == ["silver.orders", "silver.lines", "gold.dim_customers"]
    assert fact.options.dimension.low_date == "1900-01-01"


def test_a_fact_key_that_is_no_fact_column_is_refused(tmp_path):
    data = fact_file("l.price")
    table(data, "gold.fact_sales")["keys"] = ["order_id", "line_no"]
    _, error = error_of(tmp_path, data, "shop")
    assert "table 'gold.fact_sales': field 'keys': names line_no, which is not a column of the fact" in error.message
    assert error.hint == "the fact's columns: line, order_id, revenue"


def test_a_fact_takes_no_upstream_field(tmp_path):
    data = fact_file("l.price")
    table(data, "gold.fact_sales")["upstream"] = ["silver.orders"]
    _, error = error_of(tmp_path, data, "shop")
    assert "field 'upstream': does not apply to a fact table" in error.message


def test_an_unknown_pipeline_lists_project_and_shipped_ones(tmp_path):
    write_pipeline(tmp_path, PRODUCTS)
    with pytest.raises(ConfigError) as caught:
        PipelineFiles(tmp_path).get("prodcts")
    assert "no prodcts.yaml in " + str(tmp_path / "pipelines") in caught.value.message
    assert caught.value.hint.startswith("valid pipelines: customer, products, sales, tpch")
