"""Spark reads what we register in the Hive Metastore 4.0.1 the stack ships.

Spark runs in a subprocess (tests/catalog/spark_catalog_probe.py): local mode, Hive support,
`spark.sql.hive.metastore.version=4.0.1` with the manifest's hive-client jars (Spark's built-in
Hive 2.3 client calls get_table, which 4.0.1 removed) and the Delta jars of the manifest's `spark`
set, so the `delta` provider resolves. One Spark process serves the whole module. What we check
is what Spark's Hive catalog holds: SHOW DATABASES / SHOW TABLES / SHOW TABLE EXTENDED, and the
CatalogTable Spark builds from our registration (provider, type, location, schema).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.catalog import open_catalog
from lakehouse.catalog.spec import load_catalog_spec
from lakehouse.catalog.sync import apply
from lakehouse.core.config import Settings
from tests.catalog.helpers import CUSTOMER, REPO_CATALOG_SPEC, land_customer_csv, write_spec_tables, write_table
from tests.catalog.spark_catalog_probe import MARKER

pytestmark = [pytest.mark.integration, pytest.mark.spark]
PIPELINE_TABLES = {"bronze": "customer_raw", "silver": "customer", "gold": "dim_customer"}
PROBE = Path(__file__).with_name("spark_catalog_probe.py")
PROBE_START_SECONDS = 600.0  # a cold Spark JVM with Hive 4 and Delta jars on a busy 2-core machine
PROBE_ANSWER_SECONDS = 300.0


class SparkProbe:
    """One Spark subprocess; `ask` sends a request line and returns its JSON reply."""

    def __init__(self, uri: str, warehouse: Path, log: Path) -> None:
        from lakehouse.catalog.metastore_server import spark_hive_client_jars
        from lakehouse.jvm import load_manifest
        from lakehouse.jvm.fetch import fetch

        # Pinned and checksummed; a no-op once cached.
        fetch(load_manifest(), ["spark", "hive-client", "metastore", "metastore-hadoop"], progress=lambda line: None)
        spark_hive_client_jars()
        self.log = log
        self._stderr = log.open("wb")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROBE.parents[2]), os.environ.get("PYTHONPATH")]))}
        self.process = subprocess.Popen(
            [sys.executable, str(PROBE), uri, str(warehouse)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, env=env,
        )
        self._replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.version = self._read(PROBE_START_SECONDS)["ready"]

    def _pump(self) -> None:
        for line in self.process.stdout:
            if line.startswith(MARKER):
                self._replies.put(json.loads(line[len(MARKER):]))
        self._replies.put(None)  # stdout closed: the process ended

    def _read(self, timeout: float) -> dict:
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            reply = None
        if reply is not None:
            return reply
        tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        pytest.fail(f"The Spark probe gave no answer within {timeout:.0f}s (exit {self.process.poll()}). "
                    f"Its stderr ends:\n{tail}", pytrace=False)

    def ask(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        response = self._read(PROBE_ANSWER_SECONDS)
        assert "error" not in response, response["error"]
        return response

    def snapshot(self, *databases: str) -> dict:
        return self.ask({"databases": list(databases)})

    def close(self) -> None:
        try:
            self.process.stdin.write(json.dumps({"quit": True}) + "\n")
            self.process.stdin.close()
            self.process.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self._stderr.close()


@pytest.fixture(scope="module")
def spark(metastore_uri, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark-probe")
    probe = SparkProbe(metastore_uri, folder / "spark-warehouse", folder / "spark.log")
    try:
        yield probe
    finally:
        probe.close()


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


def test_spark_lists_the_medallion_databases_and_tables(spark, catalog, settings):
    assert spark.version == "4.0.1"
    snapshot = spark.snapshot(*PIPELINE_TABLES)
    assert {"bronze", "silver", "gold"} <= set(snapshot["databases"])
    for schema, table in PIPELINE_TABLES.items():
        assert list(snapshot["tables"][schema]) == [table]


def test_spark_sees_delta_provider_external_type_and_location(spark, catalog, settings):
    snapshot = spark.snapshot(*PIPELINE_TABLES)
    for schema, table in PIPELINE_TABLES.items():
        expected_location = f"file:{settings.warehouse}/{schema}/{table}"
        metadata = snapshot["tables"][schema][table]
        assert (metadata["provider"], metadata["type"], metadata["location"]) == ("delta", "EXTERNAL", expected_location)
        info = metadata["information"]
        assert f"Location: {expected_location}\n" in info
        assert "Provider: delta\n" in info and "Type: EXTERNAL\n" in info
    silver = snapshot["tables"]["silver"]["customer"]
    assert silver["properties"]["delta.enableChangeDataFeed"] == "true"
    assert silver["comment"].startswith("Current customer")
    fields = {field["name"]: field for field in silver["schema"]["fields"]}
    assert fields["c_acctbal"]["type"] == "decimal(15,2)"
    assert fields["c_custkey"]["metadata"]["comment"] == "Customer key (business key)"
    # With the Delta jars, Spark reads the data through our registration.
    assert spark.ask({"sql": "SELECT count(*) FROM silver.customer"})["rows"] == [[2]]


def test_spark_sees_the_schema_after_evolution(spark, catalog, settings):
    evolved = CUSTOMER.append_column("hash_value", pa.array(["a", "b"])).append_column("c_email", pa.array(["x", "y"]))
    location = write_table(settings, "silver", "customer", evolved, mode="append", schema_mode="merge")
    columns = [(f.name, "bigint" if pa.types.is_int64(f.type) else "decimal(15,2)" if pa.types.is_decimal(f.type)
                else "string") for f in evolved.schema]
    assert catalog.register_table("silver", "customer", location, columns)
    fields = spark.snapshot("silver")["tables"]["silver"]["customer"]["schema"]["fields"]
    assert fields[-1]["name"] == "c_email"


def test_reset_removes_the_tables_from_spark(spark, catalog, settings):
    for schema, table in PIPELINE_TABLES.items():
        catalog.unregister_table(schema, table)
        assert spark.snapshot(schema)["tables"][schema] == {}
        catalog.drop_schema(schema)
    assert set(spark.snapshot()["databases"]).isdisjoint(PIPELINE_TABLES)


def test_after_lakehouse_run_spark_lists_every_pipeline_table_under_the_warehouse(spark, metastore_uri, tmp_path):
    """End to end: `lakehouse run --pipeline customer` (embedded engine) with LAKEHOUSE_CATALOG
    pointing at the 4.0.1 metastore registers what it creates; Spark lists each table as a Delta
    table at its warehouse location.

    Runs last in this module: it re-uses the plain bronze/silver/gold names the reset test freed.
    """
    from click.testing import CliRunner

    from lakehouse.cli.main import cli
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
    snapshot = spark.snapshot(*PIPELINE_TABLES)
    for ref in pipeline_tables:
        assert list(snapshot["tables"][ref.schema]) == [ref.name]
        metadata = snapshot["tables"][ref.schema][ref.name]
        assert metadata["location"] == f"file:{warehouse}/{ref.schema}/{ref.name}"
        assert (metadata["provider"], metadata["type"]) == ("delta", "EXTERNAL")
    assert spark.ask({"sql": "SELECT c_custkey FROM silver.customer ORDER BY c_custkey"})["rows"] == [[1], [2]]

    # The runner registers from the catalog spec, as apply would: no drift without an apply.
    result = runner.invoke(cli, ["catalog", "drift"], env=env)
    assert result.exit_code == 0, result.output

    result = runner.invoke(cli, ["reset", "--pipeline", "customer", "--yes"], env=env)
    assert result.exit_code == 0, result.output
    snapshot = spark.snapshot(*PIPELINE_TABLES)
    for ref in pipeline_tables:
        assert snapshot["tables"].get(ref.schema, {}) == {}
