"""Name validation, Unity Catalog name mapping and location mapping (fast, no services)."""

from __future__ import annotations

import pytest

from lakehouse.catalog.column_types import canonical_ddl, ddl_to_json, json_to_hive, spark_schema_json
from lakehouse.catalog.names import (
    NameMapper,
    metastore_location,
    parse_table_name,
    validate_identifier,
    warehouse_location,
)
from lakehouse.core.errors import CatalogError


@pytest.mark.parametrize("name", ["customer", "customer_raw", "dim_customer", "fact_sales2", "default", "a" * 128])
def test_valid_names_pass_unchanged(name):
    assert validate_identifier(name, "table") == name


@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ("x; DROP TABLE y", "characters that are not allowed"),
        ("cust'omer", "characters that are not allowed"),
        ('cust"omer', "characters that are not allowed"),
        ("cust`omer", "characters that are not allowed"),
        ("silver.customer", "characters that are not allowed"),
        ("cust omer", "characters that are not allowed"),
        ("kunde_ü", "characters that are not allowed"),
        ("customer\u200b", "characters that are not allowed"),  # zero-width space
        ("сustomer", "characters that are not allowed"),  # Cyrillic 'с'
        ("Customer", "uppercase"),
        ("1customer", "does not start with a letter"),
        ("_checkpoints", "does not start with a letter"),
        ("select", "reserved word"),
        ("table", "reserved word"),
        ("drop", "reserved word"),
        ("a" * 129, "the limit is 128"),
        ("", "empty"),
    ],
)
def test_bad_names_are_refused_naming_value_and_rule(bad, rule):
    with pytest.raises(CatalogError) as raised:
        validate_identifier(bad, "table")
    message = raised.value.message
    assert rule in message
    assert "table name" in message
    if bad and len(bad) <= 40:
        assert bad in message or repr(bad) in message
    assert raised.value.hint  # every refusal says what to do


def test_odd_unicode_is_shown_as_code_points():
    with pytest.raises(CatalogError) as raised:
        validate_identifier("customer\u200b", "schema")
    assert "U+200B" in raised.value.message


def test_uppercase_hint_offers_the_lowercase_name():
    with pytest.raises(CatalogError) as raised:
        validate_identifier("Customer", "table")
    assert "'customer'" in raised.value.hint


def test_unity_catalog_names_map_to_prefixed_metastore_names():
    mapper = NameMapper("dev_")
    assert mapper.metastore_table_name("main.silver.customer") == "dev_silver.customer"
    assert mapper.metastore_table_name("silver.customer") == "dev_silver.customer"
    assert NameMapper().metastore_table_name("main.silver.customer") == "silver.customer"
    assert mapper.logical_schema("dev_silver") == "silver"
    assert mapper.logical_schema("prod_silver") is None
    parsed = parse_table_name("main.gold.dim_customer")
    assert (parsed.uc_catalog, parsed.schema, parsed.table) == ("main", "gold", "dim_customer")


@pytest.mark.parametrize("bad", ["customer", "a.b.c.d", "main.silver.x; DROP", "main..customer", "Main.silver.customer"])
def test_malformed_qualified_names_are_refused(bad):
    with pytest.raises(CatalogError):
        parse_table_name(bad)


@pytest.mark.parametrize("bad", ["Dev_", "dev-", "1dev", "dev;", "x" * 33])
def test_bad_prefixes_are_refused(bad):
    with pytest.raises(CatalogError) as raised:
        NameMapper(bad)
    assert "prefix" in raised.value.message


def test_prefix_counts_towards_the_length_limit():
    with pytest.raises(CatalogError) as raised:
        NameMapper("dev_").metastore_schema("s" * 126)
    assert "prefix 'dev_'" in raised.value.message


def test_locations_map_to_the_metastore_form_and_back():
    assert metastore_location("s3://lake/warehouse/silver/customer") == "s3a://lake/warehouse/silver/customer"
    assert metastore_location("/data/warehouse/silver/") == "file:/data/warehouse/silver"
    assert metastore_location("file:///data/w") == "file:/data/w"
    assert metastore_location("s3a://lake/w") == "s3a://lake/w"
    assert warehouse_location("s3a://lake/w/silver") == "s3://lake/w/silver"
    assert warehouse_location("file:/data/w") == "/data/w"
    with pytest.raises(CatalogError):
        metastore_location("relative/path")


def test_column_types_normalise_and_translate():
    assert canonical_ddl("BIGINT") == "bigint"
    assert canonical_ddl("long") == "bigint"
    assert canonical_ddl("decimal(15, 2)") == "decimal(15,2)"
    assert canonical_ddl("array<struct<a:int,b:map<string,double>>>") == "array<struct<a:int,b:map<string,double>>>"
    assert ddl_to_json("int") == "integer"
    assert json_to_hive(ddl_to_json("timestamp_ntz")) == "timestamp"
    assert '"metadata":{"comment":"key"}' in spark_schema_json([("k", "bigint")], {"k": "key"})


@pytest.mark.parametrize("bad", ["varchar2", "decimal(40,2)", "decimal(5,6)", "int; drop", "array<int", ""])
def test_bad_column_types_are_refused(bad):
    with pytest.raises(CatalogError) as raised:
        canonical_ddl(bad)
    assert "valid types" in raised.value.hint
