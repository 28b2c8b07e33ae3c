"""The one place a SparkSession is configured: master, Delta, S3 (MinIO), Hive Metastore, UTC.

`session_confs` is a pure function of the settings and the environment, so what a job will run
with can be checked without starting a JVM. On Databricks the runtime owns the session: it is
reused as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lakehouse.core.config import Settings
from lakehouse.core.errors import ConfigError, MissingDependencyError
from lakehouse.core.optional import require
from lakehouse.engines.spark.databricks import on_databricks

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
APP_NAME = "local-lakehouse"
# The manifest's set (src/lakehouse/jvm/manifest.tsv) a pip-installed pyspark needs for Delta and s3a.
JAR_SET = "spark"
SETUP_HINT = "fetch them once with: make setup-spark   (or: python -m lakehouse.jvm fetch spark)"


def spark_home_jars(env: Mapping[str, str]) -> Path:
    """The jars folder Spark starts with: $SPARK_HOME/jars, else pip-installed pyspark's own."""
    home = env.get("SPARK_HOME")
    if home:
        return Path(home) / "jars"
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        return Path("/nonexistent")
    return Path(spec.origin).parent / "jars"


def delta_on_classpath(env: Mapping[str, str]) -> bool:
    """Whether Spark's own jars folder already holds delta-spark (the Docker image puts it there)."""
    folder = spark_home_jars(env)
    return folder.is_dir() and any(folder.glob("delta-spark_*.jar"))


def manifest_jars(env: Mapping[str, str]) -> list[str]:
    """The cached files of the manifest's `spark` set; MissingDependencyError (with the fetch command)
    when any is missing."""
    from lakehouse.jvm import cache_dir, load_manifest

    manifest = load_manifest()
    cache = cache_dir(dict(env))
    missing = manifest.missing([JAR_SET], cache)
    if missing:
        raise MissingDependencyError(
            f"delta-spark's jars are not in {cache} ({len(missing)} of the manifest's '{JAR_SET}' set missing, "
            f"first: {missing[0].coordinate}), so the Spark engine cannot read or write Delta tables.",
            hint=SETUP_HINT,
        )
    return [str(path) for path in manifest.paths([JAR_SET], cache)]


def jar_confs(env: Mapping[str, str]) -> dict[str, str]:
    """Where Delta's (and s3a's) classes come from, in this order: the user's LAKEHOUSE_SPARK_PACKAGES
    (resolved by Spark from Maven); Spark's own jars folder when it already has them (Docker image);
    else the manifest's pinned jars from the local cache, as local files on spark.jars."""
    packages = env.get("LAKEHOUSE_SPARK_PACKAGES")
    if packages:
        return {"spark.jars.packages": packages}
    if delta_on_classpath(env):
        return {}
    return {"spark.jars": ",".join(manifest_jars(env))}


def uses_s3(settings: Settings) -> bool:
    return settings.warehouse.startswith("s3://") or settings.landing.startswith("s3://")


