"""What the Spark engine configures and generates, checked without a JVM."""

from __future__ import annotations

import sys

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError, MissingDependencyError
from lakehouse.core.merge_plan import MergePlan
from lakehouse.engines.spark.databricks import UnityCatalogNames, auto_loader_options, schema_hints
from lakehouse.engines.spark.engine import merge_statement, table_default_confs
from lakehouse.engines.spark.session import jar_confs, location_from_spark, session_confs, spark_location
from lakehouse.engines.spark.tables import TableLocator
from lakehouse.jvm import load_manifest
from lakehouse.spec.model import EvolutionMode, LandingSource, TableRef

MINIO_ENV = {
    "LAKEHOUSE_LANDING": "s3://landing", "LAKEHOUSE_WAREHOUSE": "s3://warehouse",
    "LAKEHOUSE_CATALOG": "thrift://metastore:9083", "AWS_ENDPOINT_URL": "http://minio:9000",
    "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "us-east-1",
    "SPARK_MASTER": "spark://spark-master:7077", "LAKEHOUSE_HIVE_METASTORE_VERSION": "4.0.1",
}


def test_importing_the_engine_does_not_import_pyspark():
    import subprocess

    code = "import sys, lakehouse.engines.spark; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def _fake_cache(folder, *, skip: str | None = None) -> list[str]:
    """A jar cache holding (empty stand-ins for) the manifest's `spark` set, but for `skip`."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for artifact in load_manifest().of_sets(["spark"]):
        if artifact.artifact != skip:
            artifact.path(folder).write_bytes(b"")
        paths.append(str(artifact.path(folder)))
    return paths


def _docker_spark_home(tmp_path):
    jars = tmp_path / "spark-home" / "jars"
    jars.mkdir(parents=True)
    (jars / "delta-spark_2.13-4.0.1.jar").write_bytes(b"")
    return str(tmp_path / "spark-home")


def test_session_confs_for_the_docker_stack(tmp_path):
    env = {**MINIO_ENV, "SPARK_HOME": _docker_spark_home(tmp_path)}
    confs = session_confs(Settings.load(env=env), env)
    # The image has delta-spark in $SPARK_HOME/jars: nothing is added to the classpath.
    assert "spark.jars" not in confs and "spark.jars.packages" not in confs
    assert confs["spark.master"] == "spark://spark-master:7077"
    assert confs["spark.sql.session.timeZone"] == "UTC"
    assert confs["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert confs["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    assert confs["spark.hadoop.fs.s3a.endpoint"] == "http://minio:9000"
    assert confs["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert confs["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert confs["spark.hadoop.fs.s3a.access.key"] == "key"
    assert confs["spark.hadoop.fs.s3a.aws.credentials.provider"].endswith("SimpleAWSCredentialsProvider")
    assert confs["spark.hadoop.hive.metastore.uris"] == "thrift://metastore:9083"
    assert confs["spark.sql.catalogImplementation"] == "hive"
    assert confs["spark.sql.hive.metastore.version"] == "4.0.1"
    assert confs["spark.sql.warehouse.dir"] == "s3a://warehouse"


def test_session_confs_locally_have_no_s3_or_hive_and_use_tls_for_https(tmp_path):
    env = {"LAKEHOUSE_JARS_DIR": str(tmp_path / "jars")}
    _fake_cache(tmp_path / "jars")
    local = session_confs(Settings.load(landing="/tmp/l", warehouse="/tmp/w", env={}), env)
    assert not any(key.startswith(("spark.hadoop.fs.s3a", "spark.hadoop.hive")) for key in local)
    assert "spark.master" not in local  # pyspark's own launcher defaults to local[*]
    env = {**env, "AWS_ENDPOINT_URL": "https://s3.example.com", "LAKEHOUSE_WAREHOUSE": "s3://w"}
    assert session_confs(Settings.load(env=env), env)["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "true"


def test_pip_installed_pyspark_gets_the_manifests_jars_as_local_files(tmp_path):
    expected = _fake_cache(tmp_path / "jars")
    env = {"LAKEHOUSE_JARS_DIR": str(tmp_path / "jars"), "SPARK_HOME": str(tmp_path / "no-delta-here")}
    confs = session_confs(Settings.load(landing="/tmp/l", warehouse="/tmp/w", env={}), env)
    assert confs["spark.jars"].split(",") == expected
    assert [p.rsplit("/", 1)[1] for p in expected] == [
        "delta-spark_2.13-4.0.1.jar", "delta-storage-4.0.1.jar", "hadoop-aws-3.4.1.jar", "bundle-2.24.6.jar"]
    assert "spark.jars.packages" not in confs


def test_missing_jars_stop_with_the_fetch_command(tmp_path):
    _fake_cache(tmp_path / "jars", skip="hadoop-aws")
    env = {"LAKEHOUSE_JARS_DIR": str(tmp_path / "jars"), "SPARK_HOME": str(tmp_path / "no-delta-here")}
    try:
        session_confs(Settings.load(landing="/tmp/l", warehouse="/tmp/w", env={}), env)
    except MissingDependencyError as exc:
        assert "make setup-spark" in str(exc) and "python -m lakehouse.jvm fetch spark" in str(exc)
        assert "org.apache.hadoop:hadoop-aws:3.4.1" in str(exc)
    else:
        raise AssertionError("a missing jar must stop the session")
    # Without Delta (the parity-only session) no jars are needed.
    assert "spark.jars" not in session_confs(Settings.load(landing="/tmp/l", warehouse="/tmp/w", env={}), env,
                                             delta=False)


def test_user_packages_win_over_the_cache(tmp_path):
    env = {"LAKEHOUSE_SPARK_PACKAGES": "io.delta:delta-spark_2.13:4.0.1",
           "LAKEHOUSE_JARS_DIR": str(tmp_path / "empty")}
    assert jar_confs(env) == {"spark.jars.packages": "io.delta:delta-spark_2.13:4.0.1"}


def test_locations_round_trip_between_our_form_and_spark():
    assert spark_location("s3://warehouse/silver/customer") == "s3a://warehouse/silver/customer"
    assert location_from_spark("s3a://landing/customer/part 1.csv") == "s3://landing/customer/part 1.csv"
    assert location_from_spark("file:/tmp/landing/a%20b.csv") == "/tmp/landing/a b.csv"
    assert location_from_spark("file:///tmp/landing/a.csv") == "/tmp/landing/a.csv"


def test_merge_statement_from_a_plan():
    plan = MergePlan(on="t.`k` = s.`k`", update_condition="NOT (t.`h` <=> s.`h`)",
                     update_set={"k": "s.`k`", "h": "s.`h`"}, insert_values={"k": "s.`k`", "h": "s.`h`"},
                     insert_condition="s.`id` IS NULL")
    assert merge_statement("delta.`/w/silver/c`", "src", plan) == (
        "MERGE INTO delta.`/w/silver/c` AS t\nUSING src AS s\nON t.`k` = s.`k`\n"
        "WHEN MATCHED AND (NOT (t.`h` <=> s.`h`)) THEN UPDATE SET t.`k` = s.`k`, t.`h` = s.`h`\n"
        "WHEN NOT MATCHED AND (s.`id` IS NULL) THEN INSERT (`k`, `h`) VALUES (s.`k`, s.`h`)"
    )
    assert table_default_confs({"delta.enableChangeDataFeed": "true"}) == {
        "spark.databricks.delta.properties.defaults.enableChangeDataFeed": "true"}


def test_tables_by_path_or_unity_catalog_name():
    settings = Settings.load(env={"LAKEHOUSE_WAREHOUSE": "s3://warehouse"})
    ref = TableRef("silver", "customer")
    assert TableLocator(settings).sql_name(ref) == "delta.`s3a://warehouse/silver/customer`"
    names = UnityCatalogNames.from_env({"DATABRICKS_RUNTIME_VERSION": "15.4", "LAKEHOUSE_UC_CATALOG": "main"})
    assert TableLocator(settings, names).sql_name(ref) == "`main`.`silver`.`customer`"
    assert UnityCatalogNames.from_env({}) is None
    try:
        UnityCatalogNames.from_env({"DATABRICKS_RUNTIME_VERSION": "15.4"})
    except ConfigError as exc:
        assert "LAKEHOUSE_UC_CATALOG" in str(exc)
    else:
        raise AssertionError("a missing UC catalog must be a ConfigError")


def test_auto_loader_options_carry_schema_location_mode_hints_and_rescue():
    source = LandingSource(name="customer", folder="customer", schema_hints={"c_custkey": "bigint"},
                           evolution_mode=EvolutionMode.RESCUE)
    options = auto_loader_options(source, "/Volumes/main/lake/ckpt/schema", 100)
    assert options["cloudFiles.schemaLocation"] == "/Volumes/main/lake/ckpt/schema"
    assert options["cloudFiles.schemaEvolutionMode"] == "rescue"
    assert options["rescuedDataColumn"] == "_rescued_data"
    assert options["cloudFiles.schemaHints"] == schema_hints(source) == "`c_custkey` BIGINT"
    assert options["escape"] == '"' and options["emptyValue"] == "" and options["multiLine"] == "true"


def test_outside_docker_a_thrift_catalog_gets_the_manifests_hive_4_client(tmp_path):
    """Spark's built-in Hive 2.3 client calls get_table, which the stack's metastore 4.0.1 removed: a
    laptop run against a thrift:// catalog talks through the manifest's Hive 4.0.1 client instead
    (`make test` has fetched those sets into the cache)."""
    import os

    env = {"LAKEHOUSE_CATALOG": "thrift://127.0.0.1:9083", "SPARK_HOME": str(tmp_path / "no-delta-here")}
    if os.environ.get("LAKEHOUSE_JARS_DIR"):
        env["LAKEHOUSE_JARS_DIR"] = os.environ["LAKEHOUSE_JARS_DIR"]
    confs = session_confs(Settings.load(landing="/tmp/l", warehouse="/tmp/w", env=env), env)
    assert confs["spark.sql.hive.metastore.version"] == "4.0.1"
    assert confs["spark.sql.hive.metastore.jars"] == "path"
    jars = confs["spark.sql.hive.metastore.jars.path"].split(",")
    assert any(jar.endswith("/hive-exec-4.0.1.jar") for jar in jars)
    assert all(jar.startswith("file:/") for jar in jars)
    # The Docker image names its own client jars in spark-defaults.conf: nothing is added there.
    docker_env = {**env, "SPARK_HOME": _docker_spark_home(tmp_path)}
    assert "spark.sql.hive.metastore.version" not in session_confs(Settings.load(env=docker_env), docker_env)
