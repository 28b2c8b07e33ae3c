"""Spark (local mode, Hive support) reads what we register in the metastore.

The Delta jars are not available here (no Maven), so Spark cannot load these tables' data
(`spark.catalog.listTables` and DESCRIBE resolve the `delta` provider and fail). What we check is
what Spark's Hive catalog holds: SHOW DATABASES / SHOW TABLES / SHOW TABLE EXTENDED, and the
CatalogTable Spark builds from our registration (provider, type, location, schema).
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lakehouse.catalog import open_catalog
from lakehouse.catalog.spec import load_catalog_spec
from lakehouse.catalog.sync import apply
from lakehouse.config import Settings
from tests.catalog.helpers import CUSTOMER, REPO_CATALOG_SPEC, land_customer_csv, write_spec_tables, write_table

pytestmark = [pytest.mark.integration, pytest.mark.spark]
PIPELINE_TABLES = {"bronze": "customer_raw", "silver": "customer", "gold": "dim_customer"}


@pytest.fixture(scope="module")
def spark(metastore_uri, tmp_path_factory):
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("catalog-tests")
        .config("spark.sql.catalogImplementation", "hive")
        .config("hive.metastore.uris", metastore_uri)
        .config("spark.hadoop.hive.metastore.uris", metastore_uri)
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .enableHiveSupport()
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def settings(metastore_uri, tmp_path_factory) -> Settings:
    settings = Settings.load(warehouse=str(tmp_path_factory.mktemp("spark-catalog") / "warehouse"),
                             catalog=metastore_uri, env={})
    write_spec_tables(settings)
    return settings


@pytest.fixture(scope="module")
def catalog(settings):
    # No prefix: Spark must see the databases under their plain names bronze/silver/gold.
    catalog = open_catalog(settings, prefix="")
    apply(catalog, load_catalog_spec(REPO_CATALOG_SPEC), settings)
    return catalog


def table_metadata(spark, schema: str, name: str):
    """Spark's own CatalogTable for schema.name, read through its Hive external catalog."""
    jvm = spark._jvm
    identifier = jvm.org.apache.spark.sql.catalyst.TableIdentifier(name, jvm.scala.Some(schema))
    return spark._jsparkSession.sessionState().catalog().getTableMetadata(identifier)


def test_spark_lists_the_medallion_databases_and_tables(spark, catalog, settings):
    databases = {row[0] for row in spark.sql("SHOW DATABASES").collect()}
    assert {"bronze", "silver", "gold"} <= databases
    for schema, table in PIPELINE_TABLES.items():
        tables = [row.tableName for row in spark.sql(f"SHOW TABLES IN {schema}").collect()]
        assert tables == [table]


def test_spark_sees_delta_provider_external_type_and_location(spark, catalog, settings):
    for schema, table in PIPELINE_TABLES.items():
        expected_location = f"file:{settings.warehouse}/{schema}/{table}"
        metadata = table_metadata(spark, schema, table)
        assert metadata.provider().get() == "delta"
        assert metadata.tableType().name() == "EXTERNAL"
        assert metadata.location().toString() == expected_location
        info = spark.sql(f"SHOW TABLE EXTENDED IN {schema} LIKE '{table}'").collect()[0].information
        assert f"Location: {expected_location}\n" in info
        assert "Provider: delta\n" in info and "Type: EXTERNAL\n" in info
    silver = table_metadata(spark, "silver", "customer")
    assert silver.properties().get("delta.enableChangeDataFeed").get() == "true"
    assert silver.comment().get().startswith("Current customer")
    fields = {field["name"]: field for field in json.loads(silver.schema().json())["fields"]}
    assert fields["c_acctbal"]["type"] == "decimal(15,2)"
    assert fields["c_custkey"]["metadata"]["comment"] == "Customer key (business key)"


def test_spark_sees_the_schema_after_evolution(spark, catalog, settings):
    evolved = CUSTOMER.append_column("hash_value", pa.array(["a", "b"])).append_column("c_email", pa.array(["x", "y"]))
    location = write_table(settings, "silver", "customer", evolved, mode="append", schema_mode="merge")
    columns = [(f.name, "bigint" if pa.types.is_int64(f.type) else "decimal(15,2)" if pa.types.is_decimal(f.type)
                else "string") for f in evolved.schema]
    assert catalog.register_table("silver", "customer", location, columns)
    names = [field["name"] for field in json.loads(table_metadata(spark, "silver", "customer").schema().json())["fields"]]
    assert names[-1] == "c_email"


def test_reset_removes_the_tables_from_spark(spark, catalog, settings):
    for schema, table in PIPELINE_TABLES.items():
        catalog.unregister_table(schema, table)
        assert spark.sql(f"SHOW TABLES IN {schema}").collect() == []
        catalog.drop_schema(schema)
    databases = {row[0] for row in spark.sql("SHOW DATABASES").collect()}
    assert databases.isdisjoint(PIPELINE_TABLES)


def test_after_lakehouse_run_spark_lists_every_pipeline_table_under_the_warehouse(spark, metastore_uri, tmp_path):
    """End to end: `lakehouse run` with LAKEHOUSE_CATALOG set registers what it creates.

    Runs last in this module: it re-uses the plain bronze/silver/gold names the reset test freed.
    """
    from click.testing import CliRunner

    from lakehouse.cli import cli
    from lakehouse.spec import get_pipeline

    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    land_customer_csv(landing)
    env = {"LAKEHOUSE_LANDING": str(landing), "LAKEHOUSE_WAREHOUSE": str(warehouse), "LAKEHOUSE_CATALOG": metastore_uri,
           "LAKEHOUSE_ENGINE": "embedded", "LAKEHOUSE_CATALOG_PREFIX": None,
           "LAKEHOUSE_CATALOG_SPEC": str(REPO_CATALOG_SPEC)}
    runner = CliRunner()
    result = runner.invoke(cli, ["run", "--pipeline", "customer"], env=env)
    assert result.exit_code == 0, result.output

    pipeline_tables = [spec.ref for spec in get_pipeline("customer").tables]
    assert {(ref.schema, ref.name) for ref in pipeline_tables} == set(PIPELINE_TABLES.items())
    for ref in pipeline_tables:
        assert [row.tableName for row in spark.sql(f"SHOW TABLES IN {ref.schema}").collect()] == [ref.name]
        location = table_metadata(spark, ref.schema, ref.name).location().toString()
        assert location == f"file:{warehouse}/{ref.schema}/{ref.name}"

    # The runner registers from the catalog spec, as apply would: no drift without an apply.
    result = runner.invoke(cli, ["catalog", "drift"], env=env)
    assert result.exit_code == 0, result.output

    result = runner.invoke(cli, ["reset", "--pipeline", "customer", "--yes"], env=env)
    assert result.exit_code == 0, result.output
    for ref in pipeline_tables:
        assert spark.sql(f"SHOW TABLES IN {ref.schema}").collect() == []