def s3a_confs(settings: Settings) -> dict[str, str]:
    """Hadoop s3a settings from the AWS_* variables (already read into settings.s3)."""
    s3 = settings.s3
    confs = {
        # Our locations say s3://; Spark reads them through s3a either way.
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint.region": s3.region,
    }
    if s3.endpoint_url:
        confs["spark.hadoop.fs.s3a.endpoint"] = s3.endpoint_url
        # MinIO and versitygw serve every bucket under one host name.
        confs["spark.hadoop.fs.s3a.path.style.access"] = "true"
        confs["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(s3.endpoint_url.startswith("https://")).lower()
    if s3.access_key_id:
        confs["spark.hadoop.fs.s3a.aws.credentials.provider"] = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        confs["spark.hadoop.fs.s3a.access.key"] = s3.access_key_id
        confs["spark.hadoop.fs.s3a.secret.key"] = s3.secret_access_key or ""
    return confs


def hive_confs(settings: Settings, env: Mapping[str, str]) -> dict[str, str]:
    """A thrift:// LAKEHOUSE_CATALOG makes Spark's session catalog the Hive Metastore."""
    catalog = settings.catalog
    if not catalog or not catalog.startswith("thrift://"):
        return {}
    confs = {
        "spark.sql.catalogImplementation": "hive",
        "spark.hadoop.hive.metastore.uris": catalog,
        "spark.sql.warehouse.dir": spark_location(settings.warehouse),
    }
    # Spark's built-in Hive 2.3 client calls get_table, which metastore 4.0.1+ removed: match the server.
    version = env.get("LAKEHOUSE_HIVE_METASTORE_VERSION")
    if version:
        confs["spark.sql.hive.metastore.version"] = version
        confs["spark.sql.hive.metastore.jars"] = env.get("LAKEHOUSE_HIVE_METASTORE_JARS", "builtin")
        if env.get("LAKEHOUSE_HIVE_METASTORE_JARS_PATH"):
            confs["spark.sql.hive.metastore.jars.path"] = env["LAKEHOUSE_HIVE_METASTORE_JARS_PATH"]
    elif not delta_on_classpath(env) and not env.get("LAKEHOUSE_SPARK_PACKAGES"):
        # Outside the Docker image (whose spark-defaults.conf names its own client jars), talk to the
        # metastore version the stack ships with the manifest's Hive client, as the tests do.
        from lakehouse.catalog.metastore_server import METASTORE_VERSION, spark_hive_client_jars

        confs["spark.sql.hive.metastore.version"] = METASTORE_VERSION
        confs["spark.sql.hive.metastore.jars"] = "path"
        confs["spark.sql.hive.metastore.jars.path"] = ",".join(jar.as_uri() for jar in spark_hive_client_jars())
    return confs


def session_confs(settings: Settings, env: Mapping[str, str] | None = None, *, delta: bool = True) -> dict[str, str]:
    """Every conf the engine's session is built with."""
    env = os.environ if env is None else env
    confs: dict[str, str] = {
        "spark.app.name": APP_NAME,
        # Delta timestamps are instants; the hash formats them in UTC on every engine.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": env.get("LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS", "8"),
        # Our progress lines go to stderr; Spark's stage bars would interleave with them.
        "spark.ui.showConsoleProgress": "false",
    }
    if delta:
        # Delta rebuilds a snapshot's state (log replay) over 50 partitions by default; a lakehouse
        # table's log is small, so follow the shuffle setting.
        confs["spark.databricks.delta.snapshotPartitions"] = confs["spark.sql.shuffle.partitions"]
    master = env.get("SPARK_MASTER")
    if master:
        confs["spark.master"] = master
    if delta:
        confs["spark.sql.extensions"] = DELTA_EXTENSION
        confs["spark.sql.catalog.spark_catalog"] = DELTA_CATALOG
        confs.update(jar_confs(env))
    if uses_s3(settings) or settings.s3.endpoint_url:
        confs.update(s3a_confs(settings))
    confs.update(hive_confs(settings, env))
    return confs


def spark_location(uri: str) -> str:
    """Our location (local path or s3://) as Spark addresses it."""
    if uri.startswith("s3://"):
        return "s3a://" + uri[len("s3://"):]
    return uri


def location_from_spark(path: str) -> str:
    """Spark's file path (file:/..., s3a://...) back to our location form (local path, s3://...)."""
    from urllib.parse import unquote, urlsplit

    if path.startswith("s3a://") or path.startswith("s3n://"):
        return "s3://" + path.split("://", 1)[1]
    if path.startswith("file:"):
        return unquote(urlsplit(path).path)
    return path


def build_session(settings: Settings, env: Mapping[str, str] | None = None) -> Any:
    """The engine's SparkSession (created once per process; later calls get the same one)."""
    pyspark_sql = require("pyspark.sql")
    if on_databricks(env):
        return pyspark_sql.SparkSession.builder.getOrCreate()
    builder = pyspark_sql.SparkSession.builder
    confs = session_confs(settings, env)
    for key, value in confs.items():
        builder = builder.config(key, value)
    if "spark.sql.catalogImplementation" in confs:
        builder = builder.enableHiveSupport()
    spark = builder.getOrCreate()
    # Spark's WARN level prints a CSV header-mismatch line per file we read by position (sources/csv/spark_reader.py).
    spark.sparkContext.setLogLevel((env if env is not None else os.environ).get("LAKEHOUSE_SPARK_LOG_LEVEL", "ERROR"))
    ensure_delta(spark)
    return spark


def delta_available(spark: Any) -> bool:
    """Whether delta-spark's classes are on the session's classpath."""
    java_class = require("py4j.java_gateway").JavaClass  # py4j ships no type information

    # py4j resolves a name to a JavaClass when the class loads, else to a JavaPackage placeholder.
    return isinstance(spark._jvm.io.delta.sql.DeltaSparkSessionExtension, java_class)


def ensure_delta(spark: Any) -> None:
    if not delta_available(spark):
        raise MissingDependencyError(
            "delta-spark's jars are not on Spark's classpath, so Delta tables cannot be read or written.",
            hint=SETUP_HINT + "; a SparkSession started before lakehouse configured it keeps its classpath, "
            "so let lakehouse create the session (or start yours with spark.jars from "
            "`python -m lakehouse.jvm path spark`)",
        )
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    if DELTA_EXTENSION not in extensions:
        raise ConfigError(
            "The running SparkSession was created without Delta's SQL extension.",
            hint=f"create it with spark.sql.extensions={DELTA_EXTENSION} and "
            f"spark.sql.catalog.spark_catalog={DELTA_CATALOG}, or let lakehouse create it",
        )
