"""The Hive Metastore backend against a real Hive Metastore 4.0.1 on Postgres (tests/services/metastore.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.catalog import open_catalog
from lakehouse.catalog.hive import HiveMetastoreCatalog
from lakehouse.catalog.metastore_server import metastore_status, stop_metastore
from lakehouse.catalog.spec import load_catalog_spec
from lakehouse.catalog.sync import PENDING_TABLE, REGISTER_TABLE, apply, drift
from lakehouse.core.errors import CatalogError
from lakehouse.core.storage import Storage
from lakehouse.runtime.runner import Runner
from lakehouse.spec import get_pipeline
from tests.catalog.helpers import (
    CUSTOMER,
    CUSTOMER_PIPELINE_TABLES,
    REPO_CATALOG_SPEC,
    land_customer_csv,
    write_spec_tables,
    write_table,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def catalog(metastore_settings, unique_prefix):
    return open_catalog(metastore_settings, prefix=unique_prefix)


def _raw_table(catalog: HiveMetastoreCatalog, schema: str, name: str):
    """The Thrift Table object, to check what other metastore clients (Trino, Spark) read."""
    with catalog._connect() as client:
        return catalog.fetch_table(client, catalog.names.metastore_schema(schema), name)


def test_apply_is_idempotent(catalog, metastore_settings):
    spec = load_catalog_spec(REPO_CATALOG_SPEC)
    write_spec_tables(metastore_settings)
    changed, left = apply(catalog, spec, metastore_settings)
    assert len([f for f in changed if f.action == REGISTER_TABLE]) == 3
    assert {f.action for f in left} == {PENDING_TABLE}  # the sales tables, which have no Delta table here
    changed, left_again = apply(catalog, spec, metastore_settings)
    assert changed == [] and left_again == left
    assert drift(catalog, spec, metastore_settings) == []
    schema = catalog.get_schema("silver")
    assert schema.location == f"file:{metastore_settings.warehouse}/silver"
    assert schema.owner == "lakehouse" and schema.properties == {"layer": "silver"}
    assert catalog.get_table("silver", "customer").properties == {"delta.enableChangeDataFeed": "true"}


def test_after_a_customer_run_the_metastore_matches_the_spec_without_apply(catalog, metastore_settings, tmp_path):
    settings = metastore_settings.with_overrides(landing=str(tmp_path / "landing"))
    land_customer_csv(tmp_path / "landing")
    spec = load_catalog_spec(REPO_CATALOG_SPEC)

    Runner(settings, Storage(settings.s3), catalog=catalog, catalog_spec=spec).run(get_pipeline("customer"))
    assert drift(catalog, spec, settings) == []
    registered = {(schema, table) for schema in ("bronze", "silver", "gold") for table in catalog.list_tables(schema)}
    assert registered == set(CUSTOMER_PIPELINE_TABLES)
    assert catalog.get_schema("gold").owner == "lakehouse"
    assert _raw_table(catalog, "gold", "dim_customer").parameters["comment"].startswith("Customer dimension")


def test_register_alter_unregister_a_delta_table(catalog, metastore_settings):
    location = write_table(metastore_settings, "silver", "customer", cdf=True)
    catalog.ensure_schema("silver", f"{metastore_settings.warehouse}/silver", "clean data")
    columns = [("c_custkey", "bigint"), ("c_name", "string"), ("c_acctbal", "decimal(15,2)")]
    assert catalog.register_table("silver", "customer", location, columns, comment="customers",
                                  properties={"delta.enableChangeDataFeed": "true"},
                                  column_comments={"c_custkey": "Customer key"})
    assert not catalog.register_table("silver", "customer", location, columns)  # nothing new: no change

    raw = _raw_table(catalog, "silver", "customer")
    expected_location = f"file:{metastore_settings.warehouse}/silver/customer"
    assert raw.tableType == "EXTERNAL_TABLE"
    assert raw.parameters["EXTERNAL"] == "TRUE"
    assert raw.parameters["spark.sql.sources.provider"] == "delta"
    assert raw.sd.location == expected_location
    assert raw.sd.serdeInfo.parameters["path"] == expected_location
    assert [(c.name, c.type, c.comment) for c in raw.sd.cols] == [
        ("c_custkey", "bigint", "Customer key"), ("c_name", "string", None), ("c_acctbal", "decimal(15,2)", None)]

    # Schema evolution in the Delta table, then re-registration (an alter, not a drop).
    evolved = CUSTOMER.append_column("c_email", pa.array(["a@x", "b@x"]))
    write_table(metastore_settings, "silver", "customer", evolved, mode="append", schema_mode="merge")
    assert catalog.register_table("silver", "customer", location, columns + [("c_email", "string")])
    table = catalog.get_table("silver", "customer")
    assert table.columns[-1] == ("c_email", "string")
    assert table.comment == "customers" and table.column_comments == {"c_custkey": "Customer key"}
    assert _raw_table(catalog, "silver", "customer").createTime == raw.createTime  # altered in place

    catalog.unregister_table("silver", "customer")
    catalog.unregister_table("silver", "customer")  # absent is fine
    assert catalog.get_table("silver", "customer") is None
    assert Path(location, "_delta_log").is_dir()  # unregistering never deletes data
    catalog.drop_schema("silver")
    assert "silver" not in catalog.list_schemas()


def test_schema_comment_and_location_change_keep_tables(catalog, metastore_settings):
    """Hive 2.3 cannot alter a database's comment or location; we re-create it with its tables."""
    location = write_table(metastore_settings, "gold", "dim_customer")
    catalog.ensure_schema("gold", f"{metastore_settings.warehouse}/gold", "old comment")
    catalog.register_table("gold", "dim_customer", location, [("c_custkey", "bigint")])
    catalog.ensure_schema("gold", f"{metastore_settings.warehouse}/gold2", "new comment", replace=True)
    schema = catalog.get_schema("gold")
    assert (schema.comment, schema.location) == ("new comment", f"file:{metastore_settings.warehouse}/gold2")
    assert catalog.list_tables("gold") == ["dim_customer"]


