"""One SparkSession for the whole test session (local mode, no Delta jars needed), plus helpers that
run the same SQL on DuckDB (embedded engine) and Spark and normalise the rows for comparison."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from lakehouse.config import Settings

SKIP_NO_JAVA = "java is not installed (Spark local mode needs a JVM)"
SKIP_NO_PYSPARK = "pyspark is not installed: pip install 'local-lakehouse[spark]'"
SKIP_NO_DELTA = "delta-spark jars not available (needs Maven Central); runs in the Docker stack"


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
    )
    if importlib.util.find_spec("delta") is not None or os.environ.get("LAKEHOUSE_SPARK_PACKAGES"):
        # Where delta-spark is installed (the Docker image), the Delta tests run too.
        from lakehouse.engines.spark.session import DELTA_CATALOG, DELTA_EXTENSION

        builder = builder.config("spark.sql.extensions", DELTA_EXTENSION).config(
            "spark.sql.catalog.spark_catalog", DELTA_CATALOG)
        if os.environ.get("LAKEHOUSE_SPARK_PACKAGES"):
            builder = builder.config("spark.jars.packages", os.environ["LAKEHOUSE_SPARK_PACKAGES"])
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

    if not delta_available(spark):
        pytest.skip(SKIP_NO_DELTA)
    return spark
