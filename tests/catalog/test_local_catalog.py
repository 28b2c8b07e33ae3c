"""The zero-setup local catalog, the catalog spec, and apply/drift (fast, no services)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from click.testing import CliRunner

from lakehouse.catalog import open_catalog
from lakehouse.catalog.local import LocalCatalog
from lakehouse.catalog.spec import load_catalog_spec, parse_schema_file
from lakehouse.catalog.sync import ALTER_TABLE, CREATE_SCHEMA, PENDING_TABLE, REGISTER_TABLE, apply, drift
from lakehouse.cli.main import cli
from lakehouse.core.errors import CatalogError
from tests.catalog.helpers import CUSTOMER, REPO_CATALOG_SPEC, write_spec_tables, write_table

COLUMNS = [("c_custkey", "bigint"), ("c_name", "string"), ("c_acctbal", "decimal(15,2)")]



def test_without_a_catalog_uri_the_local_catalog_is_used(local_settings):
    catalog = open_catalog(local_settings)
    assert isinstance(catalog, LocalCatalog)
    assert catalog.uri == f"{local_settings.warehouse}/_catalog/catalog.json"


def test_register_alter_unregister_round_trip(local_settings):
    catalog = open_catalog(local_settings)
    location = write_table(local_settings, "silver", "customer", cdf=True)
    assert catalog.ensure_schema("silver", f"{local_settings.warehouse}/silver", "clean", {"layer": "silver"})
    assert catalog.register_table("silver", "customer", location, COLUMNS, comment="customers",
                                  properties={"delta.enableChangeDataFeed": "true"},
                                  column_comments={"c_custkey": "key"})
    again = catalog.register_table("silver", "customer", location, COLUMNS, comment="customers",
                                   properties={"delta.enableChangeDataFeed": "true"}, column_comments={"c_custkey": "key"})
    assert again is False  # idempotent

    # Schema evolution: a new column re-registers (alter), keeping the comments already there.
    assert catalog.register_table("silver", "customer", location, COLUMNS + [("c_phone", "string")])
    table = catalog.get_table("silver", "customer")
    assert table.columns[-1] == ("c_phone", "string")
    assert table.location == f"file:{local_settings.warehouse}/silver/customer"
    assert table.comment == "customers"
    assert table.column_comments == {"c_custkey": "key"}
    assert table.properties == {"delta.enableChangeDataFeed": "true"}

    # A fresh catalog object reads the same file: the registration is persisted.
    assert open_catalog(local_settings).list_tables("silver") == ["customer"]
    with pytest.raises(CatalogError, match="still has tables: customer"):
        catalog.drop_schema("silver")
    catalog.unregister_table("silver", "customer")
    catalog.unregister_table("silver", "customer")  # absent is fine
    catalog.drop_schema("silver")
    assert catalog.list_schemas() == []


def test_prefix_separates_environments_in_one_catalog(local_settings):
    dev = open_catalog(local_settings, prefix="dev_")
    prod = open_catalog(local_settings, prefix="")
    dev.ensure_schema("silver", f"{local_settings.warehouse}/silver")
    assert dev.list_schemas() == ["silver"]
    assert prod.list_schemas() == ["dev_silver"]  # unprefixed view sees the real database name
    assert "schema dev_silver" in dev.describe()


def test_register_refuses_bad_names_types_and_unknown_schema(local_settings):
    catalog = open_catalog(local_settings)
    catalog.ensure_schema("silver", f"{local_settings.warehouse}/silver")
    with pytest.raises(CatalogError, match="x; DROP"):
        catalog.register_table("silver", "x; DROP", "/tmp/x", COLUMNS)
    with pytest.raises(CatalogError, match="does not exist"):
        catalog.register_table("gold", "t", "/tmp/x", COLUMNS)
    with pytest.raises(CatalogError, match="Column name"):
        catalog.register_table("silver", "t", "/tmp/x", [("bad`col", "int")])
    with pytest.raises(CatalogError, match="unknown type 'varchar2'"):
        catalog.register_table("silver", "t", "/tmp/x", [("c", "varchar2")])
    with pytest.raises(CatalogError, match="nope"):
        catalog.register_table("silver", "t", "/tmp/x", COLUMNS, column_comments={"nope": "x"})
    assert catalog.list_tables("silver") == []


def test_repository_spec_describes_the_customer_pipeline():
    spec = load_catalog_spec(REPO_CATALOG_SPEC)
    assert {schema.name for schema in spec.schemas} >= {"bronze", "silver", "gold"}
    assert spec.table("bronze", "customer_raw") is not None
    assert spec.table("gold", "dim_customer") is not None
    assert spec.table("silver", "customer").properties["delta.enableChangeDataFeed"] == "true"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schema: {name: silver, colour: red}", "unknown keys: colour"),
        ("schema: {name: 'x; DROP'}", "schema.name"),
        ("schema: {name: silver}\ntables: [{name: a}, {name: a}]", "listed twice"),
        ("schema: {name: silver}\ntables: [{name: Customer}]", "uppercase"),
        ("schema: {name: silver}\ntables: [{name: a, properties: {k: [1]}}]", "must be a string"),
        ("schema: [", "not valid YAML"),
    ],
)
def test_spec_errors_name_the_file_and_the_problem(text, message):
    with pytest.raises(CatalogError) as raised:
        parse_schema_file(text, "catalog/silver.yaml")
    assert message in raised.value.message
    assert "catalog/silver.yaml" in raised.value.message


def test_apply_is_idempotent_and_drift_sees_schema_evolution(local_settings):
    catalog = open_catalog(local_settings)
    spec = load_catalog_spec(REPO_CATALOG_SPEC)
    changed, left = apply(catalog, spec, local_settings)
    assert {f.action for f in changed} == {CREATE_SCHEMA}
    assert {f.action for f in left} == {PENDING_TABLE}
    assert drift(catalog, spec, local_settings) == []  # pending tables are not drift

    write_spec_tables(local_settings)
    changed, _ = apply(catalog, spec, local_settings)
    assert sorted(f.target for f in changed if f.action == REGISTER_TABLE) == [
        "bronze.customer_raw", "gold.dim_customer", "silver.customer"]
    changed, left = apply(catalog, spec, local_settings)
    assert changed == [] and {f.action for f in left} == {PENDING_TABLE}  # the sales tables: no Delta table here

    # The Delta table gains a column: drift reports it, apply re-registers it.
    evolved = CUSTOMER.append_column("hash_value", pa.array(["a", "b"])).append_column("c_email", pa.array(["1", "2"]))
    write_table(local_settings, "silver", "customer", evolved, mode="overwrite", schema_mode="merge")
    findings = drift(catalog, spec, local_settings)
    assert [(f.action, f.target) for f in findings] == [(ALTER_TABLE, "silver.customer")]
    apply(catalog, spec, local_settings)
    assert ("c_email", "string") in catalog.get_table("silver", "customer").columns
    assert catalog.get_table("silver", "customer").column_comments["hash_value"].startswith("SHA-256")


def test_cli_apply_show_drift_exit_codes(local_settings):
    runner = CliRunner()
    env = {"LAKEHOUSE_WAREHOUSE": local_settings.warehouse, "LAKEHOUSE_CATALOG": None,
           "LAKEHOUSE_CATALOG_PREFIX": None, "LAKEHOUSE_CATALOG_SPEC": str(REPO_CATALOG_SPEC)}
    result = runner.invoke(cli, ["catalog", "drift"], env=env)
    assert result.exit_code == 1 and "create-schema" in result.output
    result = runner.invoke(cli, ["--json", "catalog", "apply"], env=env)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["changed"]) == 3
    result = runner.invoke(cli, ["catalog", "apply"], env=env)
    assert "0 change(s)" in result.output
    assert runner.invoke(cli, ["catalog", "drift"], env=env).exit_code == 0

    # Someone changes the catalog behind the spec's back: drift exits non-zero and says what.
    open_catalog(local_settings).ensure_schema("gold", f"{local_settings.warehouse}/gold", "edited by hand",
                                               replace=True)
    result = runner.invoke(cli, ["catalog", "drift"], env=env)
    assert result.exit_code == 1
    assert "alter-schema" in result.output and "edited by hand" in result.output
    shown = json.loads(runner.invoke(cli, ["--json", "catalog", "show"], env=env).output)
    assert [schema["name"] for schema in shown["schemas"]] == ["bronze", "gold", "silver"]


@pytest.mark.integration
def test_local_catalog_on_s3_registers_s3a_locations(s3_env):
    from lakehouse.core.config import Settings

    settings = Settings.load(warehouse=f"{s3_env}/warehouse", env=None).with_overrides(catalog=None)
    catalog = open_catalog(settings)
    location = write_table(settings, "silver", "customer", cdf=True)
    catalog.ensure_schema("silver", f"{settings.warehouse}/silver")
    catalog.register_table("silver", "customer", location, COLUMNS)
    assert catalog.uri == f"{s3_env}/warehouse/_catalog/catalog.json"
    reopened = open_catalog(settings)
    assert reopened.get_table("silver", "customer").location == f"s3a://{s3_env[len('s3://'):]}/warehouse/silver/customer"
    assert reopened.get_schema("silver").location.startswith("s3a://")
