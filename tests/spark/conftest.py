"""One SparkSession for the whole test session (local[2], two shuffle partitions), with delta-spark's
jars from the same place the engine takes them (`session.jar_confs`: LAKEHOUSE_SPARK_PACKAGES, Spark's
own jars folder, else the manifest's `spark` set in the local cache), plus helpers that run the same
SQL on DuckDB (embedded engine) and Spark and normalise the rows for comparison.

Without the jars the session still starts (the parity tests need no Delta), and every Delta test
*fails* with the fetch command: a missing download is not a reason to skip."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from lakehouse.config import Settings

SKIP_NO_JAVA = "java is not installed (Spark local mode needs a JVM)"
SKIP_NO_PYSPARK = "pyspark is not installed: pip install 'local-lakehouse[spark]'"
_JARS_MISSING: list[str] = []


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None:
        pytest.skip(SKIP_NO_JAVA)
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip(SKIP_NO_PYSPARK)
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("lakehouse-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .config("spark.sql.streaming.forceDeleteTempCheckpointLocation", "true")
        # Delta rebuilds a snapshot's state over 50 partitions by default: tiny tables, two cores.
        .config("spark.databricks.delta.snapshotPartitions", "2")
        .config("spark.sql.sources.parallelPartitionDiscovery.parallelism", "2")
        .config("spark.driver.memory", "2g")
    )
    from lakehouse.engines.spark.session import DELTA_CATALOG, DELTA_EXTENSION, jar_confs
    from lakehouse.errors import MissingDependencyError

    try:
        jars = jar_confs(os.environ)
    except MissingDependencyError as exc:
        _JARS_MISSING.append(str(exc))  # the message ends with the fetch command
    else:
        builder = builder.config("spark.sql.extensions", DELTA_EXTENSION).config(
            "spark.sql.catalog.spark_catalog", DELTA_CATALOG)
        for key, value in jars.items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.load(landing=str(tmp_path / "landing"), warehouse=str(tmp_path / "warehouse"), engine="spark",
                         env={})


@pytest.fixture
def spark_engine(spark, settings):
    from lakehouse.engines.spark import SparkEngine

    return SparkEngine(settings, spark=spark)


@pytest.fixture
def duck_engine(settings):
    from lakehouse.engines.embedded.engine import EmbeddedEngine

    return EmbeddedEngine(settings.with_overrides(engine="embedded"))


@pytest.fixture
def delta_spark(spark):
    from lakehouse.engines.spark.session import delta_available

    if _JARS_MISSING:
        pytest.fail(_JARS_MISSING[0], pytrace=False)
    if not delta_available(spark):
        pytest.fail("delta-spark's classes did not load although its jars were put on spark.jars", pytrace=False)
    return spark