def test_drop_schema_refuses_when_tables_remain(catalog, metastore_settings):
    catalog.ensure_schema("bronze", f"{metastore_settings.warehouse}/bronze")
    catalog.register_table("bronze", "customer_raw", metastore_settings.table_uri("bronze", "customer_raw"),
                           [("c_custkey", "bigint")])
    with pytest.raises(CatalogError, match="still has tables: customer_raw"):
        catalog.drop_schema("bronze")


@pytest.mark.parametrize("bad", ["x; DROP TABLE y", "cust`omer", "o'brien", "Customer", "select", "ä" * 3, "t" * 200])
def test_bad_table_names_never_reach_the_metastore(catalog, metastore_settings, bad):
    catalog.ensure_schema("silver", f"{metastore_settings.warehouse}/silver")
    with pytest.raises(CatalogError) as raised:
        catalog.register_table("silver", bad, "/tmp/x", [("c", "int")])
    assert "table name" in raised.value.message and raised.value.hint
    assert catalog.list_tables("silver") == []


def test_bad_schema_names_are_refused(catalog, metastore_settings):
    with pytest.raises(CatalogError, match="reserved word"):
        catalog.ensure_schema("table", f"{metastore_settings.warehouse}/table")


def test_unreachable_metastore_gives_a_clear_error(metastore_settings):
    from tests.conftest import free_port

    catalog = open_catalog(metastore_settings.with_overrides(catalog=f"thrift://127.0.0.1:{free_port()}"))
    with pytest.raises(CatalogError) as raised:
        catalog.list_schemas()
    assert "Cannot reach the Hive Metastore" in raised.value.message
    assert "lakehouse metastore start" in raised.value.hint


def test_bad_catalog_uri_is_refused(metastore_settings):
    with pytest.raises(CatalogError, match="not a thrift://host:port"):
        open_catalog(metastore_settings.with_overrides(catalog="http://127.0.0.1:9083"))


def test_status_and_stop_of_a_state_dir_without_a_metastore(tmp_path, metastore_uri):
    assert metastore_status(tmp_path) is None
    assert stop_metastore(tmp_path) is False  # idempotent: nothing to stop
